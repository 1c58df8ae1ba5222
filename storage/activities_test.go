package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func TestOutboxPageAfterAndObjectCount(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, iri := range []string{"a1", "a2", "a3", "a4"} {
			if err := s.InsertActivity(ctx, storage.Activity{IRI: "https://memo.example/activities/" + iri, Type: "Create", Body: "{}", InOutbox: true, PublishedAt: when}, nil); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.OutboxPage(ctx, 0, 10)
		if err != nil || len(all) != 4 {
			t.Fatalf("outbox = %v, %v", all, err)
		}
		oldest := all[3].ID
		newer, err := s.OutboxPageAfter(ctx, oldest, 2)
		if err != nil || len(newer) != 2 {
			t.Fatalf("after = %+v, %v", newer, err)
		}
		// The two activities just newer than the oldest, listed newest first like every outbox page.
		if newer[0].IRI != "https://memo.example/activities/a3" || newer[1].IRI != "https://memo.example/activities/a2" || !newer[0].PublishedAt.Equal(when) {
			t.Fatalf("after = %s, %s", newer[0].IRI, newer[1].IRI)
		}

		n, err := s.PublishedObjectCount(ctx)
		if err != nil || n != 0 {
			t.Fatalf("empty object count = %d, %v", n, err)
		}
		if err := s.SeedRevision(ctx, storage.Revision{Title: "T", Summary: "S", Markdown: "# T", HTML: "<h1>T</h1>", PublishedAt: when}); err != nil {
			t.Fatal(err)
		}
		for _, slug := range []string{"lesson-1", "lesson-2"} {
			if err := s.PutImpulse(ctx, storage.Impulse{Slug: slug, Kind: "lesson", Position: 1, Markdown: "m", HTML: "h", PublishedAt: when, UpdatedAt: when}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RetractImpulse(ctx, "lesson-2"); err != nil {
			t.Fatal(err)
		}
		for _, n := range []storage.Note{{Slug: "pub", Kind: storage.NoteHowToSign, Public: true}, {Slug: "dm", Kind: storage.NoteAcknowledgement, Public: false}} {
			if _, err := s.InsertNote(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		n, err = s.PublishedObjectCount(ctx)
		if err != nil || n != 3 {
			t.Fatalf("object count = %d, %v; want memo + 1 impulse + 1 public note", n, err)
		}
	})
}
