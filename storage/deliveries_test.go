package storage_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func enqueue(t *testing.T, s *storage.Store, iri string, recipients ...storage.Recipient) {
	t.Helper()
	s.SetClock(func() time.Time { return t0 })
	if err := s.InsertActivity(context.Background(), storage.Activity{IRI: iri, Type: "Update", Body: `{"id":"` + iri + `"}`}, recipients); err != nil {
		t.Fatal(err)
	}
}

func rcpt(domain string, n int) storage.Recipient {
	return storage.Recipient{Inbox: fmt.Sprintf("https://%s/users/u%d/inbox", domain, n), Domain: domain}
}

func TestClaimLeasesAndPerDomainLimit(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		enqueue(t, s, "https://memo.example/a/1", rcpt("a.example", 1), rcpt("a.example", 2), rcpt("a.example", 3), rcpt("b.example", 1))
		if due, err := s.HasDueDeliveries(ctx, t0.Add(-time.Second)); err != nil || due {
			t.Fatalf("before due: due=%v err=%v", due, err)
		}
		if due, err := s.HasDueDeliveries(ctx, t0); err != nil || !due {
			t.Fatalf("at due: due=%v err=%v", due, err)
		}
		got, err := s.ClaimDeliveries(ctx, storage.Claim{Now: t0, LeaseUntil: t0.Add(time.Minute), Owner: "w1", Limit: 10, PerDomain: 2})
		if err != nil {
			t.Fatal(err)
		}
		perDomain := map[string]int{}
		for _, d := range got {
			perDomain[d.Domain]++
			if d.State != storage.DeliveryInflight || d.LeasedBy != "w1" {
				t.Fatalf("claimed row %+v not leased to w1", d)
			}
		}
		if perDomain["a.example"] != 2 || perDomain["b.example"] != 1 {
			t.Fatalf("claimed per domain %v, want a:2 b:1", perDomain)
		}
		// Both domains hold live leases now: nothing more is handed out, not even a.example's third row.
		more, err := s.ClaimDeliveries(ctx, storage.Claim{Now: t0, LeaseUntil: t0.Add(time.Minute), Owner: "w2", Limit: 10, PerDomain: 2})
		if err != nil || len(more) != 0 {
			t.Fatalf("second claim = %d rows, %v; want none", len(more), err)
		}
		// w1 finishes b.example; a stale owner cannot record a result.
		var bRow storage.Delivery
		for _, d := range got {
			if d.Domain == "b.example" {
				bRow = d
			}
		}
		if ok, err := s.MarkDelivered(ctx, storage.Outcome{ID: bRow.ID, Owner: "w2", Status: 202, Now: t0}); err != nil || ok {
			t.Fatalf("foreign owner recorded a result: ok=%v err=%v", ok, err)
		}
		if ok, err := s.MarkDelivered(ctx, storage.Outcome{ID: bRow.ID, Owner: "w1", Status: 202, Now: t0}); err != nil || !ok {
			t.Fatalf("owner could not record: ok=%v err=%v", ok, err)
		}
		// After the lease runs out, w2 takes over a.example's rows (w1 died), and the third one waits its turn.
		later := t0.Add(2 * time.Minute)
		taken, err := s.ClaimDeliveries(ctx, storage.Claim{Now: later, LeaseUntil: later.Add(time.Minute), Owner: "w2", Limit: 10, PerDomain: 2})
		if err != nil || len(taken) != 2 {
			t.Fatalf("takeover = %d rows, %v; want 2", len(taken), err)
		}
		for _, d := range taken {
			if d.Domain != "a.example" || d.Attempts != 0 {
				t.Fatalf("takeover row %+v", d)
			}
		}
		// w1 wakes up: its results are refused.
		if ok, err := s.MarkFailed(ctx, storage.Outcome{ID: taken[0].ID, Owner: "w1", Status: 404, Now: later}); err != nil || ok {
			t.Fatalf("expired owner overwrote the new owner's row (err %v)", err)
		}
		// w2 shuts down: it gives back one row untouched.
		if n, err := s.ReleaseDeliveries(ctx, "w2", taken[0].ID); err != nil || n != 1 {
			t.Fatalf("release = %d, %v", n, err)
		}
		if ok, err := s.MarkRetry(ctx, storage.Outcome{ID: taken[1].ID, Owner: "w2", Status: 503, Error: "unavailable", Now: later}, later.Add(5*time.Minute)); err != nil || !ok {
			t.Fatalf("retry: ok=%v err=%v", ok, err)
		}
		counts, err := s.DeliveryCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts[storage.DeliveryPending] != 3 || counts[storage.DeliveryDelivered] != 1 || counts[storage.DeliveryInflight] != 0 {
			t.Fatalf("counts = %v", counts)
		}
		rows, err := storagetest.DeliveriesOf(ctx, s, "https://memo.example/a/1")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range rows {
			if d.ID == taken[1].ID && (d.Attempts != 1 || d.LastStatus != 503 || !d.NextAttemptAt().Equal(later.Add(5*time.Minute))) {
				t.Fatalf("retried row = %+v", d)
			}
			if d.ID == taken[0].ID && (d.Attempts != 0 || d.LeasedBy != "") {
				t.Fatalf("released row = %+v", d)
			}
		}
		probs, err := s.RecentDeliveryProblems(ctx, 10)
		if err != nil || len(probs) != 1 || probs[0].ID != taken[1].ID {
			t.Fatalf("problems = %+v, %v", probs, err)
		}
		// Pruning takes finished rows only, by age.
		if n, err := s.PruneDeliveries(ctx, t0, t0); err != nil || n != 0 {
			t.Fatalf("prune of nothing old = %d, %v", n, err)
		}
		if n, err := s.PruneDeliveries(ctx, t0.Add(time.Millisecond), t0); err != nil || n != 1 {
			t.Fatalf("prune delivered = %d, %v", n, err)
		}
		if c, err := s.DeliveryCounts(ctx); err != nil || c[storage.DeliveryDelivered] != 0 || c[storage.DeliveryPending] != 3 {
			t.Fatalf("after prune: %v (err %v)", c, err)
		}
	})
}

