package fetch

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestForbidden(t *testing.T) {
	forbidden := []string{"127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
		"100.64.0.1", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12::1", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1"}
	allowed := []string{"1.1.1.1", "8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "2a01:4f8::1"}
	for _, s := range forbidden {
		if !Forbidden(netip.MustParseAddr(s)) {
			t.Errorf("%s allowed", s)
		}
	}
	for _, s := range allowed {
		if Forbidden(netip.MustParseAddr(s)) {
			t.Errorf("%s refused", s)
		}
	}
}

func exactly(t *testing.T, s *httptest.Server) []netip.AddrPort {
	ap, err := netip.ParseAddrPort(s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return []netip.AddrPort{ap}
}

// TestRedirectsToPrivateAddressesRefused: the client may reach the test server's exact address (the one
// exception in its policy) and nothing else private: a redirect from it to another loopback port or to the
// metadata address is refused at the dial, so the check covers every hop.
func TestRedirectsToPrivateAddressesRefused(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"id":"x"}`)) }))
	defer other.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"id":"ok"}`)) })
	mux.HandleFunc("/to-loopback", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, other.URL+"/", http.StatusFound) })
	mux.HandleFunc("/to-metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("/to-localhost-name", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := New(Config{UserAgent: "memo/test", Allow: exactly(t, srv), Timeout: 5 * time.Second})
	if b, err := c.Get(context.Background(), srv.URL+"/ok"); err != nil || !bytes.Contains(b, []byte("ok")) {
		t.Fatalf("allowed address: %s, %v", b, err)
	}
	for _, path := range []string{"/to-loopback", "/to-metadata", "/to-localhost-name"} {
		if _, err := c.Get(context.Background(), srv.URL+path); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s: err %v, want ErrForbiddenAddress", path, err)
		}
	}
	if _, err := c.Get(context.Background(), other.URL+"/"); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("direct loopback: err %v, want ErrForbiddenAddress", err)
	}
	open := New(Config{UserAgent: "memo/test", AllowPrivate: true})
	if _, err := open.Get(context.Background(), srv.URL+"/to-loopback"); err != nil {
		t.Errorf("AllowPrivate: %v", err)
	}
}

func TestRedirectLimit(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		http.Redirect(w, r, "/again", http.StatusFound)
	}))
	defer srv.Close()
	c := New(Config{AllowPrivate: true})
	if _, err := c.Get(context.Background(), srv.URL+"/"); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("err %v, want too many redirects", err)
	}
	if n != MaxRedirects+1 {
		t.Errorf("%d requests, want %d", n, MaxRedirects+1)
	}
}

func TestSizeAndTimeLimits(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(bytes.Repeat([]byte("a"), DefaultMaxBody+1)) })
	mux.HandleFunc("/exact", func(w http.ResponseWriter, r *http.Request) { w.Write(bytes.Repeat([]byte("a"), DefaultMaxBody)) })
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/trickle", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		for r.Context().Err() == nil {
			w.Write([]byte(" "))
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := New(Config{AllowPrivate: true, Timeout: 700 * time.Millisecond, HeaderTimeout: 500 * time.Millisecond})
	ctx := context.Background()
	if _, err := c.Get(ctx, srv.URL+"/big"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big: %v, want ErrTooLarge", err)
	}
	if b, err := c.Get(ctx, srv.URL+"/exact"); err != nil || len(b) != DefaultMaxBody {
		t.Errorf("exactly the limit: %d bytes, %v", len(b), err)
	}
	for _, path := range []string{"/hang", "/trickle"} {
		start := time.Now()
		_, err := c.Get(ctx, srv.URL+path)
		if err == nil {
			t.Errorf("%s: no error", path)
		}
		// The bound is the client's own timeout; the margin only absorbs a loaded machine.
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s: returned after %s, timeout is 700ms", path, took)
		}
	}
	_, err := c.Get(ctx, srv.URL+"/gone")
	if !Gone(err) {
		t.Errorf("410: %v, want Gone", err)
	}
	if _, err := c.Get(ctx, "file:///etc/passwd"); err == nil {
		t.Errorf("file URL fetched")
	}
}

func TestHeadersSent(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	c := New(Config{AllowPrivate: true, UserAgent: "memo/1.0 (+https://memo.example)"})
	if _, err := c.Get(context.Background(), srv.URL+"/users/a#main-key"); err != nil {
		t.Fatal(err)
	}
	if got.Get("User-Agent") != "memo/1.0 (+https://memo.example)" || got.Get("Accept") != AcceptActivity {
		t.Errorf("headers: %v", got)
	}
	if got.Get("Signature") != "" {
		t.Errorf("signed without a key")
	}
}
