package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestInteractionCountsKeptByTriggers: after a random sequence of likes, boosts, replies (of every visibility),
// edits that change a reply's visibility and removals, on several objects, the kept counts equal a recount.
func TestInteractionCountsKeptByTriggers(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(3, 5))
		objects := []string{"https://memo.example/memo", "https://memo.example/impulses/lesson-1", "https://memo.example/notes/how-to-sign"}
		kinds := []string{storage.KindLike, storage.KindAnnounce, storage.KindReply}
		vis := []string{"public", "unlisted", "followers", "direct"}
		recount := func(object string) storage.InteractionCounts {
			var c storage.InteractionCounts
			err := s.DB().GetContext(ctx, &c, s.DB().Rebind(`SELECT
				COALESCE(SUM(CASE WHEN kind = 'reply' AND visibility IN ('public', 'unlisted') THEN 1 ELSE 0 END), 0) AS replies,
				COALESCE(SUM(CASE WHEN kind = 'like' THEN 1 ELSE 0 END), 0) AS likes,
				COALESCE(SUM(CASE WHEN kind = 'announce' THEN 1 ELSE 0 END), 0) AS shares
				FROM interactions WHERE object_iri = ?`), object)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		for step := 0; step < 400; step++ {
			n := rng.IntN(60)
			actor := fmt.Sprintf("https://remote.example/users/u%d", n%20)
			activity := fmt.Sprintf("https://remote.example/activities/%d", n)
			note := fmt.Sprintf("https://remote.example/notes/%d", n)
			err := s.InTx(ctx, func(tx *storage.Tx) error {
				var err error
				switch rng.IntN(6) {
				case 0, 1, 2:
					_, err = tx.AddInteraction(ctx, storage.Interaction{
						ActivityIRI: activity, Kind: kinds[n%3], ActorIRI: actor, ObjectIRI: objects[n%3],
						NoteIRI: note, Visibility: vis[rng.IntN(4)],
					})
				case 3:
					_, err = tx.UpdateReply(ctx, note, actor, "edited", vis[rng.IntN(4)])
				case 4:
					_, err = tx.RemoveInteraction(ctx, activity, actor, storage.KindLike, storage.KindAnnounce)
				case 5:
					_, err = tx.RemoveReply(ctx, note, actor)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if step%50 == 49 {
				for _, o := range objects {
					got, err := s.InteractionCounts(ctx, o)
					if err != nil {
						t.Fatal(err)
					}
					if want := recount(o); got != want {
						t.Fatalf("step %d, %s: kept %+v, recount %+v", step, o, got, want)
					}
				}
			}
		}
		for _, o := range objects {
			if c := recount(o); c.Likes+c.Shares+c.Replies == 0 {
				t.Errorf("%s: the sequence left nothing to count", o)
			}
		}
		if c, err := s.InteractionCounts(ctx, "https://memo.example/never"); err != nil || c != (storage.InteractionCounts{}) {
			t.Errorf("untouched object: %+v %v", c, err)
		}
	})
}
