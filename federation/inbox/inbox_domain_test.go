package inbox

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// An activity from a domain our deliveries had given up on shows the domain is back: its failure record goes.
func TestInboxActivityClearsFailingDomain(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "mastodon")
		a := inst.NewActor("alice")
		other := "elsewhere.example"
		rule := storage.DomainRule{After: time.Hour, MinFailures: 1, Probe: 12 * time.Hour}
		past := time.Now().Add(-48 * time.Hour)
		for _, d := range []string{inst.Host, other} {
			for i := 0; i < 3; i++ {
				if _, err := store.RecordDomainFailure(ctx, d, "HTTP 503", past.Add(time.Duration(i)*time.Hour), rule); err != nil {
					t.Fatal(err)
				}
			}
		}
		fedtest.MustAccept(t, a.Post(t, h.sharedInbox(), a.Shape(t, fedtest.Fixture(t, "mastodon/like.json"), fedtest.Target{Object: h.urls.Memo()}), fedtest.SignOptions{Style: fedtest.Mastodon}))
		if _, err := storagetest.DomainStatus(ctx, store, inst.Host); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("the sender's domain still has a failure record: %v", err)
		}
		if _, err := storagetest.DomainStatus(ctx, store, other); err != nil {
			t.Fatalf("another domain's record was cleared too: %v", err)
		}
	})
}
