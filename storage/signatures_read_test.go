package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// addSignature writes a signature row the way the inbox will, with only the columns the web reads varying.
// status "withdrawn" stands for a withdrawn row (withdrawn_at set).
func addSignature(t *testing.T, s *storage.Store, n int, name, domain, visibility, status string) {
	t.Helper()
	var withdrawn any
	if status == "withdrawn" {
		status, withdrawn = "active", int64(5000)
	}
	_, err := s.DB().Exec(s.DB().Rebind(`INSERT INTO signatures (actor_iri, actor_type, handle, display_name, domain, profile_url, note_iri, in_reply_to, content, revision, visibility, status, signed_at, withdrawn_at, search_text)
		VALUES (?, 'Person', ?, ?, ?, ?, ?, ?, 'je signe', 1, ?, ?, ?, ?, ?)`),
		fmt.Sprintf("https://%s/users/u%d", domain, n), fmt.Sprintf("u%d@%s", n, domain), name, domain,
		fmt.Sprintf("https://%s/@u%d", domain, n), fmt.Sprintf("https://%s/notes/%d", domain, n), "https://memo.example/memo",
		visibility, status, time.Date(2026, 1, 1, 0, 0, n, 0, time.UTC).UnixMilli(), withdrawn,
		storage.SearchTextOf(name, fmt.Sprintf("u%d@%s", n, domain), domain, ""))
	if err != nil {
		t.Fatalf("insert signature %d: %v", n, err)
	}
}

func TestSignatureReads(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		tally, err := s.CountSignatures(ctx)
		if err != nil || tally.Total() != 0 {
			t.Fatalf("empty tally = %+v, %v", tally, err)
		}
		addSignature(t, s, 1, "Alice Martin", "mastodon.example", "public", "active")
		addSignature(t, s, 2, "Bob Éluard", "social.example", "unlisted", "active")
		addSignature(t, s, 3, "Secret", "mastodon.example", "followers", "active")
		addSignature(t, s, 4, "Gone", "mastodon.example", "public", "withdrawn")
		addSignature(t, s, 5, "Carol 100%", "pleroma.example", "public", "active")
		addSignature(t, s, 6, "Dora", "MASTODON.example", "direct", "active")
		addSignature(t, s, 7, "Hidden", "spam.example", "public", "hidden")

		tally, err = s.CountSignatures(ctx)
		if err != nil || tally.Public != 3 || tally.Private != 2 || tally.Total() != 5 {
			t.Fatalf("tally = %+v, %v; want 3 listed, 2 private", tally, err)
		}
		if _, err := s.FrontState(ctx); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("front state without a revision: err = %v, want ErrNotFound", err)
		}
		if err := s.SeedRevision(ctx, storage.Revision{Title: "T", Markdown: "# T", HTML: "<h1>T</h1>", PublishedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if st, err := s.FrontState(ctx); err != nil || st.Revision != 1 || st.Signatures != tally.Total() {
			t.Fatalf("front state = %+v, %v; want revision 1, %d signatures", st, err, tally.Total())
		}
		if total, err := signatureTotal(ctx, s); err != nil || total != tally.Total() {
			t.Fatalf("SignatureTotal = %d, %v; the pages must announce the same number (%d)", total, err, tally.Total())
		}

		all, err := s.ListedSignatures(ctx, storage.SignatureQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(all); got != "Alice Martin,Bob Éluard,Carol 100%" {
			t.Fatalf("listed = %s", got)
		}
		if all[0].SignedAt.IsZero() || all[0].Handle != "u1@mastodon.example" {
			t.Fatalf("first = %+v", all[0])
		}

		for _, c := range []struct{ q, want string }{
			{"alice", "Alice Martin"},
			{"MASTODON", "Alice Martin"},
			{"social.example", "Bob Éluard"},
			{"eluard", "Bob Éluard"}, // accents and case folded on both sides
			{"  ÉLUARD ", "Bob Éluard"},
			{"100%", "Carol 100%"},
			{"%", ""}, // punctuation is no word: nothing, not everything
			{"_", ""},
			{"secret", ""}, // private signatures are never found by name
		} {
			got, err := s.ListedSignatures(ctx, storage.SignatureQuery{Search: c.q})
			if err != nil {
				t.Fatal(err)
			}
			if names(got) != c.want {
				t.Errorf("search %q = %q, want %q", c.q, names(got), c.want)
			}
			n, err := s.CountListedSignatures(ctx, c.q)
			if err != nil || n != len(got) {
				t.Errorf("count %q = %d, %v; want %d", c.q, n, err, len(got))
			}
		}

		page1, err := s.ListedSignatures(ctx, storage.SignatureQuery{Limit: 2})
		if err != nil || names(page1) != "Alice Martin,Bob Éluard" {
			t.Fatalf("page 1 = %s, %v", names(page1), err)
		}
		page2, err := s.ListedSignatures(ctx, storage.SignatureQuery{Limit: 2, After: page1[1].ID})
		if err != nil || names(page2) != "Carol 100%" {
			t.Fatalf("page 2 = %s, %v", names(page2), err)
		}
		back, err := s.ListedSignatures(ctx, storage.SignatureQuery{Limit: 2, Before: page2[0].ID})
		if err != nil || names(back) != "Alice Martin,Bob Éluard" {
			t.Fatalf("back from page 2 = %s, %v", names(back), err)
		}
		if more, err := s.HasListedSignature(ctx, "", page2[0].ID, true); err != nil || more {
			t.Fatalf("more after the last = %v, %v", more, err)
		}
		if more, err := s.HasListedSignature(ctx, "", page2[0].ID, false); err != nil || !more {
			t.Fatalf("more before the last = %v, %v", more, err)
		}

		one, err := s.ListedSignatureByID(ctx, all[1].ID)
		if err != nil || one.DisplayName != "Bob Éluard" {
			t.Fatalf("signature by id = %+v, %v", one, err)
		}
		var privateID int64
		if err := s.DB().Get(&privateID, `SELECT id FROM signatures WHERE display_name = 'Secret'`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ListedSignatureByID(ctx, privateID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("private signature by id err = %v, want ErrNotFound", err)
		}
	})
}

func names(list []storage.ListedSignature) string {
	out := ""
	for i, s := range list {
		if i > 0 {
			out += ","
		}
		out += s.DisplayName
	}
	return out
}

func TestSignatureTotal(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		for i, st := range []struct {
			status    string
			withdrawn any
		}{{"accepted", nil}, {"accepted", int64(5)}, {"hidden", nil}, {"accepted", nil}} {
			insertRows(t, s, `INSERT INTO signatures (actor_iri, actor_type, handle, display_name, domain, note_iri, in_reply_to, content, revision, visibility, status, signed_at, withdrawn_at)
				VALUES (?, 'Person', 'h', 'n', 'd.example', ?, 'x', 'je signe', 1, 'public', ?, 1, ?)`,
				"https://d.example/u/"+string(rune('a'+i)), "https://d.example/n/"+string(rune('a'+i)), st.status, st.withdrawn)
		}
		n, err := signatureTotal(ctx, s)
		if err != nil || n != 2 {
			t.Fatalf("total = %d, %v; want 2 (withdrawn and hidden left out)", n, err)
		}
	})
}