// Many workers claiming at once never share a row.
func TestConcurrentClaimsAreExclusive(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		var rs []storage.Recipient
		for i := 0; i < 120; i++ {
			rs = append(rs, rcpt(fmt.Sprintf("d%d.example", i), 0))
		}
		enqueue(t, s, "https://memo.example/a/2", rs...)
		var mu sync.Mutex
		seen := map[int64]string{}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func(owner string) {
				defer wg.Done()
				for {
					got, err := s.ClaimDeliveries(ctx, storage.Claim{Now: t0, LeaseUntil: t0.Add(time.Hour), Owner: owner, Limit: 7, PerDomain: 1})
					if err != nil {
						errs <- err
						return
					}
					if len(got) == 0 {
						return
					}
					if len(got) > 7 {
						errs <- fmt.Errorf("%s claimed %d rows with a limit of 7", owner, len(got))
					}
					mu.Lock()
					for _, d := range got {
						if prev, dup := seen[d.ID]; dup {
							errs <- fmt.Errorf("row %d claimed by %s and %s", d.ID, prev, owner)
						}
						seen[d.ID] = owner
					}
					mu.Unlock()
				}
			}(fmt.Sprintf("w%d", w))
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if len(seen) != 120 {
			t.Fatalf("claimed %d rows, want 120", len(seen))
		}
	})
}

