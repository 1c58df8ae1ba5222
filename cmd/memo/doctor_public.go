package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/storage"
)

// The doctor's checks through the public URL, as a remote server sees it: DNS, clock, WebFinger and actor.

// checkDNS resolves the public host and remembers whether it is loopback only (a local demo or a test).
func (d *doctor) checkDNS(ctx context.Context) bool {
	const name = "dns"
	host := hostOnly(d.urls.Host())
	if ip, err := netip.ParseAddr(host); err == nil {
		d.loopback = ip.IsLoopback()
		d.report(passed(name, host+" is an address, nothing to resolve"))
		return true
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		d.report(failed(name, fmt.Sprintf("%s does not resolve: %v", host, err), "add an A (and AAAA) record for "+host+" pointing at this machine or its proxy"))
		return false
	}
	d.loopback = true
	var list []string
	for _, a := range addrs {
		d.loopback = d.loopback && a.Unmap().IsLoopback()
		list = append(list, a.Unmap().String())
	}
	d.report(passed(name, host+" resolves to "+strings.Join(list, ", ")))
	return true
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// checkClock compares our clock with a remote Date: the ACME directory's when one is configured (another
// machine's clock), else the public URL's answer (the server's clock, which may run elsewhere behind the proxy).
func (d *doctor) checkClock(ctx context.Context) checkResult {
	const name = "clock"
	source := d.urls.Home()
	if d.cfg.Domain != "" && d.cfg.ACMEDirectory != "" {
		source = d.cfg.ACMEDirectory
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, source, nil)
	if err != nil {
		return failed(name, err.Error(), "check MEMO_PUBLIC_URL")
	}
	before := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		return warned(name, fmt.Sprintf("no Date to compare with: %v", err), "check that "+source+" answers")
	}
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return warned(name, source+" sent no usable Date header", "")
	}
	// Date has whole seconds: compare with the middle of the exchange and allow that second.
	mid := before.Add(time.Since(before) / 2)
	skew := mid.Sub(date)
	if skew.Abs() <= time.Second {
		skew = 0
	}
	detail := fmt.Sprintf("%s off the Date of %s", skew.Round(time.Second), source)
	fix := "synchronise the clock (systemd-timesyncd or chrony): signatures dated more than " + httpsign.MaxClockSkew.String() + " off are refused"
	switch {
	case skew.Abs() > skewFail:
		return failed(name, detail, fix)
	case skew.Abs() > skewWarn:
		return warned(name, detail, fix)
	}
	return passed(name, detail)
}

// get fetches url with accept and returns the body (at most 1 MiB) and the media type.
func (d *doctor) get(ctx context.Context, u, accept string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", accept)
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("%s answered %s", u, resp.Status)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return body, mt, nil
}

func (d *doctor) checkWebFinger(ctx context.Context) checkResult {
	const name = "webfinger"
	handle := d.cfg.Username + "@" + d.urls.Host()
	u := d.urls.Base + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+handle)
	fix := "the proxy must pass /.well-known/ to memo unchanged (with Host kept)"
	body, mt, err := d.get(ctx, u, "application/jrd+json")
	if err != nil {
		return failed(name, err.Error(), fix)
	}
	if mt != "application/jrd+json" {
		return failed(name, fmt.Sprintf("%s answered Content-Type %q, not application/jrd+json", u, mt), fix)
	}
	var doc struct {
		Links []struct{ Rel, Type, Href string }
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return failed(name, fmt.Sprintf("%s: %v", u, err), fix)
	}
	for _, l := range doc.Links {
		if l.Rel == "self" && l.Href == d.urls.Actor() {
			return passed(name, "@"+handle+" points at "+l.Href)
		}
	}
	return failed(name, fmt.Sprintf("%s has no self link to %s", u, d.urls.Actor()), "MEMO_PUBLIC_URL must be the URL the proxy serves; "+fix)
}

func (d *doctor) checkActor(ctx context.Context) checkResult {
	const name = "actor"
	u := d.urls.Actor()
	fix := "the proxy must pass the Accept header and memo's answer unchanged"
	body, mt, err := d.get(ctx, u, "application/activity+json")
	if err != nil {
		return failed(name, err.Error(), fix)
	}
	if mt != "application/activity+json" && mt != "application/ld+json" {
		return failed(name, fmt.Sprintf("%s answered Content-Type %q, not application/activity+json", u, mt), fix)
	}
	var actor struct {
		ID        string `json:"id"`
		PublicKey struct {
			ID  string `json:"id"`
			PEM string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(body, &actor); err != nil {
		return failed(name, fmt.Sprintf("%s: %v", u, err), fix)
	}
	if actor.ID != u {
		return failed(name, fmt.Sprintf("the actor's id is %q, expected %q", actor.ID, u), "MEMO_PUBLIC_URL must be the same for every process on this database")
	}
	if actor.PublicKey.ID != d.urls.KeyID() {
		return failed(name, fmt.Sprintf("publicKey.id is %q, expected %q", actor.PublicKey.ID, d.urls.KeyID()), "restart `memo serve` with this version and these settings")
	}
	if d.key != nil {
		pub, err := httpsign.ParsePublicKeyPEM(actor.PublicKey.PEM)
		if err != nil || !pub.Equal(&d.key.PublicKey) {
			return failed(name, "the actor served publishes another public key than "+d.keySource(), "the server uses another data folder or database than these settings: align MEMO_DATA/MEMO_DATABASE, or restart it")
		}
	}
	return passed(name, u+" answers as application/activity+json with our key")
}

func (d *doctor) keySource() string {
	if d.store != nil && d.store.Dialect() == storage.Postgres {
		return "the database's"
	}
	return d.cfg.keyPath()
}
