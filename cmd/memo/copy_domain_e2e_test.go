package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage"
)

// A copy set up the one-command way, `memo serve --domain copy.memo.test` with MEMO_COPY_OF, gets its certificate
// from Pebble, follows a real origin and relays a signature that the origin verifies over HTTPS.
//
// The origin must reach the copy at https://copy.memo.test as a remote server would: resolve the name to the
// copy's address and trust the certificate Pebble issued. Neither needs anything in memo. Trust is
// SSL_CERT_FILE, which Go reads for its system roots. The name is the hard part: Go's own resolver (the one a
// static memo uses) gives loopback to *.localhost only through the C library when nsswitch.conf lists
// myhostname, and Debian's does not, so no name resolves to loopback by itself here. The origin (and the doctor)
// therefore run in a mount namespace of their own where /etc/hosts, bind-mounted, names the copy: the machine's
// file is untouched and nothing in memo knows it is a test. The copy listens on ports 443 and 80 of an address of
// its own in 127.0.0.0/8, so that its public URL is the default https://copy.memo.test with no port, and a run
// beside another (or anything on 127.0.0.1:443) cannot collide with it.

const copyDomain = "copy.memo.test"

// needRoot fails or skips a test that needs root (a mount namespace, port 443): CI runs as root and sets
// MEMO_TEST_DEPLOY, so there it fails rather than skips.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("unshare"); err != nil {
			t.Fatal("unshare (util-linux) is not installed")
		}
		return
	}
	if os.Getenv(envDeploy) != "" {
		t.Fatalf("%s is set but the tests do not run as root: a mount namespace and port 443 need it", envDeploy)
	}
	t.Skip("needs root for a mount namespace and port 443 (CI runs as root)")
}

// loopbackFor picks an address in 127.0.0.0/8 other than 127.0.0.1 whose ports 443 and 80 are free.
func loopbackFor(t *testing.T) string {
	t.Helper()
	for range 20 {
		ip := fmt.Sprintf("127.0.%d.%d", rand.IntN(256), 2+rand.IntN(253))
		free := true
		for _, p := range []string{"443", "80"} {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip, p))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			return ip
		}
	}
	t.Fatal("no address in 127.0.0.0/8 with ports 443 and 80 free (does something listen on 0.0.0.0:443 or :80?)")
	return ""
}

