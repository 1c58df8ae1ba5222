package delivery

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// A host where nothing listens (a junk follower's) is parked after 3 failures in its first hour, on the 3rd attempt
// of one delivery, where a host that answers 503 needs a day and 5 failures; a host to which a delivery once
// succeeded keeps the slow rule, however it fails now.
func TestNeverAnsweringHostUnavailableAfterThreeFailures(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		clk := newClock()
		s.SetClock(clk.Now)
		gone := newInstance(t, fedtest.Failure{})
		follow(t, s, gone, 1, false)
		gone.Server.Close() // connection refused from now on
		answering := newInstance(t, fedtest.Failure{Status: 503})
		follow(t, s, answering, 1, false)
		const act = "http://memo.test/activities/1"
		publish(t, s, act)
		startWorker(t, Config{Store: s, Clock: clk.Now, Lease: 10 * time.Second})

		start := clk.Now()
		for attempt := 1; attempt <= 3; attempt++ {
			waitIdle(t, s, clk)
			d, err := storagetest.DomainStatus(ctx, s, gone.Host)
			if err != nil {
				t.Fatal(err)
			}
			if d.Failures != attempt || !d.UnreachableOnly {
				t.Fatalf("attempt %d: %+v", attempt, d)
			}
			if d.Unavailable() != (attempt == 3) {
				t.Fatalf("attempt %d, %v after the first: unavailable %v, want it from the 3rd on", attempt, clk.Now().Sub(start), d.Unavailable())
			}
			if a, err := storagetest.DomainStatus(ctx, s, answering.Host); err != nil || a.Unavailable() || a.UnreachableOnly {
				t.Fatalf("attempt %d: the host that answers 503: %+v, %v", attempt, a, err)
			}
			if attempt < 3 {
				clk.Set(deliveryByInbox(t, s, act, gone.Base+pathOf(0)).NextAttemptAt())
			}
		}
		if took := clk.Now().Sub(start); took > time.Hour {
			t.Fatalf("marked %v after the first failure, want within the hour", took)
		}
	})
}

// The rule in the store: a burst of failures at once does not mark a host that never answered, failures over 5
// minutes do; a single answer in the run, or a delivery that once succeeded, keeps the slow rule.
func TestRecordDomainUnreachable(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		rule := DefaultPolicy().Domain
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		fail := func(domain string, unreachable bool, at time.Time) storage.Domain {
			t.Helper()
			record := s.RecordDomainFailure
			if unreachable {
				record = s.RecordDomainUnreachable
			}
			d, err := record(ctx, domain, "dial tcp: connection refused", at, rule)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		for i := 0; i < 4; i++ {
			if d := fail("burst.example", true, now); d.Unavailable() {
				t.Fatalf("4 failures in the same instant marked the host: %+v", d)
			}
		}
		for i, m := range []int{0, 1, 6} {
			d := fail("junk.example", true, now.Add(time.Duration(m)*time.Minute))
			if d.Unavailable() != (i == 2) {
				t.Fatalf("junk host after failure %d: %+v", i+1, d)
			}
		}
		fail("mixed.example", false, now)
		for _, m := range []int{1, 6, 36} {
			if d := fail("mixed.example", true, now.Add(time.Duration(m)*time.Minute)); d.Unavailable() || d.UnreachableOnly {
				t.Fatalf("a host that answered once in the run was marked early: %+v", d)
			}
		}
		// A host to which a delivery succeeded before.
		if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(`INSERT INTO deliveries (activity_iri, inbox, domain, state, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, 0, 0, 0)`),
			"http://memo.test/activities/0", "https://known.example/inbox", "known.example", storage.DeliveryDelivered); err != nil {
			t.Fatal(err)
		}
		for _, m := range []int{0, 1, 6, 36} {
			if d := fail("known.example", true, now.Add(time.Duration(m)*time.Minute)); d.Unavailable() {
				t.Fatalf("a host that once took a delivery was marked early: %+v", d)
			}
		}
		if _, err := storagetest.DomainStatus(ctx, s, "nothing.example"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("status of an unknown domain: %v", err)
		}
	})
}
