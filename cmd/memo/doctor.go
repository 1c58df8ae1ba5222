package main

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/clientaddr"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/storage"
)

// doctorPath is the echo that `memo doctor` signs a request to, through the public URL, to see what reaches the
// server behind the proxy: the Host header and the client address.
const doctorPath = "/.well-known/memo-doctor"

// Thresholds of the checks.
const (
	certMinValidity = 14 * 24 * time.Hour // autocert renews 30 days ahead: less than this means renewal fails
	skewWarn        = 30 * time.Second
	skewFail        = 5 * time.Minute // well inside httpsign.MaxClockSkew, so that a drifting clock shows before peers refuse us
	overdueAfter    = 10 * time.Minute
	backlogWarn     = 24 * time.Hour
)

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

type checkResult struct {
	status, name, detail, fix string
}

func (c checkResult) String() string {
	s := fmt.Sprintf("%-4s  %s: %s", c.status, c.name, c.detail)
	if c.status != "ok" && c.fix != "" {
		s += " — " + c.fix
	}
	return s
}

func passed(name, detail string) checkResult      { return checkResult{"ok", name, detail, ""} }
func warned(name, detail, fix string) checkResult { return checkResult{"warn", name, detail, fix} }
func failed(name, detail, fix string) checkResult { return checkResult{"FAIL", name, detail, fix} }

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("doctor", "", "Check a deployment from the inside: DNS, certificate (and port 80 with --domain), WebFinger and\nactor at the public URL, the proxy (Host and client address), clock, key file, database and delivery queue. One line per check with\nthe fix; exit status 1 when any check fails.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := finish(); err != nil {
		fmt.Fprintln(stdout, failed("settings", err.Error(), "correct the setting named above"))
		return errDoctor
	}
	d := newDoctor(cfg, stdout, nil)
	d.run(ctx)
	if d.failures > 0 {
		return errDoctor
	}
	return nil
}

// errDoctor is the exit status 1 of a doctor that found failures; its lines already say everything.
var errDoctor = errors.New("some checks failed")

// newDoctor prepares the checks; roots are the certificate authorities trusted (nil: the system's).
func newDoctor(cfg *config, out io.Writer, roots *x509.CertPool) *doctor {
	return &doctor{cfg: cfg, urls: cfg.urls(), out: out, roots: roots, client: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
		// A redirect would hide what the public URL itself answers.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type doctor struct {
	cfg      *config
	roots    *x509.CertPool
	urls     content.URLs
	out      io.Writer
	client   *http.Client
	store    *storage.Store
	key      *rsa.PrivateKey
	loopback bool // the public host resolves to loopback addresses only
	failures int
}

func (d *doctor) report(c checkResult) {
	if c.status == "FAIL" {
		d.failures++
	}
	fmt.Fprintln(d.out, c)
}

func (d *doctor) run(ctx context.Context) {
	d.report(d.checkKeyFile())
	d.report(d.openDatabase(ctx))
	if d.store != nil {
		defer d.store.Close()
		d.report(d.checkWritable(ctx))
		d.report(d.checkMigrated(ctx))
		if d.store.Dialect() == storage.Postgres {
			d.report(d.checkKeyInDatabase(ctx))
		}
	}
	dnsOK := d.checkDNS(ctx)
	if dnsOK {
		d.report(d.checkTLS(ctx))
		if d.cfg.Domain != "" {
			d.report(d.checkPlainHTTP(ctx, "http://"+d.cfg.Domain+"/"))
		}
		d.report(d.checkClock(ctx))
		d.report(d.checkWebFinger(ctx))
		d.report(d.checkActor(ctx))
		for _, c := range d.checkProxy(ctx) {
			d.report(c)
		}
	}
	if d.store != nil {
		d.report(d.checkBacklog(ctx))
		d.report(d.checkDomains(ctx))
	}
}

// checkKeyFile looks at DATA/actor-key.pem without creating it: on SQLite it is the identity; on PostgreSQL the
// database holds the key, and a file left beside it must still be private.
func (d *doctor) checkKeyFile() checkResult {
	const name = "key file"
	path := d.cfg.keyPath()
	pg := storage.IsPostgresURL(d.cfg.Database)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		if pg {
			return passed(name, "none in "+d.cfg.Data+" (PostgreSQL holds the key)")
		}
		return failed(name, path+" does not exist", "start `memo serve` once with this MEMO_DATA to create it, or restore it from a backup (`memo restore`)")
	}
	if err != nil {
		return failed(name, err.Error(), "run memo doctor as the user the service runs as")
	}
	// The key is read even when its mode is wrong, so that the checks that sign with it still run.
	key, err := os.ReadFile(path)
	if err == nil {
		d.key, err = httpsign.ParsePrivateKey(key)
	}
	if err != nil {
		return failed(name, fmt.Sprintf("%s: %v", path, err), "restore the key from a backup (`memo restore`)")
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return failed(name, fmt.Sprintf("%s has mode %04o: other users can read the actor's private key", path, perm), fmt.Sprintf("chmod 600 %s", path))
	}
	if st, isUnix := fi.Sys().(*syscall.Stat_t); isUnix && int(st.Uid) != os.Getuid() {
		return failed(name, fmt.Sprintf("%s belongs to uid %d, not to this user (uid %d)", path, st.Uid, os.Getuid()), "chown it to the service's user and run memo doctor as that user")
	}
	if pg {
		return passed(name, fmt.Sprintf("%s mode %04o, owned by this user (unused: PostgreSQL holds the key)", path, fi.Mode().Perm()))
	}
	return passed(name, fmt.Sprintf("%s mode %04o, owned by this user", path, fi.Mode().Perm()))
}