// hostsNamespace returns the command that runs argv with /etc/hosts replaced, for it alone, by the machine's file
// plus the given lines.
func hostsNamespace(t *testing.T, lines []string, argv ...string) []string {
	t.Helper()
	orig, err := os.ReadFile("/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	hosts := filepath.Join(t.TempDir(), "hosts")
	content := strings.TrimRight(string(orig), "\n") + "\n" + strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(hosts, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	// unshare and sh exec what follows: the process started is memo itself, and killing it kills memo.
	return append([]string{"unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", `mount --bind "$0" /etc/hosts && exec "$@"`, hosts}, argv...)
}

// reachCopyFromTests makes this test process, which plays the rest of the fediverse (fedtest instances fetch keys
// with http.DefaultClient), resolve host to ip and trust roots, for the duration of the test.
func reachCopyFromTests(t *testing.T, host, ip string, roots *x509.CertPool) {
	prev := http.DefaultTransport
	tr := prev.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if h, p, err := net.SplitHostPort(addr); err == nil && strings.EqualFold(h, host) {
			addr = net.JoinHostPort(ip, p)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	http.DefaultTransport = tr
	t.Cleanup(func() { http.DefaultTransport = prev })
}

// exitedEarly stops the test at once when a server it waits for has exited.
func exitedEarly(t *testing.T, s *server) {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err
		t.Fatalf("%s exited at start: %v\n%s", s.name, err, s.out.String())
	default:
	}
}

// memo serve --domain as a copy: certificate from Pebble, follows a real origin, relays a signature the origin
// verifies by fetching the copy's actor over HTTPS and the reply from its author's server; memo doctor passes.
func TestDomainCopyRelaysToOrigin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs memo and Pebble")
	}
	needRoot(t)
	ctx := context.Background()
	ip := loopbackFor(t)
	rig := startPebble(t, 80, 443, 90*24*time.Hour)
	rig.resolve(t, copyDomain, ip)
	trust := filepath.Join(t.TempDir(), "roots.pem")
	caPEM, err := os.ReadFile(rig.caFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trust, append(caPEM, rig.rootPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	hosts := []string{ip + " " + copyDomain}
	bin := binaryFor(t)

	// The copy first, with the origin's address chosen but nothing there yet: the copy waits for its origin
	// (as after a restart of both), and its certificate is issued before anyone fetches from it, so that no
	// fetch times out in a handshake that waits for the certificate authority.
	originAddr := freeAddr(t)
	originBase := "http://" + originAddr
	copyData := t.TempDir()
	copyDB := filepath.Join(copyData, "memo.db")
	copyVars := append(memoEnv(copyData, copyDB, ""), "MEMO_COPY_OF="+originBase+"/users/memo",
		"MEMO_ACME_EMAIL=admin@"+copyDomain, "MEMO_ACME_DIRECTORY="+rig.dir,
		"MEMO_LISTEN="+ip+":443", "MEMO_HTTP_LISTEN="+ip+":80", // the default ports, on the copy's own address
		"SSL_CERT_FILE="+rig.caFile) // the ACME directory's certificate is Pebble's own
	serve := exec.Command(bin, "serve", "--domain", copyDomain)
	serve.Env = copyVars
	cp := spawnCmd(t, "copy", "https://"+copyDomain, serve)
	copyActor := cp.base + "/users/memo"

	reachCopyFromTests(t, copyDomain, ip, rig.roots)
	var leaf *x509.Certificate
	testwait.Until(t, "the copy's certificate from pebble", func() bool {
		exitedEarly(t, cp)
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ip+":443",
			&tls.Config{RootCAs: rig.roots, ServerName: copyDomain})
		if err != nil {
			return false
		}
		defer conn.Close()
		leaf = conn.ConnectionState().PeerCertificates[0]
		return true
	})
	if !strings.Contains(leaf.Issuer.CommonName, "Pebble") || leaf.VerifyHostname(copyDomain) != nil {
		t.Fatalf("the copy serves a certificate for %v issued by %q", leaf.DNSNames, leaf.Issuer.CommonName)
	}

	// The origin, plain http on 127.0.0.1, sees copy.memo.test through its own /etc/hosts and trusts Pebble's
	// root as a server trusts Let's Encrypt's.
	originEnvVars, originDB := copyEnv(t)
	originEnvVars = append(originEnvVars, "MEMO_PUBLIC_URL="+originBase, "MEMO_LISTEN="+originAddr, "SSL_CERT_FILE="+trust)
	argv := hostsNamespace(t, hosts, bin, "serve")
	oc := exec.Command(argv[0], argv[1:]...)
	oc.Env = originEnvVars
	origin := spawnCmd(t, "origin", originBase, oc)
	testwait.Until(t, "the origin to answer /healthz", func() bool {
		exitedEarly(t, origin)
		resp, err := http.Get(origin.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	originStore := openStore(t, originDB)

	// The copy follows the origin: the origin verified the Follow with the copy's key, fetched from
	// https://copy.memo.test over TLS with the certificate Pebble issued.
	testwait.Until(t, "the origin to have the copy as a follower", func() bool {
		_, err := originStore.Follower(ctx, copyActor)
		return err == nil
	})
	fetched, err := originStore.Actor(ctx, copyActor)
	if err != nil {
		t.Fatalf("the origin holds no fetched document of %s: %v", copyActor, err)
	}
	copyStore := openStore(t, copyDB)
	copyKey := publicKeyOf(t, copyStore, copyData)
	if pub, err := httpsign.ParsePublicKeyPEM(fetched.PublicKeyPEM); err != nil || !pub.Equal(copyKey) || fetched.Inbox != copyActor+"/inbox" {
		t.Fatalf("the origin's document of %s: inbox %s, key %v (the copy's key expected)", copyActor, fetched.Inbox, err)
	}

	// A fediverse user follows the copy and signs there.
	social := fedtest.NewInstance(t, "social")
	alice := social.NewActor("alice")
	follow, _ := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": social.NextID("follows"), "type": "Follow",
		"actor": alice.IRI, "object": copyActor,
	})
	if resp := alice.Post(t, cp.base+"/inbox", follow, fedtest.SignOptions{}); resp.Status != http.StatusAccepted {
		t.Fatalf("Follow of the copy: %d %s", resp.Status, resp.Body)
	}
	// The copy's Accept reaches alice's server, which verified it with the key it fetched from the copy.
	testwait.Until(t, "the copy's Accept, verified", func() bool {
		for _, rec := range social.Received() {
			if rec.Activity()["type"] == "Accept" && rec.SigErr == nil && rec.KeyID == copyActor+"#main-key" {
				return true
			}
		}
		return false
	})
	note := signOn(t, alice, cp, cp.base+"/memo", "Je signe, depuis la copie.")

	// The copy counts it and relays it; the origin fetches the reply from alice's server and counts it too.
	testwait.Until(t, "the signature to count on the copy", func() bool {
		_, err := copyStore.SignatureByNote(ctx, note)
		return err == nil
	})
	var sig storage.Signature
	testwait.Until(t, "the relayed signature to count on the origin", func() bool {
		sig, err = originStore.SignatureByNote(ctx, note)
		return err == nil
	})
	if sig.ActorIRI != alice.IRI || sig.ViaCopy != copyActor || !sig.Standing() {
		t.Fatalf("relayed signature on the origin = %+v", sig)
	}
	coll, status := getAP(t, origin.base+"/signatures")
	if status != 200 || total(coll) != 1 {
		t.Fatalf("the origin's signatures: %d, totalItems %v", status, coll["totalItems"])
	}
	page, status := getAP(t, origin.base+"/signatures?page=1")
	items, _ := page["orderedItems"].([]any)
	if status != 200 || len(items) != 1 {
		t.Fatalf("the origin's first page of signatures: %d %v", status, page)
	}
	if item, _ := items[0].(map[string]any); item["attributedTo"] != alice.IRI || item["url"] != note || item["inReplyTo"] != cp.base+"/memo" {
		t.Fatalf("the origin lists %v, want alice's reply %s to the copy's memo", item, note)
	}
	copies, status := getAP(t, origin.base+"/copies")
	if status != 200 || total(copies) != 1 || !strings.Contains(fmt.Sprint(copies["orderedItems"]), copyActor) {
		t.Fatalf("the origin's copies: %d %v", status, copies)
	}
	// The relay left the copy's queue as delivered, with the origin's 202, and nothing else waits for the origin.
	testwait.Until(t, "the copy to see its relay delivered", func() bool {
		var states []string
		err := copyStore.DB().SelectContext(ctx, &states, copyStore.DB().Rebind(`SELECT state FROM deliveries WHERE inbox = ? AND (activity_iri LIKE ? AND state = 'delivered' AND last_status = 202 OR state <> 'delivered')`),
			originBase+"/inbox", storage.RelayAddPrefix(cp.base)+"%")
		return err == nil && len(states) == 1 && states[0] == "delivered"
	})

	// The origin's answers went the other way over TLS: its Accept of the copy's Follow was delivered to the
	// copy's inbox at https://copy.memo.test.
	testwait.Until(t, "the origin's Accept delivered to the copy", func() bool {
		var states []string
		err := originStore.DB().SelectContext(ctx, &states, originStore.DB().Rebind(`SELECT state FROM deliveries WHERE inbox = ? AND NOT (state = 'delivered' AND last_status = 202)`), copyActor+"/inbox")
		var n int
		err2 := originStore.DB().GetContext(ctx, &n, originStore.DB().Rebind(`SELECT COUNT(*) FROM deliveries WHERE inbox = ?`), copyActor+"/inbox")
		return err == nil && err2 == nil && len(states) == 0 && n > 0
	})

	// memo doctor on the copy's machine: every check passes, the certificate through Pebble's root.
	dargv := hostsNamespace(t, hosts, bin, "doctor", "--domain", copyDomain)
	doc := exec.Command(dargv[0], dargv[1:]...)
	doc.Env = append(append([]string{}, copyVars...), "SSL_CERT_FILE="+trust)
	out, err := doc.CombinedOutput()
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if err != nil {
		t.Errorf("memo doctor: %v", err)
	}
	for _, name := range append(append([]string{}, doctorChecks...), "plain http") {
		if l := lineOf(t, lines, name); !strings.HasPrefix(l, "ok    ") {
			t.Errorf("check %s did not pass: %s", name, l)
		}
	}
	if l := lineOf(t, lines, "certificate"); !strings.Contains(l, "valid for "+copyDomain) || !strings.Contains(l, "Pebble") {
		t.Errorf("certificate line: %s", l)
	}
	if l := lineOf(t, lines, "dns"); !strings.Contains(l, copyDomain+" resolves to "+ip) {
		t.Errorf("dns line: %s", l)
	}
	if l := lineOf(t, lines, "plain http"); !strings.Contains(l, "http://"+copyDomain+"/ redirects to https://"+copyDomain+"/") {
		t.Errorf("plain http line: %s", l)
	}
	if len(lines) != len(doctorChecks)+1 {
		t.Errorf("%d lines, want %d", len(lines), len(doctorChecks)+1)
	}
	if t.Failed() {
		t.Logf("memo doctor:\n%s", out)
	}
}
