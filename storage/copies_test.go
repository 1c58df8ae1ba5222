package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func TestCopiesRegistryAndBlock(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		copyA := "https://copy-a.example/users/memo"
		since := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		if err := s.AddCopy(ctx, storage.Copy{ActorIRI: copyA, Domain: "copy-a.example", Inbox: "https://copy-a.example/inbox", Since: since}); err != nil {
			t.Fatal(err)
		}
		// A second relay does not move "since".
		if err := s.AddCopy(ctx, storage.Copy{ActorIRI: copyA, Domain: "copy-a.example", Since: since.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		viaA := newSig(1, "Ada", "social.example", "public")
		viaA.ViaCopy = copyA
		mustSign(t, s, viaA)
		mustSign(t, s, newSig(2, "Bob", "social.example", "public"))

		list, err := s.Copies(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ActorIRI != copyA || !list[0].Since.Equal(since) || list[0].Signatures != 1 || list[0].Blocked {
			t.Fatalf("copies = %+v", list)
		}
		if b, err := s.CopyBlocked(ctx, copyA, "copy-a.example"); err != nil || b {
			t.Fatalf("blocked before block: %v %v", b, err)
		}

		copies, hidden, err := s.BlockCopies(ctx, "copy-a.example", true)
		if err != nil || copies != 1 || hidden != 1 {
			t.Fatalf("block = %d copies, %d signatures, %v", copies, hidden, err)
		}
		if b, err := s.CopyBlocked(ctx, copyA, "copy-a.example"); err != nil || !b {
			t.Fatalf("copy not blocked (err %v)", err)
		}
		mustCount(t, s, storage.SignatureCounts{Public: 1, Hidden: 1})
		got, err := s.CopyByActor(ctx, copyA)
		if err != nil {
			t.Fatal(err)
		}
		if got.Signatures != 0 || !got.Blocked {
			t.Fatalf("blocked copy = %+v", got)
		}

		if _, shown, err := s.BlockCopies(ctx, "copy-a.example", false); err != nil || shown != 1 {
			t.Fatalf("unblock: %d, %v", shown, err)
		}
		mustCount(t, s, storage.SignatureCounts{Public: 2})

		// A copy can be blocked before it ever relays.
		if _, _, err := s.BlockCopies(ctx, "copy-b.example", true); err != nil {
			t.Fatal(err)
		}
		if b, err := s.CopyBlocked(ctx, "https://copy-b.example/users/memo", "copy-b.example"); err != nil || !b {
			t.Fatalf("unknown copy blocked beforehand is not blocked (err %v)", err)
		}
		if _, err := s.CopyByActor(ctx, "https://nowhere.example/users/memo"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("unknown copy: %v", err)
		}
	})
}

func TestCopyRelayMarks(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		prefix := "https://copy.example/activities/relay-add-"
		own := mustSign(t, s, newSig(1, "Ada", "social.example", "public"))
		other := newSig(2, "Bob", "social.example", "public")
		other.ViaCopy = "https://elsewhere.example/users/memo" // brought by a copy: never relayed again
		mustSign(t, s, other)

		rows, err := s.SignaturesToRelay(ctx, false, 10)
		if err != nil || len(rows) != 1 || rows[0].ID != own.ID {
			t.Fatalf("to relay = %+v, %v", rows, err)
		}
		if n, err := s.UnconfirmedRelays(ctx, prefix); err != nil || n != 1 {
			t.Fatalf("unconfirmed before relay = %d, want 1 (err %v)", n, err)
		}
		relay := func(withdraw bool) bool {
			var ok bool
			err := s.InTx(ctx, func(tx *storage.Tx) error {
				var err error
				if ok, err = tx.MarkRelayed(ctx, own.ID, withdraw); err != nil || !ok {
					return err
				}
				iri := prefix + "1"
				if withdraw {
					iri = "https://copy.example/activities/relay-remove-1"
				}
				return tx.InsertActivity(ctx, storage.Activity{IRI: iri, Type: "Add", Body: "{}"},
					[]storage.Recipient{{Inbox: "https://origin.example/inbox", Domain: "origin.example"}})
			})
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !relay(false) || relay(false) {
			t.Fatal("a signature must be marked relayed exactly once")
		}
		if rows, err := s.SignaturesToRelay(ctx, false, 10); err != nil || len(rows) != 0 {
			t.Fatalf("still to relay: %+v (%v)", rows, err)
		}
		// Queued, not delivered: still unconfirmed.
		if n, err := s.UnconfirmedRelays(ctx, prefix); err != nil || n != 1 {
			t.Fatalf("unconfirmed while queued = %d, want 1 (err %v)", n, err)
		}
		if _, err := s.DB().ExecContext(ctx, `UPDATE deliveries SET state = 'delivered'`); err != nil {
			t.Fatal(err)
		}
		if n, err := s.UnconfirmedRelays(ctx, prefix); err != nil || n != 0 {
			t.Fatalf("unconfirmed once delivered = %d (%v), want 0", n, err)
		}

		if rows, err := s.SignaturesToRelay(ctx, true, 10); err != nil || len(rows) != 0 {
			t.Fatalf("withdrawals before any: %+v (%v)", rows, err)
		}
		if _, err := s.WithdrawSignature(ctx, own.ActorIRI, own.NoteIRI); err != nil {
			t.Fatal(err)
		}
		if rows, err := s.SignaturesToRelay(ctx, true, 10); err != nil || len(rows) != 1 {
			t.Fatalf("withdrawals to relay = %+v (err %v)", rows, err)
		}
		if !relay(true) || relay(true) {
			t.Fatal("a withdrawal must be marked relayed exactly once")
		}
		if rows, err := s.SignaturesToRelay(ctx, true, 10); err != nil || len(rows) != 0 {
			t.Fatalf("withdrawals still to relay: %+v (%v)", rows, err)
		}
	})
}

