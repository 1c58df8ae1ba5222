package federation

import (
	"context"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestServerWiresTheInbox goes through the Server as the memo command builds it: Register serves the inboxes and
// Run applies their effects without anyone calling the worker by hand.
func TestServerWiresTheInbox(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		urls := startServer(t, store, Config{Version: "test"})
		ctx := context.Background()

		inst := fedtest.NewInstance(t, "mastodon")
		a := inst.NewActor("alice")
		follow := a.Shape(t, fedtest.Fixture(t, "mastodon/follow.json"), fedtest.Target{Object: urls.Actor()})
		fedtest.MustAccept(t, a.Post(t, urls.Inbox(), follow, fedtest.SignOptions{}))
		testwait.Until(t, "the follow to be applied", func() bool {
			n, _ := store.FollowersCount(ctx)
			return n == 1
		})
		if n, err := store.FollowersCount(ctx); err != nil || n != 1 {
			t.Fatalf("followers: %d, want 1 (err %v)", n, err)
		}
		for _, g := range inst.Gets() {
			if ua := g.Header.Get("User-Agent"); ua != "memo/test (+"+urls.Base+")" {
				t.Errorf("User-Agent %q", ua)
			}
		}
	})
}
