package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func TestRevisions(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		if _, err := s.CurrentRevision(ctx); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("empty store: current revision err = %v, want ErrNotFound", err)
		}
		first := time.Date(2020, 5, 3, 12, 0, 0, 0, time.UTC)
		if err := s.SeedRevision(ctx, storage.Revision{Title: "T1", Summary: "S", Markdown: "# T1", HTML: "<h1>T1</h1>", PublishedAt: first}); err != nil {
			t.Fatal(err)
		}
		// Seeding again is a no-op, not a second revision.
		if err := s.SeedRevision(ctx, storage.Revision{Title: "other", PublishedAt: first}); err != nil {
			t.Fatal(err)
		}
		n, err := storagetest.AddRevision(ctx, s, storage.Revision{Title: "T2", Summary: "S", Markdown: "# T2", HTML: "<h1>T2</h1>", Changelog: "typo"})
		if err != nil || n != 2 {
			t.Fatalf("AddRevision = %d, %v; want 2", n, err)
		}
		cur, err := s.CurrentRevision(ctx)
		if err != nil || cur.Number != 2 || cur.Title != "T2" || cur.Changelog != "typo" {
			t.Fatalf("current = %+v, %v", cur, err)
		}
		r1, err := s.Revision(ctx, 1)
		if err != nil || r1.Title != "T1" || !r1.PublishedAt.Equal(first) || r1.Markdown != "# T1" {
			t.Fatalf("revision 1 = %+v, %v", r1, err)
		}
		if _, err := s.Revision(ctx, 9); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("revision 9 err = %v", err)
		}
		if at, err := s.RevisionPublishedAt(ctx, 1); err != nil || !at.Equal(first) {
			t.Fatalf("revision 1 published at %v, %v; want %v", at, err, first)
		}
		if _, err := s.RevisionPublishedAt(ctx, 9); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("revision 9 published at: err = %v", err)
		}
		list, err := s.Revisions(ctx)
		if err != nil || len(list) != 2 || list[0].Number != 2 || list[1].Number != 1 {
			t.Fatalf("revisions = %+v, %v", list, err)
		}
	})
}

func TestConcurrentPublishersGetDistinctNumbers(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		nums := make(chan int, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := storagetest.AddRevision(ctx, s, storage.Revision{Title: "x", HTML: "x", Markdown: "x"})
				if err != nil {
					t.Error(err)
					return
				}
				nums <- n
			}()
		}
		wg.Wait()
		close(nums)
		seen := map[int]bool{}
		for n := range nums {
			if seen[n] {
				t.Fatalf("revision number %d given twice", n)
			}
			seen[n] = true
		}
		if len(seen) != 8 {
			t.Fatalf("got %d revisions, want 8", len(seen))
		}
	})
}

func TestImpulses(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		for _, imp := range []storage.Impulse{
			{Slug: "measure-1", Kind: "measure", Position: 1, Markdown: "m", HTML: "<p>m</p>", PublishedAt: now, UpdatedAt: now},
			{Slug: "lesson-2", Kind: "lesson", Position: 2, Markdown: "l2", HTML: "<p>l2</p>", PublishedAt: now, UpdatedAt: now},
			{Slug: "lesson-1", Kind: "lesson", Position: 1, Markdown: "l1", HTML: "<p>l1</p>", PublishedAt: now, UpdatedAt: now},
		} {
			if err := s.PutImpulse(ctx, imp); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.Impulses(ctx)
		if err != nil || len(list) != 3 || list[0].Slug != "lesson-1" || list[1].Slug != "lesson-2" || list[2].Slug != "measure-1" {
			t.Fatalf("impulses = %+v, %v", list, err)
		}
		if err := s.RetractImpulse(ctx, "lesson-2"); err != nil {
			t.Fatal(err)
		}
		if err := s.RetractImpulse(ctx, "lesson-2"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("second retract err = %v, want ErrNotFound", err)
		}
		imp, err := s.Impulse(ctx, "lesson-2")
		if err != nil || !imp.Retracted() || imp.RetractedAt.IsZero() {
			t.Fatalf("retracted impulse = %+v, %v", imp, err)
		}
	})
}

func TestCurrentRevisionNumber(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		if _, err := s.CurrentRevisionNumber(ctx); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("empty: err = %v, want ErrNotFound", err)
		}
		if err := s.SeedRevision(ctx, storage.Revision{Title: "T", Markdown: "# T", HTML: "<h1>T</h1>", PublishedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := storagetest.AddRevision(ctx, s, storage.Revision{Title: "T", Markdown: "# T", HTML: "<h1>T</h1>"}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CurrentRevisionNumber(ctx); err != nil || n != 2 {
			t.Fatalf("current number = %d, %v; want 2", n, err)
		}
	})
}
