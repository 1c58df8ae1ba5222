package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// These tests run memo's built-in TLS against Pebble, Let's Encrypt's ACME test server (a tool of this module,
// see go.mod), with pebble-challtestsrv as the DNS server that resolves every name to loopback. Pebble validates
// the HTTP-01 and TLS-ALPN-01 challenges by connecting to the ports memo listens on, as Let's Encrypt would.

const acmeDomain = "memo.test"

var (
	pebbleOnce sync.Once
	pebbleBin  string
	pebbleErr  error
)

// pebbleTools builds pebble and pebble-challtestsrv once per test binary.
func pebbleTools(t *testing.T) string {
	t.Helper()
	pebbleOnce.Do(func() {
		dir, err := os.MkdirTemp("", "memo-pebble-")
		if err != nil {
			pebbleErr = err
			return
		}
		pebbleBin = dir
		out, err := exec.Command("go", "build", "-o", dir+"/", "github.com/letsencrypt/pebble/v2/cmd/pebble",
			"github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv").CombinedOutput()
		if err != nil {
			pebbleErr = fmt.Errorf("build pebble: %v\n%s", err, out)
		}
	})
	if pebbleErr != nil {
		t.Fatal(pebbleErr)
	}
	return pebbleBin
}

// acmeRig is a running Pebble with its DNS server, and what a client needs to trust what it issues.
type acmeRig struct {
	dir       string // Pebble's ACME directory URL
	caFile    string // PEM file of the CA that signed Pebble's own HTTPS certificate: memo must trust it
	roots     *x509.CertPool
	rootPEM   []byte // the root Pebble issues under, PEM
	mgmt      string
	dnsMgmt   string // pebble-challtestsrv's management API, where DNS answers are set
	log       *syncBuffer
	httpPort  int
	tlsPort   int
	mgmtTrust *http.Client
}

// startPebble starts Pebble, validating challenges on httpPort and tlsPort, with certificates valid for validity.
func startPebble(t *testing.T, httpPort, tlsPort int, validity time.Duration) *acmeRig {
	t.Helper()
	bin := pebbleTools(t)
	work := t.TempDir()
	caPEM, certPEM, keyPEM := testCA(t, "127.0.0.1", "localhost")
	r := &acmeRig{caFile: filepath.Join(work, "ca.pem"), log: &syncBuffer{}, httpPort: httpPort, tlsPort: tlsPort}
	os.WriteFile(r.caFile, caPEM, 0o600)
	os.WriteFile(filepath.Join(work, "cert.pem"), certPEM, 0o600)
	os.WriteFile(filepath.Join(work, "key.pem"), keyPEM, 0o600)

	dnsAddr, listen, mgmt := freeAddr(t), freeAddr(t), freeAddr(t)
	r.dnsMgmt = "http://" + freeAddr(t)
	startTool(t, "pebble-challtestsrv", filepath.Join(bin, "pebble-challtestsrv"), nil, r.log,
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dnsserver", dnsAddr, "-doh", "", "-http01", "",
		"-https01", "", "-tlsalpn01", "", "-management", strings.TrimPrefix(r.dnsMgmt, "http://"))
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": filepath.Join(work, "cert.pem"), "privateKey": filepath.Join(work, "key.pem"),
		"httpPort": httpPort, "tlsPort": tlsPort, "ocspResponderURL": "", "externalAccountBindingRequired": false,
		"keyAlgorithm": "ecdsa",
		"profiles":     map[string]any{"default": map[string]any{"description": "test", "validityPeriod": int(validity.Seconds())}},
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(work, "pebble.json")
	os.WriteFile(cfgFile, b, 0o600)
	startTool(t, "pebble", filepath.Join(bin, "pebble"), []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"},
		r.log, "-config", cfgFile, "-dnsserver", dnsAddr)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	r.mgmtTrust = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	r.dir, r.mgmt = "https://"+listen+"/dir", "https://"+mgmt
	testwait.Until(t, "pebble to answer", func() bool {
		resp, err := r.mgmtTrust.Get(r.dir)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	// The root Pebble signs with is made at its start; clients of memo trust it, as browsers trust Let's Encrypt's.
	resp, err := r.mgmtTrust.Get(r.mgmt + "/roots/0")
	if err != nil {
		t.Fatalf("pebble root: %v", err)
	}
	rootPEM, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.roots = x509.NewCertPool()
	if !r.roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("pebble root: %q", rootPEM)
	}
	r.rootPEM = rootPEM
	return r
}

// resolve makes the DNS server Pebble validates through answer ip for host (every other name gets 127.0.0.1).
func (r *acmeRig) resolve(t *testing.T, host, ip string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"host": host, "addresses": []string{ip}})
	testwait.Until(t, "pebble-challtestsrv to take an A record", func() bool {
		resp, err := http.Post(r.dnsMgmt+"/add-a", "application/json", bytes.NewReader(body))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

var ordersRE = regexp.MustCompile(`There are now (\d+) orders in the db`)

// orders is how many certificate orders Pebble has received.
func (r *acmeRig) orders() int {
	m := ordersRE.FindAllStringSubmatch(r.log.String(), -1)
	if len(m) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

func startTool(t *testing.T, name, bin string, env []string, out io.Writer, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// testCA makes a CA and a certificate it signs for the given names; all PEM.
func testCA(t *testing.T, names ...string) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "memo test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func port(t *testing.T, addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// tlsServer is memo serve with its own certificate.
type tlsServer struct {
	*server
	tlsAddr, httpAddr string
}

// startTLS starts memo serve for acmeDomain on the ports Pebble validates, trusting Pebble's own HTTPS (as the
// real one trusts Let's Encrypt's through the system's roots).
func startTLS(t *testing.T, name string, rig *acmeRig, env []string) *tlsServer {
	t.Helper()
	return startTLSOn(t, name, rig, fmt.Sprintf("127.0.0.1:%d", rig.tlsPort), fmt.Sprintf("127.0.0.1:%d", rig.httpPort), env)
}

func startTLSOn(t *testing.T, name string, rig *acmeRig, tlsAddr, httpAddr string, env []string) *tlsServer {
	t.Helper()
	s := spawn(t, name, "https://"+acmeDomain, append(append([]string{}, env...), "MEMO_DOMAIN="+acmeDomain, "MEMO_ACME_EMAIL=admin@"+acmeDomain,
		"MEMO_ACME_DIRECTORY="+rig.dir, "MEMO_LISTEN="+tlsAddr, "MEMO_HTTP_LISTEN="+httpAddr, "SSL_CERT_FILE="+rig.caFile))
	return &tlsServer{server: s, tlsAddr: tlsAddr, httpAddr: httpAddr}
}

// client reaches the server as a browser that resolved acmeDomain to it and trusts Pebble's root would.
func (s *tlsServer) client(rig *acmeRig) *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: rig.roots, ServerName: acmeDomain},
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				target := s.tlsAddr
				if _, p, _ := net.SplitHostPort(addr); p == "80" {
					target = s.httpAddr
				}
				return (&net.Dialer{}).DialContext(ctx, network, target)
			},
		},
	}
}

