package federation

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fedtest"
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
		Content: `<p>Texte.</p><script>alert(1)</script>` + `<hr/><p><em>Révision 2 du 1 mai 2026. Texte sous licence…</em></p>`,
	}
	d.Source.Content, d.Source.MediaType = "# Titre\n\nTexte.", "text/markdown"
	d.Changelog = "Une <b>précision</b>." + strings.Repeat("!", 3000)
	rev, err := d.revision(2, want)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Number != 2 || rev.Title != "Titre" || rev.Summary != "L’abrégé & la suite" || rev.Markdown != "# Titre\n\nTexte." {
		t.Fatalf("revision = %+v", rev)
	}
	if !strings.HasPrefix(rev.Changelog, "Une précision.!") || len([]rune(rev.Changelog)) != maxChangelog {
		t.Errorf("changelog not kept as bounded plain text: %q…", rev.Changelog[:20])
	}
	if strings.Contains(rev.HTML, "Révision 2") || strings.Contains(rev.HTML, "<script") || !strings.Contains(rev.HTML, "<p>Texte.</p>") {
		t.Fatalf("HTML not cut and sanitised: %q", rev.HTML)
	}
	// Without a Markdown source, the diff runs on the text.
	d.Source.Content = ""
	if rev, err := d.revision(2, want); err != nil || !strings.Contains(rev.Markdown, "Texte.") || strings.Contains(rev.Markdown, "<p>") {
		t.Fatalf("markdown from HTML = %q (err %v)", rev.Markdown, err)
	}
	for name, bad := range map[string]articleDoc{
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
	c, err := NewCopy(CopyConfig{URLs: content.URLs{Base: "http://copy.example", Username: "memo"}, Store: store, Key: key, AllowPrivate: true, Origin: "memo@" + inst.Host})
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
