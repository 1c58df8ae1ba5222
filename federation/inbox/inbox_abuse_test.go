package inbox

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/memo-fediverse/memo/federation/clientaddr"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// lockedBuffer is a log sink the handlers write to from the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// storeBytes is what the refused table takes on disk: the SQLite file after a checkpoint, or the table's total
// relation size on PostgreSQL.
func storeBytes(t *testing.T, store *storage.Store) int64 {
	t.Helper()
	if store.Dialect() == storage.Postgres {
		var n int64
		if err := store.DB().Get(&n, `SELECT pg_total_relation_size('refused')`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := store.DB().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	var file string
	if err := store.DB().QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// 300 requests each carrying a 60 KB header (the flood of the issue: 13.8 MB of reasons before) grow the database
// by under 1 MB and the log by under 16 KB; the 429s among them are not recorded, and no answer echoes the header.
func TestRefusalFloodIsBounded(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		var logs lockedBuffer
		// A stopped clock: the limit's bucket does not refill, however slow the machine, so 100 of the 300 meet it.
		stopped := time.Now()
		h := newInboxHarness(t, store, inboxHarnessOpts{inbox: Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
			Now: func() time.Time { return stopped }}})
		inst := fedtest.NewInstance(t, "flood")
		alice := inst.NewActor("alice")
		follow := alice.Shape(t, fedtest.Fixture(t, "mastodon/follow.json"), fedtest.Target{Object: h.urls.Actor()})
		huge := strings.Repeat("a\xff€", 60<<10/5)
		beforeBytes, beforeLog := storeBytes(t, store), logs.Len()

		statuses := map[int]int{}
		for i := range 300 {
			req := alice.NewRequest(t, h.sharedInbox(), follow, fedtest.SignOptions{})
			switch i % 3 {
			case 0:
				req.Header.Set("Content-Type", "application/"+huge)
			case 1:
				req.Header.Set("Signature", `keyId="`+huge+`"`)
			case 2:
				req.Header.Set("Date", huge)
			}
			resp := fedtest.Do(t, req)
			statuses[resp.Status]++
			if resp.Status == http.StatusAccepted {
				t.Fatalf("request %d accepted", i)
			}
			if len(resp.Body) > 2*maxReasonBytes {
				t.Fatalf("answer of %d bytes: the header is echoed", len(resp.Body))
			}
		}
		if statuses[http.StatusTooManyRequests] != 100 {
			t.Fatalf("statuses %v: want 100 429s past the burst of 200", statuses)
		}
		grown, logged := storeBytes(t, store)-beforeBytes, logs.Len()-beforeLog
		t.Logf("statuses %v; database +%d bytes, log +%d bytes", statuses, grown, logged)
		if grown >= 1<<20 {
			t.Errorf("the database grew by %d bytes, want under 1 MB", grown)
		}
		if logged >= 16<<10 {
			t.Errorf("the log grew by %d bytes, want under 16 KB", logged)
		}
		if n := h.count(`SELECT COUNT(*) FROM refused WHERE status = 429`); n != 0 {
			t.Errorf("%d refusals recorded for 429s, want none", n)
		}
		refusals, err := store.Refusals(context.Background(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(refusals) != 300-statuses[http.StatusTooManyRequests] {
			t.Errorf("%d refusals recorded, want %d", len(refusals), 300-statuses[http.StatusTooManyRequests])
		}
		for _, r := range refusals {
			for _, s := range []string{r.Reason, r.ActorIRI, r.Activity, r.RemoteAddr} {
				if len(s) > maxReasonBytes || !utf8.ValidString(s) {
					t.Fatalf("recorded %d bytes (valid UTF-8: %v): %.80q", len(s), utf8.ValidString(s), s)
				}
			}
		}
	})
}

// The refused table keeps at most its row bound and nothing older than its age bound, pruned as refusals come.
func TestRefusedTableIsPruned(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		now := time.Now()
		for i := range 20 {
			if err := store.AddRefusal(ctx, storage.Refusal{ReceivedAt: now.Add(-40 * 24 * time.Hour).Add(time.Duration(i) * time.Second), Status: 401, Reason: "old"}); err != nil {
				t.Fatal(err)
			}
		}
		h := newInboxHarness(t, store, inboxHarnessOpts{inbox: Config{PerIP: 1000, PerIPBurst: 1000, RefusedMaxRows: 50}})
		inst := fedtest.NewInstance(t, "pruned")
		alice := inst.NewActor("alice")
		follow := alice.Shape(t, fedtest.Fixture(t, "mastodon/follow.json"), fedtest.Target{Object: h.urls.Actor()})
		for range pruneRefusedEvery * 2 {
			req := alice.NewRequest(t, h.sharedInbox(), follow, fedtest.SignOptions{ContentType: "text/plain"})
			if resp := fedtest.Do(t, req); resp.Status != http.StatusUnsupportedMediaType {
				t.Fatalf("status %d, want 415", resp.Status)
			}
		}
		if n := h.count(`SELECT COUNT(*) FROM refused`); n != 50 {
			t.Errorf("%d refusals kept, want the 50 of the bound", n)
		}
		if n := h.count(`SELECT COUNT(*) FROM refused WHERE reason = 'old'`); n != 0 {
			t.Errorf("%d refusals older than 30 days kept", n)
		}
		// By age alone.
		if err := store.AddRefusal(ctx, storage.Refusal{ReceivedAt: now.Add(-31 * 24 * time.Hour), Status: 401, Reason: "old"}); err != nil {
			t.Fatal(err)
		}
		if n, err := store.PruneRefused(ctx, now.Add(-DefaultRefusedMaxAge), 1000); err != nil || n != 1 {
			t.Errorf("pruning by age removed %d rows (%v), want 1", n, err)
		}
	})
}