func TestGoneInbox(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		err := s.InTx(ctx, func(tx *storage.Tx) error {
			for i, f := range []storage.Follower{
				{ActorIRI: "https://m.example/users/a", Inbox: "https://m.example/users/a/inbox", SharedInbox: "https://m.example/inbox", Domain: "m.example"},
				{ActorIRI: "https://m.example/users/b", Inbox: "https://m.example/users/b/inbox", SharedInbox: "https://m.example/inbox", Domain: "m.example"},
				{ActorIRI: "https://g.example/users/c", Inbox: "https://g.example/users/c/inbox", Domain: "g.example"},
			} {
				f.FollowIRI = fmt.Sprintf("https://x/%d", i)
				if err := tx.AddFollower(ctx, f); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		g, err := s.RemoveGoneInbox(ctx, "https://memo.example/a/3", "https://g.example/users/c/inbox", t0)
		if err != nil || g.FollowersRemoved != 1 || g.Rerouted != 0 {
			t.Fatalf("personal 410: %+v, %v", g, err)
		}
		if _, err := s.Follower(ctx, "https://g.example/users/c"); err != storage.ErrNotFound {
			t.Fatalf("gone follower still there: %v", err)
		}
		g, err = s.RemoveGoneInbox(ctx, "https://memo.example/a/3", "https://m.example/inbox", t0)
		if err != nil || g.FollowersRemoved != 0 || g.Rerouted != 2 {
			t.Fatalf("shared 410: %+v, %v", g, err)
		}
		if n, err := s.FollowersCount(ctx); err != nil || n != 2 {
			t.Fatalf("followers after shared 410 = %d, want 2 (err %v)", n, err)
		}
		rows, err := storagetest.DeliveriesOf(ctx, s, "https://memo.example/a/3")
		if err != nil || len(rows) != 2 || rows[0].Inbox != "https://m.example/users/a/inbox" {
			t.Fatalf("rerouted deliveries = %+v, %v", rows, err)
		}
		f, err := s.Follower(ctx, "https://m.example/users/a")
		if err != nil {
			t.Fatal(err)
		}
		if f.SharedInbox != "" {
			t.Fatalf("shared inbox kept: %+v", f)
		}
	})
}

func TestDomainUnavailableAndCleared(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		rule := storage.DomainRule{After: 24 * time.Hour, MinFailures: 3, Probe: 12 * time.Hour}
		enqueue(t, s, "https://memo.example/a/4", rcpt("down.example", 1), rcpt("up.example", 1))
		now := t0
		for i := 0; i < 5; i++ {
			d, err := s.RecordDomainFailure(ctx, "down.example", "connection refused", now, rule)
			if err != nil {
				t.Fatal(err)
			}
			if d.Unavailable() {
				t.Fatalf("unavailable after %d failures within %v", d.Failures, now.Sub(t0))
			}
			now = now.Add(4 * time.Hour)
		}
		now = t0.Add(25 * time.Hour)
		d, err := s.RecordDomainFailure(ctx, "down.example", "timeout", now, rule)
		if err != nil || !d.Unavailable() || !d.NextAttemptAt().Equal(now.Add(12*time.Hour)) || d.LastError != "timeout" || d.Failures != 6 {
			t.Fatalf("after 25 h of failures: %+v, %v", d, err)
		}
		// Parked: only up.example is handed out until the probe is due.
		got, err := s.ClaimDeliveries(ctx, storage.Claim{Now: now, LeaseUntil: now.Add(time.Minute), Owner: "w", Limit: 10, PerDomain: 5})
		if err != nil || len(got) != 1 || got[0].Domain != "up.example" {
			t.Fatalf("claim while parked = %+v, %v", got, err)
		}
		probe := now.Add(12 * time.Hour)
		got, err = s.ClaimDeliveries(ctx, storage.Claim{Now: probe, LeaseUntil: probe.Add(time.Minute), Owner: "w", Limit: 10, PerDomain: 5})
		if err != nil || len(got) != 2 {
			t.Fatalf("claim at probe time = %+v, %v (want the probe and the expired lease)", got, err)
		}
		list, err := s.FailingDomains(ctx)
		if err != nil || len(list) != 1 || list[0].Domain != "down.example" {
			t.Fatalf("failing domains = %+v, %v", list, err)
		}
		if err := s.ClearDomain(ctx, "down.example"); err != nil {
			t.Fatal(err)
		}
		if _, err := storagetest.DomainStatus(ctx, s, "down.example"); err != storage.ErrNotFound {
			t.Fatalf("cleared domain still recorded: %v", err)
		}
	})
}

// Successes recorded together: each row still needs its lease, and the domains' failures are forgotten.
func TestMarkAllDelivered(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		iri := "https://memo.example/a/all"
		enqueue(t, s, iri, rcpt("a.example", 1), rcpt("b.example", 1))
		got, err := s.ClaimDeliveries(ctx, storage.Claim{Now: t0, LeaseUntil: t0.Add(time.Minute), Owner: "w1", Limit: 10, PerDomain: 1})
		if err != nil || len(got) != 2 {
			t.Fatalf("claim = %+v, %v", got, err)
		}
		if _, err := s.RecordDomainFailure(ctx, "a.example", "refused", t0, storage.DomainRule{MinFailures: 1}); err != nil {
			t.Fatal(err)
		}
		byDomain := map[string]storage.Delivery{got[0].Domain: got[0], got[1].Domain: got[1]}
		ok, err := s.MarkAllDelivered(ctx, []storage.Outcome{
			{ID: byDomain["a.example"].ID, Owner: "w1", Status: 202, Now: t0},
			{ID: byDomain["b.example"].ID, Owner: "w2", Status: 202, Now: t0}, // not w2's lease
		}, []string{"a.example", "b.example"})
		if err != nil || !slices.Equal(ok, []bool{true, false}) {
			t.Fatalf("MarkAllDelivered = %v, %v; want [true false]", ok, err)
		}
		rows, err := storagetest.DeliveriesOf(ctx, s, iri)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range rows {
			want := map[string]string{"a.example": storage.DeliveryDelivered, "b.example": storage.DeliveryInflight}[d.Domain]
			if d.State != want {
				t.Errorf("%s: state %s, want %s", d.Domain, d.State, want)
			}
		}
		if _, err := storagetest.DomainStatus(ctx, s, "a.example"); err != storage.ErrNotFound {
			t.Fatalf("a.example's failure still recorded after a success: %v", err)
		}
	})
}

