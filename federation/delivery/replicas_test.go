package delivery

import (
	"os"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// Two workers with their own connection pools on one PostgreSQL database share a fan-out: each delivery is sent
// exactly once, and both take part.
func TestWorkersShareOnePostgresQueue(t *testing.T) {
	if os.Getenv(storagetest.EnvPostgres) == "" {
		t.Skipf("%s is not set: this test needs PostgreSQL", storagetest.EnvPostgres)
	}
	dsn := storagetest.PostgresDSN(t)
	a, b := storagetest.Open(t, dsn), storagetest.Open(t, dsn)
	clk := newClock()
	a.SetClock(clk.Now)
	var insts []*fedtest.Instance
	for i := 0; i < 30; i++ {
		inst := newInstance(t, fedtest.Failure{Delay: 100 * time.Millisecond})
		follow(t, a, inst, 2, i%2 == 0)
		insts = append(insts, inst)
	}
	const act = "http://memo.test/activities/shared"
	publish(t, a, act)
	// Eight in flight each: one worker alone then needs at least 600 ms for the 45 deliveries (100 ms each), so the
	// other's polls find work even on a loaded machine; with 32, the first to claim could take every domain's
	// lease before the other's first claim landed.
	startWorker(t, Config{Store: a, Clock: clk.Now, Lease: 20 * time.Second, Poll: 200 * time.Millisecond, Concurrency: 8, UserAgent: "memo/test (+a)"})
	startWorker(t, Config{Store: b, Clock: clk.Now, Lease: 20 * time.Second, Poll: 200 * time.Millisecond, Concurrency: 8, UserAgent: "memo/test (+b)"})
	waitIdle(t, a, clk)
	byUA := map[string]int{}
	for _, inst := range insts {
		for path, n := range inst.Tally().Arrived {
			if n != 1 {
				t.Errorf("%s%s received %d requests, want 1", inst.Host, path, n)
			}
		}
		for _, r := range inst.Received() {
			if r.SigErr == nil {
				byUA[r.Header.Get("User-Agent")]++
			}
		}
	}
	rows, err := storagetest.DeliveriesOf(t.Context(), a, act)
	if err != nil || len(rows) == 0 {
		t.Fatalf("deliveries of %s: %d rows, %v", act, len(rows), err)
	}
	for _, d := range rows {
		if d.State != storage.DeliveryDelivered {
			t.Errorf("delivery %+v", d)
		}
	}
	t.Logf("requests by worker: %v", byUA)
	if len(byUA) != 2 {
		t.Errorf("one worker did everything: %v", byUA)
	}
}
