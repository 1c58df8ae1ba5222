package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestArticleState: the one-query state of the memo says what the separate reads say, before and after a
// revision, likes, a signature and the copy setting.
func TestArticleState(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		const memo = "https://memo.example/memo"
		if _, err := s.ArticleState(ctx, memo); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("before the first revision: %v, want ErrNotFound", err)
		}
		check := func(when string) {
			t.Helper()
			got, err := s.ArticleState(ctx, memo)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			var want storage.ArticleState
			var errs [4]error
			want.Revision, errs[0] = s.CurrentRevisionNumber(ctx)
			var counts storage.SignatureCounts
			counts, errs[1] = s.CountSignatures(ctx)
			want.Signatures = counts.Total()
			want.Counts, errs[2] = s.InteractionCounts(ctx, memo)
			want.CopyOf, errs[3] = s.Meta(ctx, storage.MetaCopyOf)
			for _, err := range errs {
				if err != nil && !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("%s: separate read: %v", when, err)
				}
			}
			if got != want {
				t.Errorf("%s: ArticleState = %+v, the separate reads say %+v", when, got, want)
			}
		}
		for range 2 {
			if _, err := storagetest.AddRevision(ctx, s, storage.Revision{Title: "M", Summary: "s", Markdown: "m", HTML: "<p>m</p>"}); err != nil {
				t.Fatal(err)
			}
		}
		check("two revisions")
		for _, id := range []string{"https://a.example/likes/1", "https://a.example/likes/2"} {
			err := s.InTx(ctx, func(tx *storage.Tx) error {
				_, err := tx.AddInteraction(ctx, storage.Interaction{ActivityIRI: id, Kind: storage.KindLike, ActorIRI: "https://a.example/users/" + id[len(id)-1:], ObjectIRI: memo, Visibility: "public"})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		addSignature(t, s, 1, "Alice", "a.example", "public", "active")
		if err := s.SetMeta(ctx, storage.MetaCopyOf, "https://origin.example/users/memo"); err != nil {
			t.Fatal(err)
		}
		got, err := s.ArticleState(ctx, memo)
		if err != nil || got.Counts.Likes != 2 || got.Revision != 2 || got.CopyOf == "" {
			t.Fatalf("after likes and the copy setting: %+v, %v", got, err)
		}
		check("likes, a signature, the copy setting")
	})
}
