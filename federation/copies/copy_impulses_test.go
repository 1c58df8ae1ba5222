package copies

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// A copy takes the impulses' text from the origin's Markdown source, renders it itself (raw HTML dropped),
// adds the ones it lacks and retracts the ones the origin no longer lists.
func TestCopyImportsImpulses(t *testing.T) {
	ctx := context.Background()
	then := time.Date(2020, 5, 3, 12, 0, 0, 0, time.UTC)
	put := func(s *storage.Store, slug, kind string, pos int, md string) {
		t.Helper()
		html, err := content.Render(md)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PutImpulse(ctx, storage.Impulse{Slug: slug, Kind: kind, Position: pos, Markdown: md, HTML: html, PublishedAt: then, UpdatedAt: then}); err != nil {
			t.Fatal(err)
		}
	}

	origin := storagetest.Open(t, storagetest.SQLiteDSN(t))
	srv := httptest.NewUnstartedServer(nil)
	ourls := content.URLs{Base: "http://" + srv.Listener.Addr().String(), Username: "memo"}
	if _, err := storagetest.AddRevision(ctx, origin, storage.Revision{Title: "Memo", Summary: "s", Markdown: "# Memo", HTML: "<h1>Memo</h1>", PublishedAt: then}); err != nil {
		t.Fatal(err)
	}
	put(origin, "lesson-1", "lesson", 1, "Texte **revu** à l’origine <script>alert(1)</script>")
	put(origin, "lesson-2", "lesson", 2, "Deux")
	put(origin, "measure-1", "measure", 1, "Une mesure")
	fed, err := federation.New(federation.Config{URLs: ourls, Key: fedtest.ServerKey(), Fetch: fetch.New(fetch.Config{AllowPrivate: true, Key: fedtest.ServerKey(), KeyID: ourls.KeyID()}),
		Deliver: fetch.New(fetch.Config{AllowPrivate: true})}, origin)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	fed.Register(mux, http.NotFoundHandler())
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)

	local := storagetest.Open(t, storagetest.SQLiteDSN(t))
	put(local, "lesson-1", "lesson", 1, "Texte d’origine")
	put(local, "lesson-2", "lesson", 2, "Deux")
	put(local, "lesson-3", "lesson", 3, "Trois")
	curls := content.URLs{Base: "http://copy.example", Username: "memo"}
	client := fetch.New(fetch.Config{AllowPrivate: true, Key: fedtest.ServerKey(), KeyID: curls.KeyID()})
	c, err := New(Config{URLs: curls, Store: local, Fetch: client, Origin: ourls.Actor()})
	if err != nil {
		t.Fatal(err)
	}
	c.origin = originRef{urls: ourls}
	if err := c.syncImpulses(ctx); err != nil {
		t.Fatal(err)
	}

	l1, err := local.Impulse(ctx, "lesson-1")
	if err != nil || !strings.HasPrefix(l1.Markdown, "Texte **revu**") || !strings.Contains(l1.HTML, "<strong>revu</strong>") || strings.Contains(l1.HTML, "<script") {
		t.Fatalf("lesson-1 = %+v, %v", l1, err)
	}
	if l2, _ := local.Impulse(ctx, "lesson-2"); !l2.UpdatedAt.Equal(then) {
		t.Errorf("an unchanged impulse was rewritten: %v", l2.UpdatedAt)
	}
	if l3, _ := local.Impulse(ctx, "lesson-3"); !l3.Retracted() {
		t.Error("an impulse the origin does not list stays published")
	}
	m1, err := local.Impulse(ctx, "measure-1")
	if err != nil || m1.Kind != "measure" || m1.Position != 1 || m1.Markdown != "Une mesure" || !m1.PublishedAt.Equal(then) {
		t.Fatalf("measure-1 = %+v, %v", m1, err)
	}

	// What a hostile or broken origin serves is refused, one impulse at a time.
	for name, d := range map[string]impulseDoc{
		"another id":     {ID: ourls.Impulse("lesson-2"), Type: "Note", Published: "2020-05-03T12:00:00Z"},
		"not a note":     {ID: ourls.Impulse("lesson-1"), Type: "Article", Published: "2020-05-03T12:00:00Z"},
		"no source":      {ID: ourls.Impulse("lesson-1"), Type: "Note", Published: "2020-05-03T12:00:00Z"},
		"html source":    {ID: ourls.Impulse("lesson-1"), Type: "Note", Published: "2020-05-03T12:00:00Z"},
		"huge source":    {ID: ourls.Impulse("lesson-1"), Type: "Note", Published: "2020-05-03T12:00:00Z"},
		"no date":        {ID: ourls.Impulse("lesson-1"), Type: "Note"},
		"not an impulse": {ID: ourls.Impulse("lesson-1"), Type: "Note", Published: "2020-05-03T12:00:00Z"},
	} {
		slug := "lesson-1"
		switch name {
		case "html source":
			d.Source.Content, d.Source.MediaType = "<p>x</p>", "text/html"
		case "huge source":
			d.Source.Content, d.Source.MediaType = strings.Repeat("x", maxImpulseMarkdown+1), "text/markdown"
		case "not an impulse":
			slug = "../actor"
			d.Source.Content, d.Source.MediaType = "x", "text/markdown"
		case "no source":
		default:
			d.Source.Content, d.Source.MediaType = "x", "text/markdown"
		}
		if _, err := d.impulse(slug, ourls.Impulse("lesson-1")); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
