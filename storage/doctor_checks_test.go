package storage_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// PendingMigrations is empty on a migrated database and names a migration whose record is gone; CheckWritable
// changes nothing.
func TestPendingMigrationsAndCheckWritable(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		pending, err := s.PendingMigrations(ctx)
		if err != nil || len(pending) != 0 {
			t.Fatalf("after Open: %v, %v; want none", pending, err)
		}
		if _, err := s.DB().ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = '0001_init'`); err != nil {
			t.Fatal(err)
		}
		pending, err = s.PendingMigrations(ctx)
		if err != nil || len(pending) != 1 || pending[0] != "0001_init" {
			t.Errorf("with 0001_init unrecorded: %v, %v", pending, err)
		}
		if err := s.CheckWritable(ctx); err != nil {
			t.Fatalf("CheckWritable: %v", err)
		}
		if _, err := s.Meta(ctx, "doctor_write_check"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("CheckWritable left a row behind: %v", err)
		}
	})
}

// OpenUnmigrated creates no schema: an empty database reports an error, not "nothing pending".
func TestOpenUnmigratedAppliesNothing(t *testing.T) {
	ctx := context.Background()
	s, err := storage.OpenUnmigrated(ctx, filepath.Join(t.TempDir(), "memo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if pending, err := s.PendingMigrations(ctx); err == nil {
		t.Errorf("empty database: pending %v and no error", pending)
	}
}

// The backlog counts pending and failed rows, the oldest pending, and pending rows overdue outside parked domains.
func TestDeliveryBacklog(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		if b, err := s.DeliveryBacklog(ctx, t0); err != nil || b != (storage.Backlog{}) {
			t.Fatalf("empty queue: %+v, %v", b, err)
		}
		enqueue(t, s, "https://memo.example/a/1", rcpt("a.example", 1), rcpt("down.example", 1), rcpt("gone.example", 1))
		got, err := s.ClaimDeliveries(ctx, storage.Claim{Now: t0, LeaseUntil: t0.Add(time.Minute), Owner: "w", Limit: 10, PerDomain: 1})
		if err != nil || len(got) != 3 {
			t.Fatalf("claim: %d, %v", len(got), err)
		}
		for _, d := range got {
			o := storage.Outcome{ID: d.ID, Owner: "w", Now: t0}
			if d.Domain == "gone.example" {
				_, err = s.MarkFailed(ctx, o)
			} else {
				_, err = s.MarkRetry(ctx, o, t0.Add(time.Minute))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.RecordDomainFailure(ctx, "down.example", "refused", t0, storage.DomainRule{MinFailures: 1, Probe: time.Hour}); err != nil {
			t.Fatal(err)
		}
		b, err := s.DeliveryBacklog(ctx, t0.Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		want := storage.Backlog{Pending: 2, Failed: 1, DueBefore: 1, OldestPending: t0}
		if b.Pending != want.Pending || b.Failed != want.Failed || b.DueBefore != want.DueBefore || !b.OldestPending.Equal(t0) {
			t.Errorf("backlog %+v, want %+v (down.example parked, so not overdue)", b, want)
		}
		if b, err := s.DeliveryBacklog(ctx, t0); err != nil || b.DueBefore != 0 {
			t.Errorf("nothing due before t0+1m: %+v, %v", b, err)
		}
	})
}