// unsigned posts an unsigned Follow as if forwarded for client by the proxy in front of us.
func (h *inboxHarness) unsigned(t *testing.T, a *fedtest.Actor, xff string) int {
	t.Helper()
	follow := a.Shape(t, fedtest.Fixture(t, "mastodon/follow.json"), fedtest.Target{Object: h.urls.Actor()})
	req := a.NewRequest(t, h.sharedInbox(), follow, fedtest.SignOptions{})
	req.Header.Del("Signature")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	return fedtest.Do(t, req).Status
}

// Behind a trusted proxy each client has its own bucket; an untrusted peer's X-Forwarded-For is ignored; an IPv6
// /64 is one client. The refusal records the address the limit used.
func TestInboxLimitsBehindAProxy(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		inst := fedtest.NewInstance(t, "proxied")
		alice := inst.NewActor("alice")
		limited := Config{PerIP: 0.001, PerIPBurst: 2}

		// The test's loopback peer is a trusted proxy by default.
		h := newInboxHarness(t, store, inboxHarnessOpts{inbox: limited})
		for _, c := range []struct {
			xff  string
			want []int
		}{
			{"198.51.100.7, 127.0.0.1", []int{401, 401, 429}},
			{"203.0.113.9", []int{401, 401, 429}},
			// A client that prepends a made-up address is still keyed on the address the proxy saw.
			{"192.0.2.1, 203.0.113.9", []int{429}},
			{"2001:db8:1:2::1", []int{401}},
			{"2001:db8:1:2:ffff::99", []int{401, 429}},
			{"2001:db8:1:3::1", []int{401}},
		} {
			for i, want := range c.want {
				if got := h.unsigned(t, alice, c.xff); got != want {
					t.Fatalf("client %s, request %d: %d, want %d", c.xff, i+1, got, want)
				}
			}
		}
		refusals, err := store.Refusals(context.Background(), 1)
		if err != nil || len(refusals) != 1 || refusals[0].RemoteAddr != "2001:db8:1:3::1" {
			t.Fatalf("last refusal %+v, %v: want it recorded for 2001:db8:1:3::1", refusals, err)
		}

		// A peer that is not a trusted proxy cannot choose its address: all of these are one bucket, 127.0.0.1.
		p, err := clientaddr.Parse("10.0.0.0/8")
		if err != nil {
			t.Fatal(err)
		}
		cfg := limited
		cfg.Proxies = p
		u := newInboxHarness(t, storagetest.Open(t, storagetest.SQLiteDSN(t)), inboxHarnessOpts{inbox: cfg})
		for i, xff := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
			want := 401
			if i == 2 {
				want = 429
			}
			if got := u.unsigned(t, alice, xff); got != want {
				t.Fatalf("untrusted peer claiming %s: %d, want %d", xff, got, want)
			}
		}
		if r, err := u.store.Refusals(context.Background(), 1); err != nil || len(r) != 1 || r[0].RemoteAddr != "127.0.0.1" {
			t.Fatalf("refusal from an untrusted peer: %+v, %v; want the peer's own address", r, err)
		}
	})
}

