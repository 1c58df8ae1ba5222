package views

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage/storagetest"
)

// render flattens a diff into a compact text form: [-deleted-] {+inserted+}, paragraphs joined by " | ",
// folded runs as (N).
func renderDiff(res wordDiffResult) string {
	var parts []string
	for _, b := range res.Blocks {
		if b.Collapsed {
			parts = append(parts, "("+itoa(len(b.Paragraphs))+")")
			continue
		}
		for _, p := range b.Paragraphs {
			var sb strings.Builder
			for _, s := range p.Segments {
				switch s.Op {
				case "ins":
					sb.WriteString("{+" + s.Text + "+}")
				case "del":
					sb.WriteString("[-" + s.Text + "-]")
				default:
					sb.WriteString(s.Text)
				}
			}
			parts = append(parts, sb.String())
		}
	}
	return strings.Join(parts, " | ")
}

func TestWordDiff(t *testing.T) {
	for _, c := range []struct{ a, b, want string }{
		{"Le chat dort.", "Le chien dort.", "Le [-chat-]{+chien+} dort."},
		{"un deux trois", "un trois", "un [-deux -]trois"},
		{"un trois", "un deux trois", "un {+deux +}trois"},
		{"même texte", "même texte", "(1)"},
		{"a\n\nb", "a\n\nb\n\nc", "(1) | b | {+c+}"},
		{"a\n\nb\n\nc", "a\n\nc", "a | [-b-] | c"},
		{"l’open", "l’ouvert", "l’[-open-]{+ouvert+}"},
	} {
		if got := renderDiff(wordDiff(c.a, c.b)); got != c.want {
			t.Errorf("wordDiff(%q, %q) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
	res := wordDiff("un deux trois quatre", "un trois cinq six quatre")
	if res.Deleted != 1 || res.Inserted != 2 {
		t.Errorf("counts: %d deleted, %d inserted; want 1, 2", res.Deleted, res.Inserted)
	}
}

func TestWordDiffFoldsUnchangedParagraphs(t *testing.T) {
	var a []string
	for i := 0; i < 10; i++ {
		a = append(a, "Paragraphe "+itoa(i)+" inchangé.")
	}
	b := append([]string(nil), a...)
	b[5] = "Paragraphe 5 modifié."
	got := renderDiff(wordDiff(strings.Join(a, "\n\n"), strings.Join(b, "\n\n")))
	want := "(4) | Paragraphe 4 inchangé. | Paragraphe 5 [-inchangé-]{+modifié+}. | Paragraphe 6 inchangé. | (3)"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestDiffPage(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	publish(t, store, secondRevision(), "Deux corrections.", time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC))
	h := newTestSite(t, store, testBase).Handler()

	r := get(t, h, "/memo/diff?from=1&to=2")
	if r.Status != 200 {
		t.Fatalf("diff: status %d", r.Status)
	}
	mustContain(t, "diff", r.Body, "<del>exceptionnelle</del>", "<ins>inédite</ins>", "<del>toute </del>",
		"Modifications de la révision 1 à la révision 2", "1 mot ajouté", "2 mots supprimés",
		`<details class="unchanged">`, `<div class="diff" lang="fr">`,
		`<option value="1" selected>`, `<option value="2" selected>`)
	// Reversed, the same change reads the other way.
	rev := get(t, h, "/memo/diff?from=2&to=1")
	mustContain(t, "reversed diff", rev.Body, "<del>inédite</del>", "<ins>exceptionnelle</ins>")

	en := get(t, h, "/memo/diff?from=1&to=2", "Accept-Language: en")
	mustContain(t, "diff (en)", en.Body, "Changes from revision 1 to revision 2", "2 words removed")

	for _, c := range []struct {
		query  string
		status int
		reason string
	}{
		{"", http.StatusBadRequest, "Indiquez deux numéros de révision"},
		{"?from=1", http.StatusBadRequest, "Indiquez deux numéros de révision"},
		{"?from=a&to=2", http.StatusBadRequest, "Indiquez deux numéros de révision"},
		{"?from=-1&to=2", http.StatusBadRequest, "Indiquez deux numéros de révision"},
		{"?from=0&to=2", http.StatusBadRequest, "Indiquez deux numéros de révision"},
		{"?from=1&to=99999999999999999999", http.StatusBadRequest, "Indiquez deux numéros de révision"},
		{"?from=2&to=2", http.StatusBadRequest, "deux révisions différentes"},
		{"?from=1&to=3", http.StatusNotFound, "n’existe pas"},
		{"?from=7&to=1", http.StatusNotFound, "n’existe pas"},
	} {
		r := get(t, h, "/memo/diff"+c.query)
		if r.Status != c.status {
			t.Errorf("diff%s: status %d, want %d", c.query, r.Status, c.status)
			continue
		}
		if r.Header.Get("Content-Type") != "text/html; charset=utf-8" || r.Header.Get("Content-Security-Policy") != csp {
			t.Errorf("diff%s: headers %v", c.query, r.Header)
		}
		mustContain(t, "diff"+c.query, r.Body, c.reason, `<html lang="fr"`)
	}
	// The ActivityPub side gets its errors as JSON.
	j := get(t, h, "/memo/diff?from=x", "Accept: application/activity+json")
	if j.Status != http.StatusBadRequest || !strings.Contains(j.Body, `"error"`) {
		t.Errorf("diff error as JSON: %d %s", j.Status, j.Body)
	}
}

func TestRevisionPagesAreCachedButStayCurrent(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newTestSite(t, store, testBase).Handler()
	mustContain(t, "home rev 1", get(t, h, "/").Body, "Révision 1", "exceptionnelle")
	publish(t, store, secondRevision(), "Deux corrections.", time.Now())
	home := get(t, h, "/")
	mustContain(t, "home rev 2", home.Body, "Révision 2", "inédite")
	mustNotContain(t, "home rev 2", home.Body, "La situation exceptionnelle")
	if _, err := store.CurrentRevisionNumber(context.Background()); err != nil {
		t.Fatal(err)
	}
}
