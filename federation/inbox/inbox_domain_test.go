package inbox

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
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
		var clock atomic.Int64
		clock.Store(time.Now().UnixNano())
		now := func() time.Time { return time.Unix(0, clock.Load()) }
		h := newInboxHarness(t, store, inboxHarnessOpts{inbox: Config{Now: now}})
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

		// A domain found clear is looked at again a minute later, not on every request: a failure recorded
		// meanwhile waits for the first activity after that minute.
		like := func() {
			fedtest.MustAccept(t, a.Post(t, h.sharedInbox(), a.Shape(t, fedtest.Fixture(t, "mastodon/like.json"), fedtest.Target{Object: h.urls.Memo()}), fedtest.SignOptions{Style: fedtest.Mastodon}))
		}
		if _, err := store.RecordDomainFailure(ctx, inst.Host, "HTTP 503", now(), rule); err != nil {
			t.Fatal(err)
		}
		like()
		if _, err := storagetest.DomainStatus(ctx, store, inst.Host); err != nil {
			t.Fatalf("cleared again within the minute: %v", err)
		}
		clock.Add(int64(clearEvery))
		like()
		if _, err := storagetest.DomainStatus(ctx, store, inst.Host); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("a minute later, the sender's domain still has a failure record: %v", err)
		}
	})
}

func TestDomainsClearedIsBounded(t *testing.T) {
	d := domainsCleared{at: map[string]time.Time{}}
	t0 := time.Unix(1_700_000_000, 0)
	if !d.due("a.example", t0) || d.due("a.example", t0.Add(time.Second)) {
		t.Fatal("a domain must be due once, then not within the minute")
	}
	if !d.due("a.example", t0.Add(clearEvery)) {
		t.Fatal("a domain must be due again after a minute")
	}
	if !d.due("a.example", t0.Add(-time.Hour)) {
		t.Fatal("a clock that went back must not silence a domain")
	}
	d.forget("a.example")
	if !d.due("a.example", t0) {
		t.Fatal("a forgotten domain must be due at once")
	}
	for i := range maxDomainsCleared + 10 {
		d.due(fmt.Sprintf("h%d.example", i), t0)
	}
	if len(d.at) > maxDomainsCleared {
		t.Fatalf("%d domains remembered, bound %d", len(d.at), maxDomainsCleared)
	}
}