func TestImportRevisionReplacesByNumber(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		if _, err := storagetest.AddRevision(ctx, s, storage.Revision{Title: "Seeded", Summary: "s", Markdown: "# Seeded", HTML: "<h1>Seeded</h1>", PublishedAt: at}); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 2} {
			if err := s.ImportRevision(ctx, storage.Revision{Number: n, Title: "Origin", Summary: "o", Markdown: "# Origin", HTML: "<h1>Origin</h1>", PublishedAt: at.Add(time.Duration(n) * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		r1, err := s.Revision(ctx, 1)
		if err != nil || r1.Title != "Origin" || !r1.PublishedAt.Equal(at.Add(time.Hour)) {
			t.Fatalf("revision 1 = %+v, %v", r1, err)
		}
		cur, err := s.CurrentRevision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Number != 2 {
			t.Fatalf("current = %d", cur.Number)
		}
		if err := s.ImportRevision(ctx, storage.Revision{Number: 0}); err == nil {
			t.Fatal("revision 0 imported")
		}
		if v, err := s.LatestFromActor(ctx, "https://origin.example/users/memo"); err != nil || v != 0 {
			t.Fatalf("latest from nobody = %d (%v)", v, err)
		}
	})
}

func TestHasPendingFollow(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		actor := "https://copy.example/users/memo"
		if p, err := s.HasPendingFollow(ctx, actor); err != nil || p {
			t.Fatalf("pending before any: %v %v", p, err)
		}
		if _, err := s.InsertInboxActivity(ctx, storage.InboxActivity{IRI: "https://copy.example/f/1", Type: "Follow", ActorIRI: actor, Body: "{}"}); err != nil {
			t.Fatal(err)
		}
		if p, err := s.HasPendingFollow(ctx, actor); err != nil || !p {
			t.Fatalf("a stored, unprocessed Follow is not pending (err %v)", err)
		}
		err := s.InTx(ctx, func(tx *storage.Tx) error {
			if _, err := tx.ClaimInboxActivity(ctx, "https://copy.example/f/1"); err != nil {
				return err
			}
			return tx.SetInboxResult(ctx, "https://copy.example/f/1", "follower added")
		})
		if err != nil {
			t.Fatal(err)
		}
		if p, err := s.HasPendingFollow(ctx, actor); err != nil || p {
			t.Fatalf("a processed Follow is still pending (%v)", err)
		}
	})
}
