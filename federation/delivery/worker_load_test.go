package delivery

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestYieldToForeground: while Yield reports foreground work, at most YieldConcurrency deliveries are in flight;
// once it stops, the worker goes back to its full concurrency, and every delivery is made once.
func TestYieldToForeground(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		clk := newClock()
		s.SetClock(clk.Now)
		var (
			mu             sync.Mutex
			inFlight, peak int
			peakWhileYield int
			yielding       atomic.Bool
			delivered      atomic.Int64
		)
		// Each request counts itself in flight for 20 ms; the worker then records it delivered.
		inFlightFor20ms := func(context.Context) {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			if yielding.Load() {
				peakWhileYield = max(peakWhileYield, inFlight)
			}
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			inFlight--
			mu.Unlock()
			delivered.Add(1)
		}
		const instances = 40
		for k := 0; k < instances; k++ {
			follow(t, s, newInstance(t, fedtest.Failure{Hold: inFlightFor20ms}), 1, true)
		}
		yielding.Store(true)
		publish(t, s, "http://memo.test/activities/update-yield")
		startWorker(t, Config{Store: s, Clock: clk.Now, Client: http.DefaultClient, Concurrency: 16, PerDomain: 4,
			Lease: 10 * time.Minute, Poll: 5 * time.Millisecond, Yield: yielding.Load})
		testwait.Until(t, "deliveries made while yielding", func() bool { return delivered.Load() >= 10 })
		mu.Lock()
		duringYield := peakWhileYield
		peak = 0
		mu.Unlock()
		if duringYield > YieldConcurrency || duringYield == 0 {
			t.Errorf("%d deliveries in flight while yielding, want 1 to %d", duringYield, YieldConcurrency)
		}
		yielding.Store(false)
		// The instances count a delivery before answering it; the worker records it after the answer.
		testwait.Until(t, "every delivery recorded", func() bool {
			c, _ := s.DeliveryCounts(t.Context())
			return c[storage.DeliveryDelivered] == instances
		})
		mu.Lock()
		after := peak
		mu.Unlock()
		if after <= YieldConcurrency {
			t.Errorf("at most %d in flight after yielding stopped, want more than %d", after, YieldConcurrency)
		}
		if n := delivered.Load(); n != instances {
			t.Errorf("%d requests answered, want %d (one per instance)", n, instances)
		}
	})
}

// TestBodyCacheStartsAgain: more activities than the worker's body cache holds, each to three instances: the cache
// starts again in the middle of claims, and every instance still gets every activity once, each with its own body.
func TestBodyCacheStartsAgain(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		clk := newClock()
		s.SetClock(clk.Now)
		var insts []*fedtest.Instance
		for k := 0; k < 3; k++ {
			inst := newInstance(t, fedtest.Failure{})
			follow(t, s, inst, 1, true)
			insts = append(insts, inst)
		}
		const activities = maxCachedBodies + 6
		for n := 0; n < activities; n++ {
			publish(t, s, fmt.Sprintf("http://memo.test/activities/update-%d", n))
		}
		startWorker(t, Config{Store: s, Clock: clk.Now, Concurrency: 16, PerDomain: 4, Lease: 10 * time.Minute})
		testwait.Until(t, "every delivery", func() bool {
			c, _ := s.DeliveryCounts(t.Context())
			return c[storage.DeliveryDelivered]+c[storage.DeliveryFailed] == 3*activities
		})
		for k, inst := range insts {
			ids := inst.Tally().IDs()
			for n := 0; n < activities; n++ {
				if got := ids[fmt.Sprintf("http://memo.test/activities/update-%d", n)]; got != 1 {
					t.Errorf("instance %d got activity %d %d times, want once", k, n, got)
				}
			}
			if len(ids) != activities || len(inst.Refused()) != 0 {
				t.Errorf("instance %d: %d distinct ids, refused %v", k, len(ids), inst.Refused())
			}
		}
	})
}

// TestQueuedRowsGoBackBeforeTheirLease: rows claimed while yielding wait for a free slot; one that waited past
// half its lease is handed back rather than sent late, then claimed again and delivered once.
func TestQueuedRowsGoBackBeforeTheirLease(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		clk := newClock()
		s.SetClock(clk.Now)
		release := make(chan struct{})
		var held atomic.Int64
		// The first YieldConcurrency requests are held until release; the others are answered at once.
		slow := func(ctx context.Context) {
			if held.Add(1) <= YieldConcurrency {
				holdUntil(release)(ctx)
			}
		}
		var insts []*fedtest.Instance
		for k := 0; k < 8; k++ {
			inst := newInstance(t, fedtest.Failure{Hold: slow})
			follow(t, s, inst, 1, true)
			insts = append(insts, inst)
		}
		publish(t, s, "http://memo.test/activities/update-queued")
		var yielding atomic.Bool
		yielding.Store(true)
		var logs syncBuffer
		startWorker(t, Config{Store: s, Clock: clk.Now, Concurrency: 16, PerDomain: 4, Lease: 10 * time.Minute,
			Poll: 5 * time.Millisecond, Yield: yielding.Load, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		testwait.Until(t, "both slots held", func() bool { return held.Load() == YieldConcurrency })
		// Every row is claimed: the two in flight and the six queued behind them.
		testwait.Until(t, "every row claimed", func() bool {
			c, _ := s.DeliveryCounts(t.Context())
			return c[storage.DeliveryInflight] == 8
		})
		clk.Advance(6 * time.Minute) // past half the lease
		close(release)
		yielding.Store(false)
		testwait.Until(t, "every delivery", func() bool {
			c, _ := s.DeliveryCounts(t.Context())
			return c[storage.DeliveryDelivered] == 8
		})
		rows, err := storagetest.DeliveriesOf(t.Context(), s, "http://memo.test/activities/update-queued")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Attempts != 1 {
				t.Errorf("%s: %d attempts, want 1 (a row handed back counts no attempt)", r.Inbox, r.Attempts)
			}
		}
		for k, inst := range insts {
			if n := total(inst); n != 1 {
				t.Errorf("instance %d got %d requests, want 1", k, n)
			}
		}
		if n := strings.Count(logs.String(), "handed back"); n != 8-YieldConcurrency {
			t.Errorf("%d rows handed back, want the %d queued ones", n, 8-YieldConcurrency)
		}
	})
}

// syncBuffer is a log destination the worker's goroutines may write to at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
