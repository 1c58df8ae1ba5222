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
// exception in its policy) and nothing else private. A redirect from it to another loopback port, to the metadata
// address or to another name leaves the origin and is refused before any connection, with private addresses
// allowed or not; a direct request to another private address is refused at the dial.
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
	open := New(Config{UserAgent: "memo/test", AllowPrivate: true})
	for _, path := range []string{"/to-loopback", "/to-metadata", "/to-localhost-name"} {
		for name, client := range map[string]*Client{"policy": c, "AllowPrivate": open} {
			if _, err := client.Get(context.Background(), srv.URL+path); !errors.Is(err, ErrRedirectOffHost) || !Refused(err) {
				t.Errorf("%s (%s): err %v, want ErrRedirectOffHost", path, name, err)
			}
		}
	}
	if _, err := c.Get(context.Background(), other.URL+"/"); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("direct loopback: err %v, want ErrForbiddenAddress", err)
	}
	if _, err := open.Get(context.Background(), other.URL+"/"); err != nil {
		t.Errorf("AllowPrivate: %v", err)
	}
}

// TestRedirectsStayOnTheOrigin: a redirect is followed only to the same scheme, host and port as the URL asked
// for; GetObject compares the document's id with that URL, not with where the redirect led.
func TestRedirectsStayOnTheOrigin(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/activity+json")
		w.Write([]byte(`{"id":"` + "http://" + r.Host + r.URL.Path + `"}`))
	}))
	defer other.Close()
	var base string
	mux := http.NewServeMux()
	serve := func(path, id string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/activity+json")
			w.Write([]byte(`{"id":"` + base + id + `","type":"Note"}`))
		})
	}
	serve("/canonical", "/alias")     // answers for the URL that redirected to it
	serve("/elsewhere", "/elsewhere") // answers as itself
	mux.HandleFunc("/alias", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/canonical", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) })
	mux.HandleFunc("/off-host", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/off-host", http.StatusFound)
	})
	mux.HandleFunc("/to-https", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(base, "http://", "https://", 1)+"/alias", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base = srv.URL
	c := New(Config{AllowPrivate: true, UserAgent: "memo/test"})
	ctx := context.Background()

	if _, err := c.GetObject(ctx, base+"/alias"); err != nil {
		t.Errorf("same-origin redirect, id of the URL asked for: %v", err)
	}
	if _, err := c.GetObject(ctx, base+"/moved"); !errors.Is(err, ErrIDMismatch) {
		t.Errorf("same-origin redirect, id of the final URL: %v, want ErrIDMismatch", err)
	}
	for _, path := range []string{"/off-host", "/to-https"} {
		if _, err := c.GetObject(ctx, base+path); !errors.Is(err, ErrRedirectOffHost) {
			t.Errorf("%s: %v, want ErrRedirectOffHost", path, err)
		}
	}
}

// TestGetObjectRules: an object is taken only when served as ActivityPub and when its id is the URL asked for.
func TestGetObjectRules(t *testing.T) {
	var base string
	mux := http.NewServeMux()
	serve := func(path, contentType, body string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Write([]byte(strings.ReplaceAll(body, "BASE", base)))
		})
	}
	const note = `{"id":"BASE/PATH","type":"Note"}`
	for path, ct := range map[string]string{
		"/activity":  "application/activity+json",
		"/charset":   "application/activity+json; charset=utf-8",
		"/ld":        `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`,
		"/ld-list":   `application/ld+json; profile="https://example.com/x https://www.w3.org/ns/activitystreams"`,
		"/plain":     "text/plain; charset=utf-8",
		"/html":      "text/html",
		"/json":      "application/json",
		"/ld-bare":   "application/ld+json",
		"/ld-other":  `application/ld+json; profile="https://example.com/x"`,
		"/none":      "",
		"/malformed": "application/activity+json; ===",
	} {
		serve(path, ct, strings.Replace(note, "PATH", path[1:], 1))
	}
	serve("/other-id", "application/activity+json", `{"id":"BASE/users/victim","type":"Person"}`)
	serve("/no-id", "application/activity+json", `{"type":"Note"}`)
	serve("/id-object", "application/activity+json", `{"id":{"x":1},"type":"Note"}`)
	serve("/not-json", "application/activity+json", `<html>`)
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base = srv.URL
	c := New(Config{AllowPrivate: true, UserAgent: "memo/test"})
	ctx := context.Background()

	for _, path := range []string{"/activity", "/charset", "/ld", "/ld-list"} {
		if b, err := c.GetObject(ctx, base+path); err != nil || !bytes.Contains(b, []byte(`"Note"`)) {
			t.Errorf("%s: %s, %v", path, b, err)
		}
	}
	for _, path := range []string{"/plain", "/html", "/json", "/ld-bare", "/ld-other", "/none", "/malformed"} {
		_, err := c.GetObject(ctx, base+path)
		if !errors.Is(err, ErrContentType) || !Refused(err) {
			t.Errorf("%s: %v, want ErrContentType", path, err)
		} else if !strings.Contains(err.Error(), "Content-Type") {
			t.Errorf("%s: the error %q does not name the Content-Type", path, err)
		}
	}
	for _, path := range []string{"/other-id", "/no-id", "/id-object", "/not-json", "/activity#part"} {
		if _, err := c.GetObject(ctx, base+path); !errors.Is(err, ErrIDMismatch) || !Refused(err) {
			t.Errorf("%s: %v, want ErrIDMismatch", path, err)
		}
	}
	if _, err := c.GetObject(ctx, base+"/gone"); !Gone(err) || Refused(err) {
		t.Errorf("410: %v, want Gone and not a refusal", err)
	}
	// Get is for other documents (WebFinger): it takes any content type, and still stays on the origin.
	if _, err := c.Get(ctx, base+"/plain"); err != nil {
		t.Errorf("Get of a text/plain document: %v", err)
	}
}

func TestActivityContentType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/activity+json":                                             true,
		"Application/Activity+JSON; charset=UTF-8":                              true,
		`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`:  true,
		`application/ld+json;profile="https://www.w3.org/ns/activitystreams"`:   true,
		`application/ld+json; profile=https://www.w3.org/ns/activitystreams`:    false, // a URL is not a token: unparseable
		`application/ld+json; profile="https://www.w3.org/ns/activitystreams#"`: false,
		"application/ld+json":                  false,
		"application/json":                     false,
		"text/plain":                           false,
		"text/html; charset=utf-8":             false,
		"":                                     false,
		"application/activity+json, text/html": false,
		`application/ld+json; profile="https://www.w3.org/ns/activitystreams x"`: true,
	} {
		if got := ActivityContentType(ct); got != want {
			t.Errorf("ActivityContentType(%q) = %v, want %v", ct, got, want)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"https://h.example/users/a", "https://h.example/keys/1", true},
		{"https://h.example/a", "https://H.EXAMPLE:443/b", true},
		{"http://h.example/a", "http://h.example:80/b", true},
		{"https://h.example/a", "http://h.example/a", false},
		{"https://h.example/a", "https://h.example:8443/a", false},
		{"https://h.example/a", "https://evil.example/a", false},
		{"https://h.example/a", "https://h.example.evil.example/a", false},
		{"https://h.example/a", "/relative", false},
		{"", "", false},
	} {
		if got := SameOrigin(c.a, c.b); got != c.want {
			t.Errorf("SameOrigin(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
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
