package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func addFollowers(t *testing.T, s *storage.Store, actors map[string]string) {
	t.Helper()
	err := s.InTx(context.Background(), func(tx *storage.Tx) error {
		for iri, domain := range actors {
			if err := tx.AddFollower(context.Background(), storage.Follower{ActorIRI: iri, FollowIRI: iri + "#follow", Inbox: iri + "/inbox", Domain: domain}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBlockHidesAndUnfollows(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		mustSign(t, s, newSig(1, "Ana", "a.example", "public"))
		mustSign(t, s, newSig(2, "Spam", "spam.example", "public"))
		mustSign(t, s, newSig(3, "Spam too", "eu.spam.example", "followers"))
		mustSign(t, s, newSig(4, "Not spam", "notspam.example", "public"))
		addFollowers(t, s, map[string]string{
			"https://a.example/users/u1": "a.example", "https://spam.example/users/u2": "spam.example",
			"https://eu.spam.example/users/u3": "eu.spam.example", "https://notspam.example/users/u4": "notspam.example",
		})

		eff, err := s.BlockAndHide(ctx, storage.BlockDomain, "Spam.Example", "spam wave")
		if err != nil {
			t.Fatal(err)
		}
		if eff.SignaturesHidden != 2 || eff.FollowersRemoved != 2 || eff.AlreadyBlocked {
			t.Fatalf("domain block effect = %+v; want 2 hidden, 2 unfollowed (subdomain included, notspam.example spared)", eff)
		}
		mustCount(t, s, storage.SignatureCounts{Public: 2, Hidden: 2})
		if n, err := s.FollowersCount(ctx); err != nil || n != 2 {
			t.Fatalf("followers left = %d, want 2 (err %v)", n, err)
		}
		blocked, err := s.IsBlocked(ctx, "https://eu.spam.example/users/u9", "eu.spam.example")
		if err != nil || !blocked {
			t.Fatalf("inbox check after the block = %v, %v", blocked, err)
		}
		if eff, err := s.BlockAndHide(ctx, storage.BlockDomain, "spam.example", ""); err != nil || !eff.AlreadyBlocked {
			t.Fatalf("blocking twice not reported (err %v)", err)
		}

		eff, err = s.BlockAndHide(ctx, storage.BlockActor, "https://a.example/users/u1", "")
		if err != nil || eff.SignaturesHidden != 1 || eff.FollowersRemoved != 1 {
			t.Fatalf("actor block = %+v, %v", eff, err)
		}
		mustCount(t, s, storage.SignatureCounts{Public: 1, Hidden: 3})

		blocks, err := s.Blocks(ctx)
		if err != nil || len(blocks) != 2 {
			t.Fatalf("blocks = %+v, %v", blocks, err)
		}
		if ok, err := s.Unblock(ctx, storage.BlockDomain, "SPAM.example"); !ok || err != nil {
			t.Fatalf("unblock = %v, %v", ok, err)
		}
		if ok, err := s.Unblock(ctx, storage.BlockDomain, "spam.example"); err != nil || ok {
			t.Fatalf("unblocking twice reported a block (%v)", err)
		}
		if blocked, err := s.IsBlocked(ctx, "https://spam.example/users/u2", "spam.example"); err != nil || blocked {
			t.Fatalf("still blocked after unblock (%v)", err)
		}
		// Unblocking leaves the hidden signatures hidden.
		mustCount(t, s, storage.SignatureCounts{Public: 1, Hidden: 3})

		for kind, bad := range map[string]string{storage.BlockActor: "javascript:alert(1)", storage.BlockDomain: "https://x.example/", "user": "x"} {
			if _, err := s.BlockAndHide(ctx, kind, bad, ""); err == nil {
				t.Errorf("block %s %q accepted", kind, bad)
			}
		}
		if blocks, err := s.Blocks(ctx); err != nil || len(blocks) != 1 {
			t.Fatalf("bad blocks were stored: %+v (err %v)", blocks, err)
		}
	})
}

// A block made while a transaction that checked the blocks is still open waits for it to commit, and then hides
// what it recorded: an activity applied as the moderator blocks its author leaves no standing signature. Without
// the wait (PostgreSQL under READ COMMITTED), the block would commit first and the signature recorded after it
// would stand.
func TestBlockWaitsForChecksUnderWay(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		g := newSig(1, "Troll", "troll.example", "public")
		checked, blockDone := make(chan struct{}), make(chan error, 1)
		go func() {
			<-checked
			_, err := s.BlockAndHide(ctx, storage.BlockActor, g.ActorIRI, "spam")
			blockDone <- err
		}()
		err := s.InTx(ctx, func(tx *storage.Tx) error {
			blocked, err := tx.IsBlocked(ctx, g.ActorIRI, g.Domain)
			if err != nil || blocked {
				t.Errorf("IsBlocked = %v, %v before the block", blocked, err)
			}
			close(checked)
			time.Sleep(300 * time.Millisecond) // the block starts meanwhile
			_, err = tx.AddSignature(ctx, g)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-blockDone; err != nil {
			t.Fatal(err)
		}
		got, err := storagetest.SignatureByActor(ctx, s, g.ActorIRI)
		if err != nil {
			t.Fatal(err)
		}
		if got.Standing() {
			t.Errorf("the signature recorded as the block was made stands: %+v", got)
		}
	})
}

// BlockMadeSince tells of blocks made after an activity's reception, less a minute: the reception refused what
// the blocks made before it cover. A failed savepoint does not leave the transaction without the blocks' lock.
func TestBlockMadeSince(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return t0 })
		err := s.InTx(ctx, func(tx *storage.Tx) error {
			recent, err := tx.BlockMadeSince(ctx, t0.Add(-time.Hour))
			if err != nil || recent {
				t.Errorf("BlockMadeSince without any block = %v, %v", recent, err)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.BlockAndHide(ctx, storage.BlockActor, "https://troll.example/users/troll", "spam"); err != nil {
			t.Fatal(err)
		}
		err = s.InTx(ctx, func(tx *storage.Tx) error {
			if _, err := tx.Savepoint(ctx, func() error {
				if _, err := tx.BlockMadeSince(ctx, t0); err != nil {
					return err
				}
				return errors.New("this activity fails")
			}); err != nil {
				return err
			}
			for received, want := range map[time.Time]bool{
				t0.Add(-time.Hour):       true,  // received before the block
				t0.Add(30 * time.Second): true,  // within the clocks' slack
				t0.Add(2 * time.Minute):  false, // its reception saw the block
			} {
				got, err := tx.BlockMadeSince(ctx, received)
				if err != nil {
					return err
				}
				if got != want {
					t.Errorf("BlockMadeSince(%s) = %v, want %v", received.Format(time.TimeOnly), got, want)
				}
			}
			if s.DB().DriverName() == "pgx" {
				// Read from another connection: the shared lock this transaction holds, taken again after the
				// savepoint that first took it was rolled back (tests of other packages may hold it too).
				var held int
				if err := s.DB().Get(&held, `SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 727276 AND mode = 'ShareLock' AND granted`); err != nil {
					return err
				}
				if held < 1 {
					t.Errorf("%d shared locks of the blocks held, want this transaction's", held)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
