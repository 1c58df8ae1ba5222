package storage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestSignatureSearch runs the web's and the command's search on both engines: accents and case ignored, each
// word of the query the beginning of a word of the name, handle, instance or reply text, hidden, private and withdrawn signatures never
// found, and the count with a query equal to what the pages list.
func TestSignatureSearch(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		add := func(n int, name, domain, vis, text string) {
			g := newSig(n, name, domain, vis)
			g.Content = text
			mustSign(t, s, g)
		}
		add(1, "Éloïse Martin", "piaille.fr", "public", "<p>Je signe.</p>")
		add(2, "Bob", "mastodon.social", "unlisted", `<p>Je signe, depuis <a href="https://x.example">Marseille</a>.</p>`)
		add(3, "Eloise Secret", "mastodon.social", "followers", "<p>je signe</p>") // private
		add(4, "Éloi Caché", "piaille.fr", "public", "<p>je signe</p>")            // hidden below
		add(5, "Eloïse Partie", "piaille.fr", "public", "<p>je signe</p>")         // withdrawn below
		add(6, "Zoé", "ÉCOLE.example", "public", "<p>Signé à Paris</p>")
		if err := s.SetSignatureHidden(ctx, 4, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WithdrawSignature(ctx, "https://piaille.fr/users/u5", "https://piaille.fr/notes/5"); err != nil {
			t.Fatal(err)
		}

		for q, want := range map[string]string{
			"eloise":           "1",
			"ÉLOÏSE":           "1",
			"Eloise":           "1",
			"elo":              "1", // a prefix finds the name (the hidden Éloi and the others are never listed)
			"loï":              "",  // but not the middle of a word
			"ma":               "1,2",
			"e":                "1,6",
			"martin eloise":    "1", // words in any order
			"eloise bob":       "",  // every word must match
			"piaille.fr":       "1",
			"mastodon.social":  "2",
			"@u2@mastodon":     "2",
			"marseille":        "2", // the reply's text, links' text included
			"paris":            "6",
			"ecole":            "6", // an instance written with capitals and accents
			"eloïse   martin ": "1",
			"secret":           "",
			"partie":           "",
			"cache":            "",
			"zz%":              "",
			`a"b`:              "",
		} {
			web, err := s.ListedSignatures(ctx, storage.SignatureQuery{Search: q, Limit: 50})
			if err != nil {
				t.Fatalf("web search %q: %v", q, err)
			}
			var got []string
			for _, g := range web {
				got = append(got, fmt.Sprint(g.ID))
			}
			if strings.Join(got, ",") != want {
				t.Errorf("web search %q = %s, want %s", q, strings.Join(got, ","), want)
			}
			n, err := s.CountListedSignatures(ctx, q)
			if err != nil {
				t.Fatalf("count %q: %v", q, err)
			}
			if n != len(web) {
				t.Errorf("count %q = %d, the list has %d", q, n, len(web))
			}
			// The capped count agrees below its limit and stops one past it.
			for _, limit := range []int{0, 1, 50} {
				up, err := s.CountListedSignaturesUpTo(ctx, q, limit)
				if err != nil || up != min(n, limit+1) {
					t.Errorf("count %q up to %d = %d, %v; want %d", q, limit, up, err, min(n, limit+1))
				}
			}
			cmd, err := s.Signatures(ctx, storage.SignatureFilter{Search: q, Limit: 50})
			if err != nil {
				t.Fatalf("command search %q: %v", q, err)
			}
			got = got[:0]
			for i := len(cmd) - 1; i >= 0; i-- {
				got = append(got, fmt.Sprint(cmd[i].ID))
			}
			if strings.Join(got, ",") != want {
				t.Errorf("command search %q = %s, want %s", q, strings.Join(got, ","), want)
			}
		}

		// Moderators may widen the search to private and inactive rows; the index holds them too.
		wide, err := s.Signatures(ctx, storage.SignatureFilter{Search: "eloi", Limit: 50, IncludePrivate: true, IncludeInactive: true})
		if err != nil || ids(wide) != "5,4,3,1" {
			t.Fatalf("moderator search = %s, %v; want 5,4,3,1", ids(wide), err)
		}

		// A signature signed again under a new name is found by the new name only: the index follows the row.
		if _, err := s.WithdrawSignature(ctx, "https://piaille.fr/users/u1", "https://piaille.fr/notes/1"); err != nil {
			t.Fatal(err)
		}
		again := newSig(1, "Marguerite", "piaille.fr", "public")
		again.NoteIRI = "https://piaille.fr/notes/1b"
		mustSign(t, s, again)
		for q, want := range map[string]int{"eloise": 0, "marguerite": 1} {
			if n, err := s.CountListedSignatures(ctx, q); err != nil || n != want {
				t.Errorf("after re-signing, count %q = %d, %v; want %d", q, n, err, want)
			}
		}
		// An erased signature (its actor deleted) leaves the index with its row.
		if _, err := s.EraseSignature(ctx, "https://mastodon.social/users/u2"); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountListedSignatures(ctx, "marseille"); err != nil || n != 0 {
			t.Errorf("after erasing, count %q = %d, %v; want 0", "marseille", n, err)
		}
	})
}
