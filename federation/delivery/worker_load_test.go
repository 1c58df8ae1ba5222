package delivery

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
		respond := func(string, int) (int, http.Header) {
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
			return http.StatusAccepted, nil
		}
		const instances = 40
		for k := 0; k < instances; k++ {
			follow(t, s, newInstance(t, respond), 1, true)
		}
		yielding.Store(true)
		publish(t, s, "http://memo.test/activities/update-yield")
		startWorker(t, Config{Store: s, Clock: clk.Now, Client: http.DefaultClient, Concurrency: 16, PerDomain: 4,
			Lease: 10 * time.Minute, Poll: 5 * time.Millisecond, Yield: yielding.Load})
		waitFor(t, "deliveries made while yielding", func() bool { return delivered.Load() >= 10 })
		mu.Lock()
		duringYield := peakWhileYield
		peak = 0
		mu.Unlock()
		if duringYield > YieldConcurrency || duringYield == 0 {
			t.Errorf("%d deliveries in flight while yielding, want 1 to %d", duringYield, YieldConcurrency)
		}
		yielding.Store(false)
		waitFor(t, "every delivery", func() bool { return delivered.Load() == instances })
		mu.Lock()
		after := peak
		mu.Unlock()
		if after <= YieldConcurrency {
			t.Errorf("at most %d in flight after yielding stopped, want more than %d", after, YieldConcurrency)
		}
		c, err := s.DeliveryCounts(t.Context())
		if err != nil || c[storage.DeliveryDelivered] != instances {
			t.Errorf("delivered rows: %v %v, want %d", c, err, instances)
		}
	})
}

// TestBodyCacheStartsAgain: more activities than the worker's body cache holds, each to three instances: the cache
// starts again in the middle of claims, and every instance still gets every activity once, each with its own body.
func TestBodyCacheStartsAgain(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		clk := newClock()
		s.SetClock(clk.Now)
		var insts []*instance
		for k := 0; k < 3; k++ {
			inst := newInstance(t, nil)
			follow(t, s, inst, 1, true)
			insts = append(insts, inst)
		}
		const activities = maxCachedBodies + 6
		for n := 0; n < activities; n++ {
			publish(t, s, fmt.Sprintf("http://memo.test/activities/update-%d", n))
		}
		startWorker(t, Config{Store: s, Clock: clk.Now, Concurrency: 16, PerDomain: 4, Lease: 10 * time.Minute})
		waitFor(t, "every delivery", func() bool {
			c, _ := s.DeliveryCounts(t.Context())
			return c[storage.DeliveryDelivered]+c[storage.DeliveryFailed] == 3*activities
		})
		for k, inst := range insts {
			inst.mu.Lock()
			for n := 0; n < activities; n++ {
				if got := inst.ids[fmt.Sprintf("http://memo.test/activities/update-%d", n)]; got != 1 {
					t.Errorf("instance %d got activity %d %d times, want once", k, n, got)
				}
			}
			if len(inst.ids) != activities || len(inst.bad) != 0 {
				t.Errorf("instance %d: %d distinct ids, refused %v", k, len(inst.ids), inst.bad)
			}
			inst.mu.Unlock()
		}
	})
}
