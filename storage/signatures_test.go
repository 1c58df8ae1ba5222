package storage_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// newSig builds a signature of actor n on domain, public unless vis says otherwise.
func newSig(n int, name, domain, vis string) storage.Signature {
	return storage.Signature{
		ActorIRI: fmt.Sprintf("https://%s/users/u%d", domain, n), ActorType: "Person",
		Handle: fmt.Sprintf("@u%d@%s", n, domain), DisplayName: name, Domain: domain,
		ProfileURL: fmt.Sprintf("https://%s/@u%d", domain, n), NoteIRI: fmt.Sprintf("https://%s/notes/%d", domain, n),
		InReplyTo: "https://memo.example/memo", Content: "je signe", Revision: 1, Visibility: vis,
		Evidence: `{"kind":"inbox"}`, SignedAt: time.Date(2026, 1, 1, 0, 0, n, 0, time.UTC),
	}
}

func mustSign(t *testing.T, s *storage.Store, g storage.Signature) storage.Signature {
	t.Helper()
	got, err := s.AddSignature(context.Background(), g)
	if err != nil {
		t.Fatalf("sign %s: %v", g.ActorIRI, err)
	}
	return got
}

func mustCount(t *testing.T, s *storage.Store, want storage.SignatureCounts) {
	t.Helper()
	got, err := s.CountSignatures(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("counts = %+v, want %+v", got, want)
	}
	tally, err := s.CountSignatures(context.Background())
	if err != nil || tally.Public != want.Public || tally.Total() != want.Total() {
		t.Fatalf("the pages' tally %+v (%v) disagrees with counts %+v", tally, err, want)
	}
}

func TestSignOnceWithdrawSignAgain(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		clock := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return clock })

		first := mustSign(t, s, newSig(1, "Ana", "a.example", "public"))
		if first.ID == 0 || !first.Standing() || !first.Listed() || first.Evidence == "" || !first.SignedAt.Equal(time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)) {
			t.Fatalf("first signature = %+v", first)
		}
		other := mustSign(t, s, newSig(2, "Ben", "b.example", "followers"))
		mustCount(t, s, storage.SignatureCounts{Public: 1, Private: 1})

		// A second reply from the same actor is a comment: the first signature and its number stay.
		second := newSig(1, "Ana", "a.example", "public")
		second.NoteIRI, second.Content = "https://a.example/notes/99", "je signe encore"
		if _, err := s.AddSignature(ctx, second); !errors.Is(err, storage.ErrAlreadySigned) {
			t.Fatalf("second signature: err = %v, want ErrAlreadySigned", err)
		}
		if g, err := s.SignatureByID(ctx, first.ID); err != nil || g.NoteIRI != first.NoteIRI || g.Content != "je signe" {
			t.Fatalf("second reply changed the signature: %+v (err %v)", g, err)
		}

		// Withdrawal needs the right author and note.
		if _, err := s.WithdrawSignature(ctx, "https://a.example/users/u2", first.NoteIRI); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("withdraw by another actor: err = %v", err)
		}
		if _, err := s.WithdrawSignature(ctx, first.ActorIRI, second.NoteIRI); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("withdraw by a comment's IRI: err = %v", err)
		}
		w, err := s.WithdrawSignature(ctx, first.ActorIRI, first.NoteIRI)
		if err != nil || w.Standing() || !w.WithdrawnAt.Equal(clock) {
			t.Fatalf("withdraw = %+v, %v", w, err)
		}
		if _, err := s.WithdrawSignature(ctx, first.ActorIRI, first.NoteIRI); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("second withdrawal: err = %v, want ErrNotFound", err)
		}
		mustCount(t, s, storage.SignatureCounts{Public: 0, Private: 1, Withdrawn: 1})

		// Signing again re-activates the row with the new reply and keeps the number.
		again := newSig(1, "Ana B.", "a.example", "unlisted")
		again.NoteIRI, again.Revision, again.Content = "https://a.example/notes/100", 2, "je re-signe"
		back := mustSign(t, s, again)
		if back.ID != first.ID || !back.Standing() || back.NoteIRI != again.NoteIRI || back.Revision != 2 || back.DisplayName != "Ana B." || back.Visibility != "unlisted" {
			t.Fatalf("signed again = %+v, want id %d with the new reply", back, first.ID)
		}
		mustCount(t, s, storage.SignatureCounts{Public: 1, Private: 1})
		if found, err := s.SignatureByNote(ctx, again.NoteIRI); err != nil || found.ID != first.ID {
			t.Fatalf("by note = %+v, %v", found, err)
		}

		// Erasing (actor deleted) removes the row; the actor may sign anew later with a new number.
		if ok, err := s.EraseSignature(ctx, other.ActorIRI); !ok || err != nil {
			t.Fatalf("erase = %v, %v", ok, err)
		}
		if ok, err := s.EraseSignature(ctx, other.ActorIRI); ok || err != nil {
			t.Fatalf("erase twice = %v, %v", ok, err)
		}
		if _, err := storagetest.SignatureByActor(ctx, s, other.ActorIRI); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("erased row still there: %v", err)
		}
		mustCount(t, s, storage.SignatureCounts{Public: 1})
	})
}

