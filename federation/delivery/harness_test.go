package delivery

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

const testKeyID = "http://memo.test/users/memo#main-key"

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// key is one RSA key for the whole test binary: generating one per test costs more than the tests.
func key(t testing.TB) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

// fakeClock is the scheduling clock the tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// newInstance starts a simulated remote server (fedtest) that verifies each delivery as a careful receiver does:
// the signature with our key, and what our deliveries promise beyond it (fedtest.MemoDelivery). It misbehaves as
// f says (the zero Failure: it accepts everything).
func newInstance(t testing.TB, f fedtest.Failure) *fedtest.Instance {
	t.Helper()
	inst := fedtest.NewInstance(t, "remote")
	inst.TrustKey(testKeyID, &key(t).PublicKey)
	inst.SetCheck(fedtest.MemoDelivery(testKeyID))
	inst.SetFailure(f)
	return inst
}

// holdUntil keeps each request open until release is closed or the client gives up.
func holdUntil(release <-chan struct{}) func(context.Context) {
	return func(ctx context.Context) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
}

// arrived and answered count the accepted requests on an inbox path, when they arrive and once answered; total
// counts those that arrived on every path.
func arrived(i *fedtest.Instance, path string) int  { return i.Tally().Arrived[path] }
func answered(i *fedtest.Instance, path string) int { return i.Tally().Answered[path] }
func total(i *fedtest.Instance) int                 { return i.Tally().Total() }

// follow adds followers to the store: one per personal inbox path, all sharing sharedPath when it is not empty.
func follow(t testing.TB, s *storage.Store, i *fedtest.Instance, n int, shared bool) []storage.Follower {
	t.Helper()
	var out []storage.Follower
	err := s.InTx(context.Background(), func(tx *storage.Tx) error {
		for k := 0; k < n; k++ {
			f := storage.Follower{
				ActorIRI:  fmt.Sprintf("%s/users/u%d", i.Base, k),
				FollowIRI: fmt.Sprintf("%s/follows/%d", i.Base, k),
				Inbox:     fmt.Sprintf("%s/users/u%d/inbox", i.Base, k),
				Domain:    i.Host,
			}
			if shared {
				f.SharedInbox = i.SharedInbox()
			}
			if err := tx.AddFollower(context.Background(), f); err != nil {
				return err
			}
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// publish stores an activity addressed to every follower, as the publishing side does.
func publish(t testing.TB, s *storage.Store, iri string) {
	t.Helper()
	body := fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Update","actor":"http://memo.test/users/memo","object":{"id":"http://memo.test/memo","type":"Article"}}`, iri)
	err := s.InTx(context.Background(), func(tx *storage.Tx) error {
		rs, err := tx.FollowerRecipients(context.Background())
		if err != nil {
			return err
		}
		return tx.InsertActivity(context.Background(), storage.Activity{IRI: iri, Type: "Update", Body: body, InOutbox: true}, rs)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitIdle waits until nothing is in flight and nothing is due at the clock's time.
func waitIdle(t testing.TB, s *storage.Store, clk *fakeClock) {
	t.Helper()
	testwait.Until(t, "an idle queue", func() bool {
		// Due first, in flight second: a row claimed between the two reads is seen in flight, never missed.
		due, err := s.HasDueDeliveries(context.Background(), clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.DeliveryCounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return c[storage.DeliveryInflight] == 0 && !due
	})
}

// startWorker runs a worker until the test ends and checks that it stops cleanly.
func startWorker(t testing.TB, cfg Config) *Worker {
	t.Helper()
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	cfg.Key, cfg.KeyID = key(t), testKeyID
	if cfg.UserAgent == "" {
		cfg.UserAgent = "memo/test (+http://memo.test)"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.Poll == 0 {
		cfg.Poll = 20 * time.Millisecond
	}
	if cfg.Rand == nil {
		cfg.Rand = func() float64 { return 0.5 } // no jitter: exact schedules
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("worker Run: %v", err)
		}
	})
	return w
}

func deliveryByInbox(t testing.TB, s *storage.Store, activity, inbox string) storage.Delivery {
	t.Helper()
	rows, err := storagetest.DeliveriesOf(context.Background(), s, activity)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range rows {
		if d.Inbox == inbox {
			return d
		}
	}
	t.Fatalf("no delivery of %s to %s", activity, inbox)
	return storage.Delivery{}
}
