package delivery

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// A domain that fails for more than a day is parked, probed rarely, and released by its first success; all on the
// injected clock, without sleeping.
func TestDomainUnavailableAndRecovery(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		clk := newClock()
		s.SetClock(clk.Now)
		inst := newInstance(t, fedtest.Failure{Status: 503})
		follow(t, s, inst, 1, false)
		const act1, act2 = "http://memo.test/activities/1", "http://memo.test/activities/2"
		publish(t, s, act1)
		startWorker(t, Config{Store: s, Clock: clk.Now, Lease: 10 * time.Second})
		inbox := inst.Base + pathOf(0)

		var dom storage.Domain
		for attempt := 1; ; attempt++ {
			waitIdle(t, s, clk)
			if got := total(inst); got != attempt {
				t.Fatalf("attempt %d: instance saw %d requests", attempt, got)
			}
			var err error
			dom, err = storagetest.DomainStatus(ctx, s, inst.Host)
			if err != nil {
				t.Fatal(err)
			}
			if dom.Failures != attempt {
				t.Fatalf("attempt %d: domain counts %d failures", attempt, dom.Failures)
			}
			if dom.Unavailable() {
				// 1 m, 5 m, 30 m, 2 h, 6 h, 12 h: the 7th failure is 20 h 36 m after the first, the 8th 44 h 36 m.
				if attempt != 8 {
					t.Fatalf("domain unavailable after %d failures, %v after the first; want the 8th", attempt, clk.Now().Sub(dom.FirstFailureAt()))
				}
				break
			}
			if attempt > 8 {
				t.Fatal("domain never marked unavailable")
			}
			clk.Set(deliveryByInbox(t, s, act1, inbox).NextAttemptAt())
		}
		marked := clk.Now()
		if !dom.NextAttemptAt().Equal(marked.Add(12 * time.Hour)) {
			t.Fatalf("next probe at %v, want 12 h after marking (%v)", dom.NextAttemptAt(), marked)
		}

		// Parked: a new activity for the domain is not sent, though due.
		publish(t, s, act2)
		clk.Advance(time.Hour)
		waitIdle(t, s, clk)
		if total(inst) != 8 {
			t.Fatalf("parked domain received %d requests, want still 8", total(inst))
		}
		if d := deliveryByInbox(t, s, act2, inbox); d.State != storage.DeliveryPending || d.Attempts != 0 {
			t.Fatalf("parked delivery: %+v", d)
		}

		// The probe, 12 h after marking, fails: only act2 was due, and the next probe moves 12 h on.
		clk.Set(marked.Add(12 * time.Hour))
		waitIdle(t, s, clk)
		if total(inst) != 9 {
			t.Fatalf("probe: instance saw %d requests, want 9", total(inst))
		}
		dom, err := storagetest.DomainStatus(ctx, s, inst.Host)
		if err != nil {
			t.Fatal(err)
		}
		if !dom.Unavailable() || !dom.NextAttemptAt().Equal(marked.Add(24*time.Hour)) {
			t.Fatalf("after a failed probe: %+v", dom)
		}

		// The instance comes back; the next probe succeeds and clears the domain, and everything parked goes out.
		inst.SetFailure(fedtest.Failure{})
		clk.Set(marked.Add(24 * time.Hour))
		waitIdle(t, s, clk)
		for _, a := range []string{act1, act2} {
			if d := deliveryByInbox(t, s, a, inbox); d.State != storage.DeliveryDelivered {
				t.Fatalf("%s after recovery: %+v", a, d)
			}
		}
		if _, err := storagetest.DomainStatus(ctx, s, inst.Host); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("domain still marked after a success: %v", err)
		}
		if total(inst) != 11 {
			t.Fatalf("instance saw %d requests in all, want 11", total(inst))
		}
	})
}

// An inbound activity from a parked domain (the inbox calls ClearDomain) releases its deliveries at once.
func TestClearDomainReleasesParkedDeliveries(t *testing.T) {
	s := storagetest.Open(t, storagetest.SQLiteDSN(t))
	ctx := context.Background()
	clk := newClock()
	s.SetClock(clk.Now)
	inst := newInstance(t, fedtest.Failure{})
	follow(t, s, inst, 1, true)
	rule := DefaultPolicy().Domain
	for _, ago := range []int{30, 20, 10, 5, 1} {
		if _, err := s.RecordDomainFailure(ctx, inst.Host, "refused", clk.Now().Add(-time.Duration(ago)*time.Hour), rule); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := storagetest.DomainStatus(ctx, s, inst.Host); err != nil || !d.Unavailable() {
		t.Fatalf("set-up: %+v, %v", d, err)
	}
	publish(t, s, "http://memo.test/activities/3")
	startWorker(t, Config{Store: s, Clock: clk.Now, Lease: 10 * time.Second})
	waitIdle(t, s, clk)
	if total(inst) != 0 {
		t.Fatalf("parked domain got %d requests", total(inst))
	}
	if err := s.ClearDomain(ctx, inst.Host); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the released delivery", func() bool { return answered(inst, "/inbox") == 1 })
	waitIdle(t, s, clk)
	if d := deliveryByInbox(t, s, "http://memo.test/activities/3", inst.SharedInbox()); d.State != storage.DeliveryDelivered {
		t.Fatalf("after ClearDomain: %+v", d)
	}
}

// A delivery that never succeeds is given up after the week, on the 13th attempt.
func TestGiveUpAfterAWeek(t *testing.T) {
	s := storagetest.Open(t, storagetest.SQLiteDSN(t))
	ctx := context.Background()
	clk := newClock()
	s.SetClock(clk.Now)
	inst := newInstance(t, fedtest.Failure{Status: 502})
	follow(t, s, inst, 1, true)
	const act = "http://memo.test/activities/4"
	publish(t, s, act)
	startWorker(t, Config{Store: s, Clock: clk.Now, Lease: 10 * time.Second})
	inbox := inst.SharedInbox()
	for i := 0; i < 20; i++ {
		waitIdle(t, s, clk)
		d := deliveryByInbox(t, s, act, inbox)
		if d.State == storage.DeliveryFailed {
			if d.Attempts != 13 || total(inst) != 13 || !strings.HasPrefix(d.LastError, "gave up") || d.LastStatus != 502 {
				t.Fatalf("given up: %+v after %d requests", d, total(inst))
			}
			if age := clk.Now().Sub(d.CreatedAt()); age > 7*24*time.Hour {
				t.Fatalf("last attempt %v after queueing", age)
			}
			return
		}
		next := d.NextAttemptAt()
		if dom, err := storagetest.DomainStatus(ctx, s, inst.Host); err == nil && dom.Unavailable() && dom.NextAttemptAt().After(next) {
			next = dom.NextAttemptAt()
		}
		clk.Set(next)
	}
	t.Fatal("never given up")
}