func TestSignatureHideShowAndBadInput(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		g := mustSign(t, s, newSig(1, "Ana", "a.example", "public"))
		if err := s.SetSignatureHidden(ctx, g.ID, true); err != nil {
			t.Fatal(err)
		}
		mustCount(t, s, storage.SignatureCounts{Hidden: 1})
		// A hidden signer who replies again is still refused a second signature.
		again := newSig(1, "Ana", "a.example", "public")
		again.NoteIRI = "https://a.example/notes/2"
		if _, err := s.AddSignature(ctx, again); !errors.Is(err, storage.ErrAlreadySigned) {
			t.Fatalf("hidden signer signing again: err = %v", err)
		}
		// Withdrawn while hidden, then signing again: the row stays hidden (moderation is not undone by re-signing).
		if _, err := s.WithdrawSignature(ctx, g.ActorIRI, g.NoteIRI); err != nil {
			t.Fatal(err)
		}
		if back := mustSign(t, s, again); back.Status != storage.SignatureHidden || back.ID != g.ID {
			t.Fatalf("re-signed hidden row = %+v", back)
		}
		if err := s.SetSignatureHidden(ctx, g.ID, false); err != nil {
			t.Fatal(err)
		}
		mustCount(t, s, storage.SignatureCounts{Public: 1})
		if err := s.SetSignatureHidden(ctx, 9999, true); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("hide unknown: err = %v", err)
		}
		if _, err := s.SignatureByID(ctx, 9999); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("get unknown: err = %v", err)
		}
		for name, bad := range map[string]storage.Signature{
			"no actor":       func() storage.Signature { b := newSig(5, "X", "x.example", "public"); b.ActorIRI = ""; return b }(),
			"bad visibility": newSig(6, "X", "x.example", "everyone"),
			"no revision":    func() storage.Signature { b := newSig(7, "X", "x.example", "public"); b.Revision = 0; return b }(),
		} {
			if _, err := s.AddSignature(ctx, bad); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		mustCount(t, s, storage.SignatureCounts{Public: 1})
	})
}

func ids(gs []storage.Signature) string {
	var b []string
	for _, g := range gs {
		b = append(b, fmt.Sprint(g.ID))
	}
	return strings.Join(b, ",")
}