// serial is the serial number of the certificate the server presents now, or "" when the handshake fails.
func (s *tlsServer) serial(rig *acmeRig) string {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.tlsAddr,
		&tls.Config{RootCAs: rig.roots, ServerName: acmeDomain})
	if err != nil {
		return ""
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// memo serve --domain gets a certificate from the ACME server, serves it, answers plain HTTP with a redirect to
// https, and renews the certificate before it expires.
func TestBuiltInTLSObtainsServesAndRenews(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs memo and Pebble")
	}
	// Certificates valid 30 seconds: autocert renews once two thirds of a certificate's life have passed.
	rig := startPebble(t, port(t, freeAddr(t)), port(t, freeAddr(t)), 30*time.Second)
	data := t.TempDir()
	srv := startTLS(t, "tls", rig, memoEnv(data, "", ""))
	c := srv.client(rig)

	var first string
	testwait.Until(t, "a certificate from pebble", func() bool { first = srv.serial(rig); return first != "" })
	resp, err := c.Get("https://" + acmeDomain + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET https://%s/healthz: %v %v", acmeDomain, err, resp)
	}
	resp.Body.Close()
	doc, status := getAPWith(t, c, "https://"+acmeDomain+"/users/memo")
	if status != 200 || doc["id"] != "https://"+acmeDomain+"/users/memo" {
		t.Fatalf("actor over https: %d, id %v (the public URL must default to https://DOMAIN)", status, doc["id"])
	}
	resp, err = c.Get("http://" + acmeDomain + "/memo")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "https://"+acmeDomain+"/memo" {
		t.Fatalf("plain HTTP: %d to %q, want a redirect to https", resp.StatusCode, loc)
	}
	testwait.Until(t, "a renewed certificate", func() bool { s := srv.serial(rig); return s != "" && s != first })
	if entries, _ := os.ReadDir(filepath.Join(data, "acme")); len(entries) < 2 {
		t.Fatalf("the certificate cache in the data folder holds %d entries", len(entries))
	}
}

func getAPWith(t *testing.T, c *http.Client, url string) (map[string]any, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(bufio.NewReader(resp.Body)).Decode(&m)
	return m, resp.StatusCode
}

// Replicas on PostgreSQL share the certificate through the database: a second replica serves the one the first
// obtained, without a new order at the certificate authority.
func TestReplicasShareTheCertificate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs memo and Pebble")
	}
	if os.Getenv(storagetest.EnvPostgres) == "" {
		t.Skipf("%s is not set: sharing certificates between replicas needs PostgreSQL", storagetest.EnvPostgres)
	}
	dsn := storagetest.PostgresDSN(t) // fails, not skips, when the server is absent
	rig := startPebble(t, port(t, freeAddr(t)), port(t, freeAddr(t)), 90*24*time.Hour)
	a := startTLS(t, "replica-a", rig, memoEnv(t.TempDir(), dsn, ""))
	var serial string
	testwait.Until(t, "a certificate for replica A", func() bool { serial = a.serial(rig); return serial != "" })
	orders := rig.orders()
	if orders != 1 {
		t.Fatalf("pebble received %d orders for one certificate", orders)
	}
	b := startTLSOn(t, "replica-b", rig, freeAddr(t), freeAddr(t), memoEnv(t.TempDir(), dsn, ""))
	var got string
	testwait.Until(t, "replica B to serve", func() bool { got = b.serial(rig); return got != "" })
	if got != serial {
		t.Fatalf("replica B serves certificate %s, replica A %s", got, serial)
	}
	if n := rig.orders(); n != orders {
		t.Fatalf("replica B placed an order of its own (%d orders, was %d)", n, orders)
	}
}
