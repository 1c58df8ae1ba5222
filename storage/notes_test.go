package storage_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func TestNotes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		n := storage.Note{
			Slug: "how-to-sign", Kind: storage.NoteHowToSign, Content: "<p>Répondez « je signe »</p>",
			To: []string{"https://www.w3.org/ns/activitystreams#Public"}, Cc: []string{"https://memo.example/users/memo/followers"},
			Tags: `[{"type":"Hashtag","name":"#Memo"}]`, Public: true, PublishedAt: when,
		}
		added, err := s.InsertNote(ctx, n)
		if err != nil || !added {
			t.Fatalf("first insert: added=%v err=%v", added, err)
		}
		n.Content = "changed"
		added, err = s.InsertNote(ctx, n)
		if err != nil || added {
			t.Fatalf("second insert with the same slug: added=%v err=%v, want false, nil", added, err)
		}
		got, err := s.NoteBySlug(ctx, "how-to-sign")
		if err != nil {
			t.Fatal(err)
		}
		if got.Content != "<p>Répondez « je signe »</p>" || got.Kind != storage.NoteHowToSign || !got.Public || !got.PublishedAt.Equal(when) || got.Deleted() {
			t.Fatalf("note = %+v", got)
		}
		if !reflect.DeepEqual(got.To, n.To) || !reflect.DeepEqual(got.Cc, n.Cc) || got.Tags != n.Tags {
			t.Fatalf("audience/tags = %v %v %s", got.To, got.Cc, got.Tags)
		}
		if _, err := s.NoteBySlug(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("unknown slug err = %v, want ErrNotFound", err)
		}
		if err := s.DeleteNote(ctx, "how-to-sign"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteNote(ctx, "how-to-sign"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("second delete err = %v, want ErrNotFound", err)
		}
		got, err = s.NoteBySlug(ctx, "how-to-sign")
		if err != nil || !got.Deleted() || got.DeletedAt.IsZero() {
			t.Fatalf("deleted note = %+v, %v", got, err)
		}
	})
}

func TestInsertNoteRefusesBadInput(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		if _, err := s.InsertNote(ctx, storage.Note{Kind: storage.NoteRevision}); err == nil {
			t.Fatal("a note without slug was stored")
		}
		if _, err := s.InsertNote(ctx, storage.Note{Slug: "x", Kind: storage.NoteRevision, Tags: "{not json"}); err == nil {
			t.Fatal("a note with invalid tags JSON was stored")
		}
		if _, err := s.NoteBySlug(ctx, "x"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("refused note is readable: %v", err)
		}
	})
}
