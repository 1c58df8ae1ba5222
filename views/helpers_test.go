package views

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/interact"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

const testBase = "https://memo.example"

func testURLs(base string) content.URLs { return content.URLs{Base: base, Username: "memo"} }

// seedMemo stores what a first start stores: the shipped memo as revision 1 and its impulses.
func seedMemo(t testing.TB, store *storage.Store) {
	t.Helper()
	ctx := context.Background()
	doc, err := content.Parse([]byte(content.MemoMarkdown()))
	if err != nil {
		t.Fatal(err)
	}
	imps, err := content.ParseImpulses(content.ImpulsesMarkdown())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SeedRevision(ctx, storage.Revision{
		Title: doc.Title, Summary: content.Abstract, Markdown: doc.Markdown, HTML: doc.HTML,
		Changelog: "Version du 3 mai 2020.", PublishedAt: content.FirstRevisionDate,
	}); err != nil {
		t.Fatal(err)
	}
	for _, it := range imps.Items {
		if err := store.PutImpulse(ctx, storage.Impulse{
			Slug: it.Slug, Kind: it.Kind, Position: it.Position, Markdown: it.Markdown, HTML: it.HTML,
			PublishedAt: content.FirstRevisionDate, UpdatedAt: content.FirstRevisionDate,
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// publish stores a new revision from Markdown, as `memo publish` does.
func publish(t testing.TB, store *storage.Store, md, changelog string, at time.Time) int {
	t.Helper()
	doc, err := content.Parse([]byte(md))
	if err != nil {
		t.Fatal(err)
	}
	n, err := storagetest.AddRevision(context.Background(), store, storage.Revision{
		Title: doc.Title, Summary: content.Abstract, Markdown: doc.Markdown, HTML: doc.HTML, Changelog: changelog, PublishedAt: at,
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func newTestSite(t testing.TB, store *storage.Store, base string) *Site {
	t.Helper()
	return newSite(t, store, base, time.Second, false)
}

// newInteractSite builds the test site with the allow-private setting on: the follow box accepts loopback
// instances (fedtest) and its look-ups give up after deadline.
func newInteractSite(t testing.TB, store *storage.Store, base string, deadline time.Duration) *Site {
	t.Helper()
	return newSite(t, store, base, deadline, true)
}

func newSite(t testing.TB, store *storage.Store, base string, deadline time.Duration, allowPrivate bool) *Site {
	t.Helper()
	lookups := fetch.New(fetch.Config{UserAgent: "memo-test", AllowPrivate: allowPrivate, Timeout: deadline, HeaderTimeout: deadline})
	site, err := New(Config{
		URLs: testURLs(base), DisplayName: "Pour du libre et de l’open en conscience", Version: "test",
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Interact:     interact.New(interact.Config{Client: lookups, AllowPrivate: allowPrivate, Deadline: deadline}),
		AllowPrivate: allowPrivate,
	}, store)
	if err != nil {
		t.Fatal(err)
	}
	return site
}

// response is a finished request: status, headers and body.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// get runs one GET through the handler. Headers come as "Name: value" strings.
func get(t testing.TB, h http.Handler, target string, headers ...string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	for _, hv := range headers {
		name, value, _ := strings.Cut(hv, ":")
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.String()}
}

func mustContain(t testing.TB, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: missing %q", what, w)
		}
	}
}

func mustNotContain(t testing.TB, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s: unexpectedly contains %q", what, w)
		}
	}
}

func httptestRequest(method, target string) *http.Request {
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set("Accept", "text/html")
	return req
}

func serve(h http.Handler, req *http.Request) response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.String()}
}

func itoa(n int) string { return strconv.Itoa(n) }
