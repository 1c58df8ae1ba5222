package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// doctorChecks are the names every doctor run prints, in order, on a SQLite deployment.
var doctorChecks = []string{"key file", "database", "database writable", "database migrated", "dns", "certificate",
	"clock", "webfinger", "actor", "proxy keeps Host", "client address", "deliveries", "unavailable domains"}

// runDoctorProcess runs `memo doctor` as its own process and returns its exit status and output lines.
func runDoctorProcess(t *testing.T, env []string) (int, []string, string) {
	t.Helper()
	cmd := exec.Command(binaryFor(t), "doctor")
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("memo doctor: %v", err)
	}
	return code, strings.Split(strings.TrimRight(string(out), "\n"), "\n"), stderr.String()
}

// lineOf finds the line of check name: "STATUS  name: …".
func lineOf(t *testing.T, lines []string, name string) string {
	t.Helper()
	for _, l := range lines {
		if len(l) > 6 && strings.HasPrefix(l[6:], name+": ") {
			return l
		}
	}
	t.Fatalf("no line for check %q in:\n%s", name, strings.Join(lines, "\n"))
	return ""
}

// A server on loopback with private networks allowed, as a local setup: every check passes, on each engine.
func TestDoctorAllPass(t *testing.T) {
	for _, b := range storagetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			data := t.TempDir()
			dsn := ""
			if b.Name != "sqlite" {
				dsn = b.DSN(t)
			}
			addr := freeAddr(t)
			env := memoEnv(data, dsn, "http://"+addr)
			startOn(t, "memo", addr, env)
			code, lines, stderr := runDoctorProcess(t, env)
			if code != 0 {
				t.Errorf("exit status %d, want 0; stderr: %s", code, stderr)
			}
			names := doctorChecks
			if b.Name == "postgres" {
				names = append(append([]string{}, names...), "key in database")
			}
			for _, name := range names {
				if l := lineOf(t, lines, name); !strings.HasPrefix(l, "ok    ") {
					t.Errorf("check %s did not pass: %s", name, l)
				}
			}
			if len(lines) != len(names) {
				t.Errorf("%d lines, want %d:\n%s", len(lines), len(names), strings.Join(lines, "\n"))
			}
		})
	}
}

// A proxy that rewrites Host to the upstream's: WebFinger and the actor still answer (their ids come from the
// settings), but the signed request to ourselves arrives with another Host, so the check fails with its fix.
func TestDoctorProxyRewritesHost(t *testing.T) {
	data := t.TempDir()
	addr := freeAddr(t)
	upstream, _ := url.Parse("http://" + addr)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(upstream) // sets Host to the upstream's, as nginx does without proxy_set_header Host
		r.SetXForwarded()
	}})
	t.Cleanup(proxy.Close)
	env := memoEnv(data, "", proxy.URL)
	startOn(t, "memo", addr, env)

	code, lines, _ := runDoctorProcess(t, env)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	host := lineOf(t, lines, "proxy keeps Host")
	want := `FAIL  proxy keeps Host: the server received Host "` + addr + `" instead of "` + strings.TrimPrefix(proxy.URL, "http://") + `"`
	if !strings.HasPrefix(host, want) || !strings.Contains(host, " — make the proxy pass Host unchanged (nginx: proxy_set_header Host $host;") {
		t.Errorf("host line:\n%s\nwant it to start with:\n%s\nand give the nginx fix", host, want)
	}
	for _, name := range []string{"webfinger", "actor", "client address", "key file", "database migrated"} {
		if l := lineOf(t, lines, name); !strings.HasPrefix(l, "ok    ") {
			t.Errorf("check %s did not pass behind the proxy: %s", name, l)
		}
	}
}

// A key file others can read fails its check with the chmod to run; the rest still runs and passes.
func TestDoctorKeyFileMode(t *testing.T) {
	data := t.TempDir()
	addr := freeAddr(t)
	env := memoEnv(data, "", "http://"+addr)
	startOn(t, "memo", addr, env)
	keyPath := filepath.Join(data, "actor-key.pem")
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	code, lines, _ := runDoctorProcess(t, env)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	want := "FAIL  key file: " + keyPath + " has mode 0644: other users can read the actor's private key — chmod 600 " + keyPath
	if l := lineOf(t, lines, "key file"); l != want {
		t.Errorf("key line:\n%s\nwant:\n%s", l, want)
	}
	for _, name := range doctorChecks[1:] {
		if l := lineOf(t, lines, name); !strings.HasPrefix(l, "ok    ") {
			t.Errorf("check %s did not pass: %s", name, l)
		}
	}
}

