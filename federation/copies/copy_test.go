package copies

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func TestOriginURLs(t *testing.T) {
	u, err := content.OriginURLs("https://memo.example/users/memo")
	if err != nil || u.Base != "https://memo.example" || u.Username != "memo" {
		t.Fatalf("originURLs = %+v, %v", u, err)
	}
	for _, bad := range []string{"", "ftp://memo.example/users/memo", "https://memo.example/@memo", "https://memo.example/users/", "https://memo.example/users/a/b", "https:///users/memo", "https://memo.example/users/memo?x=1"} {
		if _, err := content.OriginURLs(bad); err == nil {
			t.Errorf("content.OriginURLs(%q) accepted", bad)
		}
	}
}

func TestImportedRevisionFromArticle(t *testing.T) {
	origin := content.URLs{Base: "https://origin.example", Username: "memo"}
	want := origin.Revision(2)
	d := articleDoc{
		ID: want, Type: "Article", Name: "Titre", Summary: "<p>L’abrégé &amp; la suite</p>", Published: "2026-05-01T10:00:00Z",
		// The origin's HTML is not what the copy shows: whatever surrounds the text there is its own.
		Content: `<p>Autre chose.</p><hr/><p><em>Révision 2 du 1 mai 2026. Texte sous licence…</em></p>`,
	}
	d.Source.Content, d.Source.MediaType = "# Titre\n\nTexte. <script>alert(1)</script>", "text/markdown"
	d.Changelog = "Une <b>précision</b>." + strings.Repeat("!", 3000)
	rev, err := d.revision(2, want)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Number != 2 || rev.Title != "Titre" || rev.Summary != "L’abrégé & la suite" || rev.Markdown != d.Source.Content {
		t.Fatalf("revision = %+v", rev)
	}
	if !strings.HasPrefix(rev.Changelog, "Une précision.!") || len([]rune(rev.Changelog)) != maxChangelog {
		t.Errorf("changelog not kept as bounded plain text: %q…", rev.Changelog[:20])
	}
	if strings.Contains(rev.HTML, "Révision 2") || strings.Contains(rev.HTML, "Autre chose") || strings.Contains(rev.HTML, "<script") ||
		!strings.Contains(rev.HTML, "<h1") || !strings.Contains(rev.HTML, "Texte.") {
		t.Fatalf("HTML not rendered from the source: %q", rev.HTML)
	}
	noSource, otherSource := d, d
	noSource.Source.Content = ""
	otherSource.Source.MediaType = "text/html"
	for name, bad := range map[string]articleDoc{
		"no source":      noSource,
		"HTML source":    otherSource,
		"another id":     {ID: origin.Revision(3), Type: "Article", Name: "T", Published: d.Published},
		"not a revision": {ID: want, Type: "Note", Name: "T", Published: d.Published},
		"no title":       {ID: want, Type: "Article", Published: d.Published},
		"no date":        {ID: want, Type: "Article", Name: "T"},
	} {
		if _, err := bad.revision(2, want); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A handle is resolved with WebFinger; over plain HTTP only when private networks are allowed (local demos).
func TestCopyResolvesHandle(t *testing.T) {
	inst := fedtest.NewInstance(t, "origin")
	actor := inst.NewActor("memo")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	c, err := New(Config{URLs: content.URLs{Base: "http://copy.example", Username: "memo"}, Store: store, Fetch: fetch.New(fetch.Config{AllowPrivate: true, Key: key, KeyID: "http://copy.example/users/memo#main-key"}), Origin: "memo@" + inst.Host})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.resolve(context.Background(), "@memo@"+inst.Host)
	if err != nil || got != actor.IRI {
		t.Fatalf("resolve = %q, %v", got, err)
	}
	for _, bad := range []string{"memo", "@memo@", "memo@host/path"} {
		if _, err := c.resolve(context.Background(), bad); err == nil {
			t.Errorf("resolve(%q) accepted", bad)
		}
	}
}

func TestCheckOrigin(t *testing.T) {
	for _, ok := range []string{"https://memo.example/users/memo", "memo@memo.example", "@memo@memo.example:8443"} {
		if err := CheckOrigin(ok); err != nil {
			t.Errorf("CheckOrigin(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "memo", "memo.example", "https://memo.example/", "@memo@", "memo@host/x", "ftp://memo.example/users/memo"} {
		if err := CheckOrigin(bad); err == nil {
			t.Errorf("CheckOrigin(%q) accepted", bad)
		}
	}
}
