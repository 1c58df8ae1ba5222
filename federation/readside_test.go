package federation_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/outbox"
	"github.com/memo-fediverse/memo/storage"
)

// The read-side tests run the federation routes on a real loopback HTTP server, over a mux built the way
// cmd/memo builds it, on a store seeded the way cmd/memo seeds it.

const (
	rsAcceptAS      = "application/activity+json"
	rsAcceptLD      = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
	rsAcceptBrowser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	rsAcceptAny     = "*/*"
)

// rsClock is the store's clock in these tests, so seeded notes and new revisions have known dates.
var rsClock = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

var (
	rsKeyOnce  sync.Once
	rsKeyValue *rsa.PrivateKey
)

// rsKey is one RSA key for the whole package: generating 2048-bit keys per test would dominate the run time.
func rsKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsKeyValue = k
	})
	return rsKeyValue
}

// readSite is a running publication: its address scheme, store, key and HTTP server.
type readSite struct {
	t     testing.TB
	URL   string
	urls  content.URLs
	store *storage.Store
	key   *rsa.PrivateKey
}

// rsPages stands for the HTML site: it proves that a request was handed to it.
var rsPages = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "HTML")
})

// startReadSite seeds store like cmd/memo does on first start and serves it on loopback.
func startReadSite(t testing.TB, store *storage.Store) *readSite {
	t.Helper()
	store.SetClock(func() time.Time { return rsClock })
	var handler http.Handler = http.NotFoundHandler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	urls := content.URLs{Base: ts.URL, Username: "memo"}
	if err := outbox.Seed(context.Background(), store, urls); err != nil {
		t.Fatalf("seed: %v", err)
	}
	key := rsKey(t)
	fed, err := federation.New(federation.Config{
		URLs: urls, DisplayName: "Pour du libre et de l’open en conscience", Version: "1.2.3", Key: key,
		Fetch:   fetch.New(fetch.Config{UserAgent: "test", AllowPrivate: true, Key: key, KeyID: urls.KeyID()}),
		Deliver: fetch.New(fetch.Config{UserAgent: "test", AllowPrivate: true}),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, store)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	fed.Register(mux, rsPages)
	mux.Handle("/", rsPages)
	handler = mux
	return &readSite{t: t, URL: ts.URL, urls: urls, store: store, key: key}
}

// rsResponse is a fetched answer.
type rsResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// get fetches url with the given Accept header.
func (s *readSite) get(url, accept string) rsResponse {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatalf("GET %s: read: %v", url, err)
	}
	return rsResponse{Status: res.StatusCode, Header: res.Header, Body: body}
}

// getAS fetches an ActivityPub document, checks it is one (200, its media type, under 1 MB) and decodes it.
func (s *readSite) getAS(url string) map[string]any {
	s.t.Helper()
	res := s.get(url, rsAcceptAS)
	if res.Status != http.StatusOK {
		s.t.Fatalf("GET %s: status %d: %s", url, res.Status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/activity+json; charset=utf-8" {
		s.t.Fatalf("GET %s: Content-Type %q", url, ct)
	}
	if len(res.Body) >= 1<<20 {
		s.t.Fatalf("GET %s: %d bytes, over Mastodon's 1 MB limit", url, len(res.Body))
	}
	return rsDecode(s.t, url, res.Body)
}

func rsDecode(t testing.TB, what string, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: not a JSON object: %v\n%s", what, err, body)
	}
	return m
}

// rsField reads a nested field: rsField(m, "publicKey", "id").
func rsField(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func rsStr(m map[string]any, keys ...string) string {
	s, _ := rsField(m, keys...).(string)
	return s
}

func rsNum(m map[string]any, keys ...string) int {
	f, _ := rsField(m, keys...).(float64)
	return int(f)
}

func rsList(m map[string]any, keys ...string) []any {
	l, _ := rsField(m, keys...).([]any)
	return l
}

func rsContainsAll(haystack string, needles ...string) bool {
	for _, n := range needles {
		if !strings.Contains(haystack, n) {
			return false
		}
	}
	return true
}
