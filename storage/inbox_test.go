package storage_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func TestInboxActivitiesAreIdempotentAndClaimedOnce(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		a := storage.InboxActivity{IRI: "https://a.example/1", Type: "Like", ActorIRI: "https://a.example/u", Body: "{}"}
		if isNew, err := s.InsertInboxActivity(ctx, a); err != nil || !isNew {
			t.Fatalf("first insert: %v %v", isNew, err)
		}
		if isNew, err := s.InsertInboxActivity(ctx, a); err != nil || isNew {
			t.Fatalf("replay: %v %v", isNew, err)
		}
		pending, err := s.PendingInboxActivities(ctx, 10)
		if err != nil || len(pending) != 1 {
			t.Fatalf("pending: %v %v", pending, err)
		}
		// Eight workers race for the row; exactly one gets it.
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.InTx(ctx, func(tx *storage.Tx) error {
					ok, err := tx.ClaimInboxActivity(ctx, a.IRI)
					if ok {
						won.Add(1)
						return tx.SetInboxResult(ctx, a.IRI, "done")
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Errorf("%d workers claimed the row, want 1", won.Load())
		}
		got, err := s.InboxActivity(ctx, a.IRI)
		if err != nil || got.Result != "done" || !got.ProcessedMS.Valid {
			t.Errorf("row = %+v, %v", got, err)
		}
		if pending, err := s.PendingInboxActivities(ctx, 10); err != nil || len(pending) != 0 {
			t.Errorf("still pending: %v (%v)", pending, err)
		}
	})
}

