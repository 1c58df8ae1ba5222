package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/content"
)

// TestConfiguredPhrasesEverywhere: with MEMO_SIGNING_PHRASES set, every text that says how to sign quotes the
// configured phrase and never the default one: the home page, the pinned how-to-sign note (as a page and as
// ActivityPub JSON, seeded with the phrases configured at the first start) and the actor's summary.
func TestConfiguredPhrasesEverywhere(t *testing.T) {
	t.Setenv("MEMO_SIGNING_PHRASES", "je soutiens, I support")
	dir := t.TempDir()
	fs, cfg, finish := newFlagSet("serve", "", "", io.Discard)
	if err := fs.Parse([]string{"--data", dir, "--public-url", "https://memo.example"}); err != nil {
		t.Fatal(err)
	}
	a, err := openChecked(context.Background(), cfg, finish, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	h, _, err := a.handler()
	if err != nil {
		t.Fatal(err)
	}
	urls := cfg.urls()
	get := func(target, accept string) string {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s (%s): %d %s", target, accept, rec.Code, rec.Body.String())
		}
		return rec.Body.String()
	}
	check := func(what, text string) {
		t.Helper()
		if !strings.Contains(text, "je soutiens") {
			t.Errorf("%s does not quote the configured phrase", what)
		}
		if strings.Contains(strings.ToLower(text), "je signe") {
			t.Errorf("%s still quotes the default « je signe »", what)
		}
	}
	const html, ap = "text/html", "application/activity+json"
	check("the home page", get(urls.Memo(), html))
	check("the how-to-sign page", get(urls.Note(content.HowToSignSlug), html))
	check("the about page", get(urls.Base+"/about", html))
	check("the impulses page", get(urls.Impulses(), html))
	check("the memo Article", get(urls.Memo(), ap))
	check("the Atom feed", get(urls.Feed(), "application/atom+xml"))

	var note struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal([]byte(get(urls.Note(content.HowToSignSlug), ap)), &note); err != nil {
		t.Fatal(err)
	}
	check("the how-to-sign note", note.Content)
	if !strings.Contains(note.Content, "“I support”") {
		t.Errorf("the how-to-sign note does not list every configured phrase: %s", note.Content)
	}
	var actor struct {
		Summary string `json:"summary"`
	}
	if err := json.Unmarshal([]byte(get(urls.Actor(), ap)), &actor); err != nil {
		t.Fatal(err)
	}
	check("the actor's summary", actor.Summary)
}