// 1,000 Follows from one host within a minute, each from its own address and actor: no more than the hourly
// limit is accepted and stored as followers, the rest get 429 and leave nothing, not even a refusal row. The
// limit per address holds across hosts the same way.
func TestFollowFloodIsCapped(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{inbox: Config{PerIP: 1e4, PerIPBurst: 1e4, PerHost: 1e4, PerHostBurst: 1e4}})
		inst := fedtest.NewInstance(t, "junk")
		key := inst.NewActor("a0").Key
		fix := fedtest.Fixture(t, "mastodon/follow.json")
		start := time.Now()
		statuses := map[int]int{}
		for i := range 1000 {
			a := inst.NewActorWithKey(fmt.Sprintf("u%d", i), key)
			req := a.NewRequest(t, h.sharedInbox(), a.Shape(t, fix, fedtest.Target{Object: h.urls.Actor()}), fedtest.SignOptions{})
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.1", i/256, i%256))
			resp := fedtest.Do(t, req)
			statuses[resp.Status]++
			if resp.Status == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
		elapsed := time.Since(start)
		h.process()
		// The bucket refills at limit/hour while the test runs.
		most := DefaultFollowLimit + int(elapsed.Seconds()*DefaultFollowLimit/3600)
		followers := h.count(`SELECT COUNT(*) FROM followers`)
		t.Logf("statuses %v in %v; %d followers", statuses, elapsed, followers)
		if followers < DefaultFollowLimit || followers > most {
			t.Errorf("%d followers stored from one host, want %d (at most %d)", followers, DefaultFollowLimit, most)
		}
		if statuses[http.StatusAccepted] != followers || statuses[http.StatusTooManyRequests] != 1000-followers {
			t.Errorf("statuses %v for %d followers", statuses, followers)
		}
		if n := h.count(`SELECT COUNT(*) FROM inbox_activities`); n != followers {
			t.Errorf("%d activities stored, want the %d accepted", n, followers)
		}
		if n := h.count(`SELECT COUNT(*) FROM refused`); n != 0 {
			t.Errorf("%d refusals recorded for 429s", n)
		}

		// One address, two hosts: the address's budget is shared.
		s2 := storagetest.Open(t, storagetest.SQLiteDSN(t))
		h2 := newInboxHarness(t, s2, inboxHarnessOpts{inbox: Config{FollowLimit: 10}})
		accepted := 0
		for _, name := range []string{"one", "two"} {
			other := fedtest.NewInstance(t, name)
			for i := range 8 {
				a := other.NewActorWithKey(fmt.Sprintf("u%d", i), key)
				req := a.NewRequest(t, h2.sharedInbox(), a.Shape(t, fix, fedtest.Target{Object: h2.urls.Actor()}), fedtest.SignOptions{})
				req.Header.Set("X-Forwarded-For", "198.51.100.20")
				if resp := fedtest.Do(t, req); resp.Status == http.StatusAccepted {
					accepted++
				}
			}
		}
		h2.process()
		if n := h2.count(`SELECT COUNT(*) FROM followers`); accepted != 10 || n != 10 {
			t.Errorf("one address: %d accepted, %d followers; want 10 and 10", accepted, n)
		}
	})
}