func TestFollowersPages(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		// Seven followers, three of them at the same millisecond, so the tie-break on actor_iri is exercised.
		at := []int{0, 1, 2, 2, 2, 3, 4}
		err := s.InTx(ctx, func(tx *storage.Tx) error {
			for i, m := range at {
				f := storage.Follower{ActorIRI: "https://f.example/u/" + string(rune('a'+i)), FollowIRI: "f", Inbox: "https://f.example/inbox", Domain: "f.example", CreatedAt: base.Add(time.Duration(m) * time.Millisecond)}
				if err := tx.AddFollower(ctx, f); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.FollowersCount(ctx); err != nil || n != 7 {
			t.Fatalf("count: %d %v", n, err)
		}
		var seen []string
		after := ""
		for {
			page, err := s.FollowersPage(ctx, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, f := range page {
				seen = append(seen, f.ActorIRI)
			}
			after = page[len(page)-1].Cursor()
		}
		want := []string{"g", "f", "e", "d", "c", "b", "a"}
		if len(seen) != len(want) {
			t.Fatalf("pages gave %v", seen)
		}
		for i, w := range want {
			if seen[i] != "https://f.example/u/"+w {
				t.Errorf("item %d = %s, want …/%s", i, seen[i], w)
			}
		}
		if _, err := s.FollowersPage(ctx, "nonsense", 2); err == nil {
			t.Error("bad cursor accepted")
		}
		// Following again keeps the place and records the new Follow id; an Undo naming the old id does nothing.
		err = s.InTx(ctx, func(tx *storage.Tx) error {
			if err := tx.AddFollower(ctx, storage.Follower{ActorIRI: "https://f.example/u/a", FollowIRI: "f2", Inbox: "https://f.example/inbox", Domain: "f.example"}); err != nil {
				return err
			}
			if gone, err := tx.RemoveFollower(ctx, "https://f.example/u/a", "f"); err != nil || gone {
				t.Errorf("undo of the old follow removed: %v %v", gone, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		f, err := s.Follower(ctx, "https://f.example/u/a")
		if err != nil || f.FollowIRI != "f2" || !f.CreatedAt.Equal(base) {
			t.Errorf("follower a = %+v, %v", f, err)
		}
	})
}

func TestInteractionsAndActors(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		obj := "https://memo.example/memo"
		err := s.InTx(ctx, func(tx *storage.Tx) error {
			for _, i := range []storage.Interaction{
				{ActivityIRI: "https://a.example/l1", Kind: storage.KindLike, ActorIRI: "https://a.example/u", ObjectIRI: obj},
				{ActivityIRI: "https://a.example/l1", Kind: storage.KindLike, ActorIRI: "https://a.example/u", ObjectIRI: obj},
				{ActivityIRI: "https://b.example/b1", Kind: storage.KindAnnounce, ActorIRI: "https://b.example/u", ObjectIRI: obj},
				{ActivityIRI: "https://b.example/c1", Kind: storage.KindReply, ActorIRI: "https://b.example/u", ObjectIRI: obj, NoteIRI: "https://b.example/n1"},
			} {
				if _, err := tx.AddInteraction(ctx, i); err != nil {
					return err
				}
			}
			// Someone else cannot remove a's like.
			if gone, err := tx.RemoveInteraction(ctx, "https://a.example/l1", "https://b.example/u", storage.KindLike); err != nil || gone {
				t.Errorf("removed by another actor: %v %v", gone, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for kind, want := range map[string]int{storage.KindLike: 1, storage.KindAnnounce: 1, storage.KindReply: 1} {
			if n, err := storagetest.CountInteractions(ctx, s, obj, kind); err != nil || n != want {
				t.Errorf("%s: %d %v", kind, n, err)
			}
		}
		page, err := s.InteractionsPage(ctx, obj, storage.KindLike, "", 10)
		if err != nil || len(page) != 1 {
			t.Errorf("page: %v %v", page, err)
		}
		if next, err := s.InteractionsPage(ctx, obj, storage.KindLike, page[0].ActivityIRI, 10); err != nil || len(next) != 0 {
			t.Errorf("page after the last: %v %v", next, err)
		}

		// An actor's deletion removes its follow and its interactions, and drops its key.
		b := storage.RemoteActor{IRI: "https://b.example/u", Type: "Person", Domain: "b.example", Inbox: "https://b.example/u/inbox", KeyID: "https://b.example/u#main-key", PublicKeyPEM: "pem"}
		if err := s.PutActor(ctx, b); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ActorByKeyID(ctx, b.KeyID); err != nil || got.IRI != b.IRI {
			t.Fatalf("by key: %+v %v", got, err)
		}
		err = s.InTx(ctx, func(tx *storage.Tx) error {
			if err := tx.AddFollower(ctx, storage.Follower{ActorIRI: b.IRI, FollowIRI: "f", Inbox: b.Inbox, Domain: b.Domain}); err != nil {
				return err
			}
			return tx.MarkActorDeleted(ctx, b.IRI)
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Actor(ctx, b.IRI)
		if err != nil || !got.Deleted() || got.PublicKeyPEM != "" {
			t.Errorf("deleted actor = %+v %v", got, err)
		}
		if _, err := s.Follower(ctx, b.IRI); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("follower kept: %v", err)
		}
		if n, err := storagetest.CountInteractions(ctx, s, obj, storage.KindAnnounce); err != nil || n != 0 {
			t.Errorf("announces of the deleted actor: %d (%v)", n, err)
		}
		// Fetched again later (the account came back): the mark goes.
		if err := s.PutActor(ctx, b); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Actor(ctx, b.IRI); err != nil || got.Deleted() {
			t.Errorf("still marked deleted after a fresh fetch (%v)", err)
		}
	})
}

func TestBlocksAndRefusals(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		if _, err := s.BlockAndHide(ctx, storage.BlockDomain, "Spam.Example", "spam"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BlockAndHide(ctx, storage.BlockActor, "https://ok.example/users/troll", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BlockAndHide(ctx, storage.BlockDomain, "127.0.0.1:8080", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BlockAndHide(ctx, "nonsense", "x", ""); err == nil {
			t.Error("unknown kind accepted")
		}
		cases := []struct {
			actor, domain string
			want          bool
		}{
			{"https://spam.example/u", "spam.example", true},
			{"https://a.b.spam.example/u", "a.b.spam.example", true},
			{"https://spam.example:8443/u", "spam.example:8443", true},
			{"https://notspam.example/u", "notspam.example", false},
			{"https://ok.example/users/troll", "ok.example", true},
			{"https://ok.example/users/nice", "ok.example", false},
			{"http://127.0.0.1:8080/u", "127.0.0.1:8080", true},
			{"http://127.0.0.1:8081/u", "127.0.0.1:8081", false},
		}
		for _, c := range cases {
			if got, err := s.IsBlocked(ctx, c.actor, c.domain); err != nil || got != c.want {
				t.Errorf("IsBlocked(%s, %s) = %v %v, want %v", c.actor, c.domain, got, err, c.want)
			}
		}
		if _, err := s.Unblock(ctx, storage.BlockDomain, "SPAM.example"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.IsBlocked(ctx, "https://spam.example/u", "spam.example"); err != nil || got {
			t.Errorf("still blocked after Unblock (%v)", err)
		}

		if err := s.AddRefusal(ctx, storage.Refusal{RemoteAddr: "192.0.2.1:5", Status: 401, Reason: "unsigned"}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddRefusal(ctx, storage.Refusal{RemoteAddr: "192.0.2.1:5", Status: 403, Reason: "blocked", ActorIRI: "a"}); err != nil {
			t.Fatal(err)
		}
		r, err := s.Refusals(ctx, 10)
		if err != nil || len(r) != 2 || r[0].Reason != "blocked" || r[1].Status != 401 {
			t.Errorf("refusals: %+v %v", r, err)
		}
	})
}
