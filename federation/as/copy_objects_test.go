package as_test

import (
	"context"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/as"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// On a copy, the memo, each revision and each impulse name the origin's matching object as context; on an origin
// they keep their own.
func TestCopyObjectsPointToOrigin(t *testing.T) {
	ctx := context.Background()
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	urls := content.URLs{Base: "https://copy.example", Username: "memo"}
	o := as.New(urls, store, nil)
	then := time.Date(2020, 5, 3, 12, 0, 0, 0, time.UTC)
	if _, err := storagetest.AddRevision(ctx, store, storage.Revision{Title: "Memo", Summary: "s", Markdown: "# Memo", HTML: "<h1>Memo</h1>", PublishedAt: then}); err != nil {
		t.Fatal(err)
	}
	imp := storage.Impulse{Slug: "lesson-1", Kind: "lesson", Position: 1, Markdown: "l", HTML: "<p>l</p>", PublishedAt: then, UpdatedAt: then}
	if err := store.PutImpulse(ctx, imp); err != nil {
		t.Fatal(err)
	}
	docs := func() map[string]map[string]any {
		t.Helper()
		out := map[string]map[string]any{}
		rev, err := store.Revision(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		for name, id := range map[string]string{"memo": urls.Memo(), "revision": urls.Revision(1)} {
			m, err := o.Article(ctx, rev, rev, id)
			if err != nil {
				t.Fatal(err)
			}
			out[name] = m
		}
		m, err := o.ImpulseNote(ctx, imp, "Memo")
		if err != nil {
			t.Fatal(err)
		}
		out["impulse"] = m
		return out
	}
	for name, m := range docs() {
		if c, _ := m["context"].(string); c != "" && c[:len(urls.Base)] != urls.Base {
			t.Errorf("origin's %s names another server: %v", name, c)
		}
	}
	if err := store.SetMeta(ctx, storage.MetaCopyOf, "https://origin.example/users/memo"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"memo": "https://origin.example/memo", "revision": "https://origin.example/memo/revisions/1",
		"impulse": "https://origin.example/impulses/lesson-1",
	}
	for name, m := range docs() {
		if m["context"] != want[name] {
			t.Errorf("copy's %s: context %v, want %s", name, m["context"], want[name])
		}
		if id, _ := m["id"].(string); id[:len(urls.Base)] != urls.Base {
			t.Errorf("copy's %s has an id off its own host: %s", name, id)
		}
	}
}
