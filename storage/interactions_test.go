package storage_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func TestInteractionCountsAndReplies(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		memo := "https://memo.example/memo"
		c, err := s.InteractionCounts(ctx, memo)
		if err != nil || c != (storage.InteractionCounts{}) {
			t.Fatalf("empty counts = %+v, %v", c, err)
		}
		for i, row := range []struct{ iri, kind, object, note, vis string }{
			{"https://a.example/like/1", "like", memo, "", "public"},
			{"https://b.example/like/2", "like", memo, "", "public"},
			{"https://a.example/boost/1", "announce", memo, "", "public"},
			{"https://a.example/create/1", "reply", memo, "https://a.example/notes/1", "public"},
			{"https://b.example/create/2", "reply", memo, "https://b.example/notes/2", "unlisted"},
			{"https://c.example/create/3", "reply", memo, "https://c.example/notes/3", "direct"},
			{"https://a.example/like/9", "like", "https://memo.example/impulses/lesson-1", "", "public"},
		} {
			insertRows(t, s, `INSERT INTO interactions (activity_iri, kind, actor_iri, object_iri, note_iri, visibility, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				row.iri, row.kind, "https://x.example/users/x", row.object, row.note, row.vis, int64(1000+i))
		}
		c, err = s.InteractionCounts(ctx, memo)
		if err != nil || c != (storage.InteractionCounts{Replies: 2, Likes: 2, Shares: 1}) {
			t.Fatalf("counts = %+v, %v", c, err)
		}
		replies, err := s.ReplyIRIs(ctx, memo, 0, 10)
		if err != nil || !reflect.DeepEqual(replies, []string{"https://a.example/notes/1", "https://b.example/notes/2"}) {
			t.Fatalf("replies = %v, %v", replies, err)
		}
		replies, err = s.ReplyIRIs(ctx, memo, 1, 10)
		if err != nil || !reflect.DeepEqual(replies, []string{"https://b.example/notes/2"}) {
			t.Fatalf("replies from offset 1 = %v, %v", replies, err)
		}
	})
}