func TestSignaturePagesAndSearch(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		names := []string{"Zoé Dupont", "Ben", "Chloé", "Dan", "Éloïse", "Fred", "Gus", "Hana", "Ivo", "Jo"}
		for i, name := range names {
			domain := "mastodon.example"
			if i%3 == 0 {
				domain = "Pleroma.Example"
			}
			vis := "public"
			if i == 4 {
				vis = "direct" // Éloïse, id 5: private, never listed
			}
			g := newSig(i+1, name, strings.ToLower(domain), vis)
			mustSign(t, s, g)
		}
		if err := s.SetSignatureHidden(ctx, 7, true); err != nil { // Gus
			t.Fatal(err)
		}
		if _, err := s.WithdrawSignature(ctx, "https://mastodon.example/users/u8", "https://mastodon.example/notes/8"); err != nil { // Hana
			t.Fatal(err)
		}

		page, err := s.Signatures(ctx, storage.SignatureFilter{Limit: 3})
		if err != nil || ids(page) != "10,9,6" {
			t.Fatalf("first page = %s, %v; want 10,9,6", ids(page), err)
		}
		page, err = s.Signatures(ctx, storage.SignatureFilter{Limit: 3, Before: 6})
		if err != nil {
			t.Fatal(err)
		}
		if ids(page) != "4,3,2" {
			t.Fatalf("second page = %s, want 4,3,2", ids(page))
		}
		page, err = s.Signatures(ctx, storage.SignatureFilter{Limit: 3, Before: 2})
		if err != nil {
			t.Fatal(err)
		}
		if ids(page) != "1" {
			t.Fatalf("last page = %s, want 1", ids(page))
		}
		page, err = s.Signatures(ctx, storage.SignatureFilter{Limit: 3, Before: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 0 {
			t.Fatalf("past the end = %s, want nothing", ids(page))
		}
		page, err = s.Signatures(ctx, storage.SignatureFilter{Limit: 3, After: 1})
		if err != nil {
			t.Fatal(err)
		}
		if ids(page) != "4,3,2" {
			t.Fatalf("page back from 1 = %s, want 4,3,2 (still newest first)", ids(page))
		}
		if page[0].Evidence != "" {
			t.Fatal("lists must not carry the evidence")
		}
		all, err := s.Signatures(ctx, storage.SignatureFilter{Limit: 100, IncludePrivate: true, IncludeInactive: true})
		if err != nil {
			t.Fatal(err)
		}
		if ids(all) != "10,9,8,7,6,5,4,3,2,1" {
			t.Fatalf("moderator list = %s", ids(all))
		}
		priv, err := s.Signatures(ctx, storage.SignatureFilter{Limit: 100, IncludePrivate: true})
		if err != nil {
			t.Fatal(err)
		}
		if ids(priv) != "10,9,6,5,4,3,2,1" {
			t.Fatalf("standing incl. private = %s", ids(priv))
		}

		for q, want := range map[string]string{
			"chloe":   "3",      // accents ignored
			"CHLOÉ":   "3",      // case too
			"pleroma": "10,4,1", // instance; Gus (7) is hidden
			"@u2@":    "2",      // handle
			"eloise":  "",       // private: never found by name
			"zz%":     "",       // % is literal
			"fred":    "6",
			"ivo jo":  "", // every word must match: no one is both Ivo and Jo
		} {
			got, err := s.Signatures(ctx, storage.SignatureFilter{Limit: 100, Search: q})
			if err != nil {
				t.Fatal(err)
			}
			if ids(got) != want {
				t.Errorf("search %q = %s, want %s", q, ids(got), want)
			}
		}
		per, err := s.SignaturesPerInstance(ctx, 10)
		if err != nil || len(per) != 2 || per[0] != (storage.InstanceCount{Domain: "mastodon.example", Count: 4}) || per[1] != (storage.InstanceCount{Domain: "pleroma.example", Count: 3}) {
			t.Fatalf("per instance = %+v, %v", per, err)
		}

		var exported []int64
		err = s.EachSignature(ctx, storage.SignatureFilter{IncludeEvidence: true, OldestFirstOrder: true}, func(g storage.Signature) error {
			if g.Evidence == "" {
				return errors.New("evidence missing")
			}
			exported = append(exported, g.ID)
			return nil
		})
		if err != nil || fmt.Sprint(exported) != "[1 2 3 4 6 9 10]" {
			t.Fatalf("export = %v, %v", exported, err)
		}
		stop := errors.New("stop")
		if err := s.EachSignature(ctx, storage.SignatureFilter{}, func(storage.Signature) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("export stop: err = %v", err)
		}
	})
}
