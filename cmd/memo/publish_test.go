package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/content"
)

// The publish round trip as an admin lives it: `memo publish` beside a server's database, then the web and the
// ActivityPub side show revision 2 as current, revision 1 still readable, and the diff between them.
func TestPublishRoundTrip(t *testing.T) {
	dir := t.TempDir()
	changed := strings.Replace(content.MemoMarkdown(), "La situation exceptionnelle", "La situation tout à fait exceptionnelle", 1)
	if changed == content.MemoMarkdown() {
		t.Fatal("the shipped memo no longer has the sentence this test edits")
	}
	file := filepath.Join(dir, "rev2.md")
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "publish", file, "--changelog", "Une précision.", "--data", dir)
	if code != 0 || !strings.Contains(out, "published revision 2") {
		t.Fatalf("publish: code %d, out %q, err %q", code, out, stderr)
	}

	fs, cfg, finish := newFlagSet("serve", "", "", io.Discard)
	if err := fs.Parse([]string{"--data", dir}); err != nil {
		t.Fatal(err)
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	a, err := openApp(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	h, _, err := a.handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	urls := cfg.urls()
	get := func(path, accept string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Accept", accept)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
		}
		return string(b)
	}
	const ap = "application/activity+json"
	memo := get("/memo", ap)
	if !strings.Contains(memo, "tout à fait exceptionnelle") || !strings.Contains(memo, `"updated"`) {
		t.Errorf("the Article does not carry revision 2")
	}
	if r1 := get("/memo/revisions/1", ap); strings.Contains(r1, "tout à fait") || !strings.Contains(r1, "La situation exceptionnelle") {
		t.Errorf("revision 1 changed")
	}
	if page := get("/memo/revisions/1", "text/html"); !strings.Contains(page, "La situation exceptionnelle") {
		t.Errorf("revision 1's page does not show its text")
	}
	diff := get("/memo/diff?from=1&to=2", "text/html")
	if !strings.Contains(diff, "<ins") || !strings.Contains(diff, "tout à fait") {
		t.Errorf("the diff page does not show the insertion")
	}
	history := get("/memo/revisions", "text/html")
	if !strings.Contains(history, "Une précision.") {
		t.Errorf("the history does not show the changelog")
	}
	outbox := get("/users/memo/outbox?page=true", ap)
	if !strings.Contains(outbox, urls.Base+"/activities/update-memo-2") {
		t.Errorf("the outbox does not list the Update of revision 2")
	}
}