// The echo tells only its owner what arrived: unsigned requests and signatures by another key under our keyId get
// 401 and no detail; ours gets the Host and the client address.
func TestDoctorEchoAnswersOnlyOurKey(t *testing.T) {
	ours, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	urls := content.URLs{Base: "http://" + srv.Listener.Addr().String(), Username: "memo"}
	srv.Config.Handler = doctorEcho(urls, &ours.PublicKey, nil)
	srv.Start()
	t.Cleanup(srv.Close)

	get := func(key *rsa.PrivateKey, keyID string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+doctorPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != nil {
			if err := httpsign.SignRequest(req, nil, key, keyID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, c := range []struct {
		name  string
		key   *rsa.PrivateKey
		keyID string
	}{{"unsigned", nil, ""}, {"another key under our keyId", other, urls.KeyID()}, {"our key under another keyId", ours, "https://else.example/users/a#main-key"}} {
		code, body := get(c.key, c.keyID)
		if code != http.StatusUnauthorized || strings.Contains(body, "127.0.0.1") {
			t.Errorf("%s: %d %q, want 401 without detail", c.name, code, body)
		}
	}
	code, body := get(ours, urls.KeyID())
	if code != http.StatusOK || !strings.Contains(body, `"host_kept":true`) || !strings.Contains(body, `"client":"127.0.0.1"`) {
		t.Errorf("our own signed request: %d %s", code, body)
	}
}

// Behind a proxy on another machine, a client address that is the proxy's own loopback or private address fails;
// on a loopback setup it is expected.
func TestDoctorClientAddress(t *testing.T) {
	rep := doctorReport{Client: "10.0.0.2", Peer: "10.0.0.2"}
	d := &doctor{loopback: false}
	c := d.clientAddr(rep, "203.0.113.7")
	if c.status != "FAIL" || !strings.Contains(c.String(), "MEMO_TRUSTED_PROXIES") || !strings.Contains(c.String(), "X-Forwarded-For") {
		t.Errorf("proxy address seen: %s", c)
	}
	if c := d.clientAddr(doctorReport{Client: "203.0.113.7", Peer: "10.0.0.2"}, "203.0.113.7"); c.status != "ok" {
		t.Errorf("our address seen: %s", c)
	}
	d.loopback = true
	if c := d.clientAddr(doctorReport{Client: "127.0.0.1", Peer: "127.0.0.1"}, "127.0.0.2"); c.status != "ok" {
		t.Errorf("loopback setup: %s", c)
	}
}

// selfSigned makes a certificate for 127.0.0.1 that expires after validity, and the pool that trusts it.
func selfSigned(t *testing.T, validity time.Duration) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "doctor test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(validity),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// The certificate check: trusted and far from expiry passes; an unknown authority or an expiry within 14 days
// fails with its fix; plain http warns unless it is a loopback setup.
func TestDoctorCertificate(t *testing.T) {
	serve := func(cert tls.Certificate) string {
		srv := httptest.NewUnstartedServer(http.NotFoundHandler())
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv.URL
	}
	check := func(publicURL string, roots *x509.CertPool, allowPrivate, loopback bool) checkResult {
		d := newDoctor(&config{PublicURL: publicURL, Username: "memo", AllowPrivate: allowPrivate}, io.Discard, roots)
		d.loopback = loopback
		return d.checkTLS(context.Background())
	}
	good, goodRoots := selfSigned(t, 90*24*time.Hour)
	goodURL := serve(good)
	if c := check(goodURL, goodRoots, false, true); c.status != "ok" || !strings.Contains(c.detail, "doctor test CA") {
		t.Errorf("trusted certificate: %s", c)
	}
	if c := check(goodURL, nil, false, true); c.status != "FAIL" || !strings.Contains(c.detail, "unknown authority") || !strings.Contains(c.fix, "memo serve --domain 127.0.0.1") {
		t.Errorf("unknown authority: %s", c)
	}
	soon, soonRoots := selfSigned(t, 5*24*time.Hour)
	if c := check(serve(soon), soonRoots, false, true); c.status != "FAIL" || !strings.Contains(c.detail, "expires") || !strings.Contains(c.fix, "renewal") {
		t.Errorf("expiring in 5 days: %s", c)
	}
	if c := check("http://memo.example", nil, false, false); c.status != "warn" || !strings.Contains(c.detail, "https only") || !strings.Contains(c.fix, "MEMO_PUBLIC_URL=https://memo.example") {
		t.Errorf("plain http: %s", c)
	}
	if c := check("http://127.0.0.1:8080", nil, false, true); c.status != "warn" {
		t.Errorf("plain http on loopback without private networks allowed: %s", c)
	}
	if c := check("http://127.0.0.1:8080", nil, true, true); c.status != "ok" {
		t.Errorf("plain http on loopback with private networks allowed: %s", c)
	}
}

// A database that lacks a migration fails its check, and the doctor does not apply it under the running server.
func TestDoctorReportsMissingMigrationWithoutApplyingIt(t *testing.T) {
	data := t.TempDir()
	dbPath := filepath.Join(data, "memo.db")
	store := openStore(t, dbPath)
	if _, err := store.DB().Exec(`DELETE FROM schema_migrations WHERE version = '0001_init'`); err != nil {
		t.Fatal(err)
	}
	// Nothing listens at the public URL: the network checks fail, the database ones are what this test reads.
	code, out, _ := runCLI(t, "doctor", "--data", data, "--public-url", "http://"+freeAddr(t), "--allow-private-networks=true")
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	want := "FAIL  database migrated: 1 migration(s) not applied: 0001_init — restart `memo serve` with this version: it applies them at start"
	if l := lineOf(t, lines, "database migrated"); l != want {
		t.Errorf("migration line:\n%s\nwant:\n%s", l, want)
	}
	if l := lineOf(t, lines, "database writable"); !strings.HasPrefix(l, "ok    ") {
		t.Errorf("writable: %s", l)
	}
	if pending, err := store.PendingMigrations(context.Background()); err != nil || len(pending) != 1 {
		t.Errorf("after the doctor: pending %v, %v; want 0001_init still pending", pending, err)
	}
}

// A bad setting is one FAIL line and exit status 1, before anything is opened.
func TestDoctorBadSetting(t *testing.T) {
	code, out, _ := runCLI(t, "doctor", "--data", t.TempDir(), "--listen", "nowhere")
	if code != 1 || !strings.HasPrefix(out, `FAIL  settings: MEMO_LISTEN="nowhere": use host:port`) {
		t.Errorf("exit %d, output %q", code, out)
	}
}

// With --domain, port 80 must answer with memo's redirect to https (ACME's HTTP-01 challenges arrive there);
// nothing there, or another server, warns with the fix.
func TestDoctorPlainHTTP(t *testing.T) {
	d := newDoctor(&config{Domain: "memo.example", PublicURL: "https://memo.example", Username: "memo"}, io.Discard, nil)
	serve := func(h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL + "/"
	}
	memo := serve(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://memo.example"+r.URL.RequestURI(), http.StatusFound)
	})
	if c := d.checkPlainHTTP(context.Background(), memo); c.status != "ok" {
		t.Errorf("memo's redirect: %s", c)
	}
	other := serve(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "Welcome to nginx!") })
	if c := d.checkPlainHTTP(context.Background(), other); c.status != "warn" || !strings.Contains(c.detail, "200 OK") || !strings.Contains(c.fix, "another server holds port 80") {
		t.Errorf("another server on port 80: %s", c)
	}
	elsewhere := serve(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://www.memo.example/", http.StatusMovedPermanently)
	})
	if c := d.checkPlainHTTP(context.Background(), elsewhere); c.status != "warn" || !strings.Contains(c.detail, "www.memo.example") {
		t.Errorf("a redirect elsewhere: %s", c)
	}
	if c := d.checkPlainHTTP(context.Background(), "http://"+freeAddr(t)+"/"); c.status != "warn" || !strings.Contains(c.fix, "MEMO_HTTP_LISTEN") {
		t.Errorf("nothing on port 80: %s", c)
	}
}