func (d *doctor) openDatabase(ctx context.Context) checkResult {
	const name = "database"
	dsn := storage.RedactDSN(d.cfg.Database)
	if !storage.IsPostgresURL(d.cfg.Database) {
		if _, err := os.Stat(d.cfg.Database); err != nil {
			return failed(name, fmt.Sprintf("%s: %v", d.cfg.Database, errors.Unwrap(err)), "check MEMO_DATA and MEMO_DATABASE: they must name the folder the server uses")
		}
	}
	store, err := storage.OpenUnmigrated(ctx, d.cfg.Database)
	if err != nil {
		return failed(name, fmt.Sprintf("%s: %v", dsn, err), "check MEMO_DATABASE and that the database server answers")
	}
	d.store = store
	return passed(name, fmt.Sprintf("%s (%s) answers", dsn, store.Dialect()))
}

func (d *doctor) checkWritable(ctx context.Context) checkResult {
	const name = "database writable"
	if err := d.store.CheckWritable(ctx); err != nil {
		return failed(name, err.Error(), "give the service's user write access to the database (and on SQLite to its folder), and check free disk space")
	}
	return passed(name, "a write was accepted (and rolled back)")
}

func (d *doctor) checkMigrated(ctx context.Context) checkResult {
	const name = "database migrated"
	pending, err := d.store.PendingMigrations(ctx)
	if err != nil {
		return failed(name, err.Error(), "start `memo serve` once: it creates and migrates the schema")
	}
	if len(pending) > 0 {
		return failed(name, fmt.Sprintf("%d migration(s) not applied: %s", len(pending), strings.Join(pending, ", ")), "restart `memo serve` with this version: it applies them at start")
	}
	return passed(name, "every migration of this version is applied")
}

func (d *doctor) checkKeyInDatabase(ctx context.Context) checkResult {
	const name = "key in database"
	pemText, err := d.store.Meta(ctx, "actor_key")
	if errors.Is(err, storage.ErrNotFound) {
		return failed(name, "PostgreSQL holds no actor key yet", "start `memo serve` once: the first replica stores it")
	}
	if err == nil {
		d.key, err = httpsign.ParsePrivateKey([]byte(pemText))
	}
	if err != nil {
		return failed(name, err.Error(), "restore the key from a backup (`memo restore`)")
	}
	return passed(name, "the actor key is in the database, shared by every replica")
}

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

func (d *doctor) checkBacklog(ctx context.Context) checkResult {
	const name = "deliveries"
	now := time.Now()
	b, err := d.store.DeliveryBacklog(ctx, now.Add(-overdueAfter))
	if err != nil {
		return failed(name, err.Error(), "")
	}
	detail := fmt.Sprintf("%d pending, %d failed for good", b.Pending, b.Failed)
	if !b.OldestPending.IsZero() {
		detail += fmt.Sprintf(", oldest pending %s old", now.Sub(b.OldestPending).Round(time.Second))
	}
	if b.DueBefore > 0 {
		return failed(name, fmt.Sprintf("%s; %d due for more than %s and not sent", detail, b.DueBefore, overdueAfter),
			"check that `memo serve` runs on this database and its log for delivery errors (`memo deliveries`)")
	}
	if !b.OldestPending.IsZero() && now.Sub(b.OldestPending) > backlogWarn {
		return warned(name, detail, "see `memo deliveries` for the failing inboxes")
	}
	return passed(name, detail)
}

func (d *doctor) checkDomains(ctx context.Context) checkResult {
	const name = "unavailable domains"
	domains, err := d.store.FailingDomains(ctx)
	if err != nil {
		return failed(name, err.Error(), "")
	}
	var down []string
	for _, dm := range domains {
		if dm.Unavailable() {
			down = append(down, dm.Domain)
		}
	}
	if len(down) == 0 {
		return passed(name, fmt.Sprintf("none (%d failing since their last success)", len(domains)))
	}
	shown := down
	if len(shown) > 5 {
		shown = append(shown[:5:5], "…")
	}
	return warned(name, fmt.Sprintf("%d, deliveries parked: %s", len(down), strings.Join(shown, ", ")), "usually servers that closed; `memo deliveries` shows their last errors")
}
