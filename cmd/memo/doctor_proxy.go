package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/clientaddr"
	"github.com/memo-fediverse/memo/federation/httpsign"
)

// The doctor's check of the proxy in front: a request signed with our key to an echo that only we may read.

// doctorPath is the echo that `memo doctor` signs a request to, through the public URL, to see what reaches the
// server behind the proxy: the Host header and the client address.
const doctorPath = "/.well-known/memo-doctor"

// doctorEcho answers a GET signed by this server's own key with the Host it received and the client address it
// derived (and the TCP peer), as JSON. Anything else gets 401 and no detail: the echo tells only its owner what
// the proxy in front does. It costs one RSA verification and touches nothing, so it needs no limit of its own.
func doctorEcho(urls content.URLs, pub *rsa.PublicKey, proxies *clientaddr.Proxies) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		p, err := httpsign.ReadRequest(r.Header)
		if err != nil || p.KeyID != urls.KeyID() || p.CheckAlgorithm() != nil || p.Covers(httpsign.GetHeaders) != nil {
			http.Error(w, "this endpoint answers only requests signed by this server's own key (memo doctor)", http.StatusUnauthorized)
			return
		}
		date, err := http.ParseTime(r.Header.Get("Date"))
		if err != nil || date.Sub(time.Now()).Abs() > httpsign.MaxClockSkew {
			http.Error(w, "Date missing or outside the signature window", http.StatusUnauthorized)
			return
		}
		// The doctor signs the public host. When a proxy rewrote Host the signature fails on what arrived, so it is
		// checked again on the public host: a match proves the request is ours and only Host changed on the way.
		hostKept := strings.EqualFold(r.Host, urls.Host())
		check := r
		if !hostKept {
			check = r.Clone(r.Context())
			check.Host = urls.Host()
		}
		if err := httpsign.VerifySignature(check, p, pub); err != nil {
			http.Error(w, "signature does not verify with this server's key", http.StatusUnauthorized)
			return
		}
		peer, _, _ := net.SplitHostPort(r.RemoteAddr)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doctorReport{Host: r.Host, HostKept: hostKept, Client: clientaddr.String(proxies.Client(r)), Peer: peer})
	}
}

type doctorReport struct {
	Host     string `json:"host"`
	HostKept bool   `json:"host_kept"`
	Client   string `json:"client"`
	Peer     string `json:"peer"`
}

// checkProxy signs a GET to the echo through the public URL: the answer says whether Host arrived unchanged and
// which client address the server derived.
func (d *doctor) checkProxy(ctx context.Context) []checkResult {
	const hostName, addrName = "proxy keeps Host", "client address"
	if d.key == nil {
		return []checkResult{warned(hostName, "not checked: no key to sign with", "fix the key check above")}
	}
	u := d.urls.Base + doctorPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return []checkResult{failed(hostName, err.Error(), "check MEMO_PUBLIC_URL")}
	}
	var local string
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
		local, _, _ = net.SplitHostPort(ci.Conn.LocalAddr().String())
	}}))
	if err := httpsign.SignRequest(req, nil, d.key, d.urls.KeyID(), time.Now()); err != nil {
		return []checkResult{failed(hostName, err.Error(), "")}
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return []checkResult{failed(hostName, err.Error(), "check that the public URL reaches memo")}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return []checkResult{failed(hostName, fmt.Sprintf("a request signed with our key to %s answered %s: %s", u, resp.Status, strings.TrimSpace(string(body))),
			"the server behind the public URL does not hold this key, or is an older version: check MEMO_DATA/MEMO_DATABASE and restart it")}
	}
	var rep doctorReport
	if err := json.Unmarshal(body, &rep); err != nil {
		return []checkResult{failed(hostName, fmt.Sprintf("%s: %v", u, err), "")}
	}
	var out []checkResult
	if rep.HostKept {
		out = append(out, passed(hostName, "a request signed to ourselves through "+d.urls.Base+" verifies"))
	} else {
		out = append(out, failed(hostName, fmt.Sprintf("the server received Host %q instead of %q: every remote signature will fail", rep.Host, d.urls.Host()),
			"make the proxy pass Host unchanged (nginx: proxy_set_header Host $host; Caddy keeps it), see README \"Running it in production\""))
	}
	out = append(out, d.clientAddr(rep, local))
	return out
}

func (d *doctor) clientAddr(rep doctorReport, local string) checkResult {
	const name = "client address"
	seen, err := netip.ParseAddr(rep.Client)
	if err != nil {
		return warned(name, fmt.Sprintf("the server could not tell the client address (%q)", rep.Client), "")
	}
	detail := fmt.Sprintf("the server saw %s (TCP peer %s; this connection left from %s)", rep.Client, rep.Peer, local)
	if local != "" && seen.String() == local {
		return passed(name, detail)
	}
	fix := "make the proxy send X-Forwarded-For (nginx: proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for) and list its address (" + rep.Peer + ") in MEMO_TRUSTED_PROXIES, see README \"Limits\""
	if (seen.IsLoopback() || seen.IsPrivate()) && !d.loopback {
		return failed(name, detail+": that is the proxy's address, so every limit counts all clients as one", fix)
	}
	return passed(name, detail)
}