// BenchmarkClaimAndFinish measures one worker's queue overhead per delivery on SQLite: claim in batches of 16, then
// record each result, as the workers do, over a fan-out of b.N inboxes spread on domains of 4 inboxes each.
func BenchmarkClaimAndFinish(b *testing.B) {
	s := storagetest.Open(b, storagetest.SQLiteDSN(b))
	ctx := context.Background()
	rs := make([]storage.Recipient, 0, b.N)
	for i := 0; i < b.N; i++ {
		rs = append(rs, rcpt(fmt.Sprintf("d%d.example", i/4), i))
	}
	if err := s.InsertActivity(ctx, storage.Activity{IRI: "https://memo.example/bench", Type: "Update", Body: "{}"}, rs); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ResetTimer()
	for done := 0; done < b.N; {
		got, err := s.ClaimDeliveries(ctx, storage.Claim{Now: now, LeaseUntil: now.Add(time.Minute), Owner: "bench", Limit: 16, PerDomain: 4})
		if err != nil {
			b.Fatal(err)
		}
		if len(got) == 0 {
			b.Fatalf("nothing to claim after %d of %d", done, b.N)
		}
		for _, d := range got {
			if _, err := s.MarkDelivered(ctx, storage.Outcome{ID: d.ID, Owner: "bench", Status: 202, Now: now}); err != nil {
				b.Fatal(err)
			}
		}
		done += len(got)
	}
}

// BenchmarkClaimFanout claims and records as the worker does during a fan-out: one row for each of 1,000 domains,
// 32 rows claimed whenever the last claim's are all started, successes recorded 8 at a time. Reported per row.
func BenchmarkClaimFanout(b *testing.B) {
	s := storagetest.Open(b, storagetest.SQLiteDSN(b))
	ctx := context.Background()
	var now time.Time
	var claimT time.Duration
	defer func() { b.Logf("claim %v of %v", claimT, b.Elapsed()) }()
	for b.Loop() {
		b.StopTimer()
		rs := make([]storage.Recipient, 1000)
		for i := range rs {
			rs[i] = rcpt(fmt.Sprintf("d%d.example", i), 0)
		}
		iri := fmt.Sprintf("https://memo.example/bench/%d", now.UnixNano())
		if err := s.InsertActivity(ctx, storage.Activity{IRI: iri, Type: "Update", Body: "{}"}, rs); err != nil {
			b.Fatal(err)
		}
		now = time.Now().Add(time.Second)
		b.StartTimer()
		var inflight []storage.Delivery
		for done := 0; done < len(rs); {
			if len(inflight) == 0 {
				t1 := time.Now()
				got, err := s.ClaimDeliveries(ctx, storage.Claim{Now: now, LeaseUntil: now.Add(time.Minute), Owner: "bench", Limit: 32, PerDomain: 4})
				if err != nil {
					b.Fatal(err)
				}
				claimT += time.Since(t1)
				if len(got) == 0 {
					b.Fatalf("nothing to claim after %d of %d", done, len(rs))
				}
				inflight = got
			}
			n := min(8, len(inflight))
			var os []storage.Outcome
			var domains []string
			for _, d := range inflight[:n] {
				os = append(os, storage.Outcome{ID: d.ID, Owner: "bench", Status: 202, Now: now})
				domains = append(domains, d.Domain)
			}
			if ok, err := s.MarkAllDelivered(ctx, os, domains); err != nil || slices.Contains(ok, false) {
				b.Fatal(ok, err)
			}
			inflight = inflight[n:]
			done += n
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*1000), "µs/row")
}
