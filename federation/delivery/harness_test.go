package delivery

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fed/httpsig"

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

// instance is a simulated remote server: it verifies each delivery's signature and digest as Mastodon does, counts
// what arrives per inbox path, and answers as its respond function says.
type instance struct {
	t       testing.TB
	srv     *httptest.Server
	host    string
	respond func(path string, n int) (int, http.Header)
	// hang, when set, holds every request until it is closed or the client gives up.
	hang chan struct{}
	// delay slows every answer down.
	delay time.Duration

	mu       sync.Mutex
	hits     map[string]int // verified requests per path
	finished map[string]int // requests answered per path
	bad      []string
	ua       map[string]int
	objects  map[string]int // "Type object-type" of each verified body
	ids      map[string]int // activity id of each verified body
}

func newInstance(t testing.TB, respond func(path string, n int) (int, http.Header)) *instance {
	i := &instance{t: t, respond: respond, hits: map[string]int{}, finished: map[string]int{}, ua: map[string]int{}, objects: map[string]int{}, ids: map[string]int{}}
	if i.respond == nil {
		i.respond = accept
	}
	pub := &key(t).PublicKey
	i.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			err = verifyDelivery(r, body, pub)
		}
		if err != nil {
			i.mu.Lock()
			i.bad = append(i.bad, r.URL.Path+": "+err.Error())
			i.mu.Unlock()
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		i.mu.Lock()
		i.hits[r.URL.Path]++
		i.ua[r.UserAgent()]++
		var a struct {
			ID     string `json:"id"`
			Type   string `json:"type"`
			Object struct {
				Type string `json:"type"`
			} `json:"object"`
		}
		json.Unmarshal(body, &a)
		i.objects[a.Type+" "+a.Object.Type]++
		i.ids[a.ID]++
		n := i.hits[r.URL.Path]
		hang := i.hang
		i.mu.Unlock()
		if i.delay > 0 {
			time.Sleep(i.delay)
		}
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
				return
			}
		}
		status, h := i.respond(r.URL.Path, n)
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		i.mu.Lock()
		i.finished[r.URL.Path]++
		i.mu.Unlock()
	}))
	u, _ := url.Parse(i.srv.URL)
	i.host = u.Host
	t.Cleanup(func() {
		i.mu.Lock()
		if i.hang != nil {
			select {
			case <-i.hang:
			default:
				close(i.hang)
			}
		}
		i.mu.Unlock()
		i.srv.CloseClientConnections()
		i.srv.Close()
	})
	return i
}

func accept(string, int) (int, http.Header) { return http.StatusAccepted, nil }

func (i *instance) inbox(path string) string { return i.srv.URL + path }

func (i *instance) count(path string) int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.hits[path]
}

func (i *instance) done(path string) int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.finished[path]
}

func (i *instance) total() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	n := 0
	for _, v := range i.hits {
		n += v
	}
	return n
}

func (i *instance) failures() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]string(nil), i.bad...)
}

var headersParam = regexp.MustCompile(`headers="([^"]*)"`)

// verifyDelivery checks a POST the way a careful receiver does: go-fed/httpsig for the RSA maths, and by hand what
// it leaves out (signed-header set, Digest against the body, Date freshness, key id, content type, user agent).
func verifyDelivery(r *http.Request, body []byte, pub *rsa.PublicKey) error {
	if r.Method != http.MethodPost {
		return fmt.Errorf("method %s", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/activity+json" {
		return fmt.Errorf("content type %q", ct)
	}
	if !strings.HasPrefix(r.UserAgent(), "memo/") {
		return fmt.Errorf("user agent %q", r.UserAgent())
	}
	m := headersParam.FindStringSubmatch(r.Header.Get("Signature"))
	if m == nil || m[1] != "(request-target) host date digest" {
		return fmt.Errorf("signed headers %q", r.Header.Get("Signature"))
	}
	sum := sha256.Sum256(body)
	if want := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:]); r.Header.Get("Digest") != want {
		return fmt.Errorf("digest %q, body says %q", r.Header.Get("Digest"), want)
	}
	date, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil || time.Since(date) > time.Minute || time.Until(date) > time.Minute {
		return fmt.Errorf("date %q", r.Header.Get("Date"))
	}
	v, err := httpsig.NewVerifier(r)
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	if v.KeyId() != testKeyID {
		return fmt.Errorf("key id %q", v.KeyId())
	}
	if err := v.Verify(pub, httpsig.RSA_SHA256); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	var a map[string]any
	if err := json.Unmarshal(body, &a); err != nil || a["id"] == nil {
		return fmt.Errorf("body is not an activity: %s", body)
	}
	return nil
}

// follow adds followers to the store: one per personal inbox path, all sharing sharedPath when it is not empty.
func follow(t testing.TB, s *storage.Store, i *instance, n int, shared bool) []storage.Follower {
	t.Helper()
	var out []storage.Follower
	err := s.InTx(context.Background(), func(tx *storage.Tx) error {
		for k := 0; k < n; k++ {
			f := storage.Follower{
				ActorIRI:  fmt.Sprintf("%s/users/u%d", i.srv.URL, k),
				FollowIRI: fmt.Sprintf("%s/follows/%d", i.srv.URL, k),
				Inbox:     fmt.Sprintf("%s/users/u%d/inbox", i.srv.URL, k),
				Domain:    i.host,
			}
			if shared {
				f.SharedInbox = i.srv.URL + "/inbox"
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

// waitFor polls cond until it holds; the limit only turns a hang into a failure, it asserts no speed.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitIdle waits until nothing is in flight and nothing is due at the clock's time.
func waitIdle(t testing.TB, s *storage.Store, clk *fakeClock) {
	t.Helper()
	waitFor(t, "an idle queue", func() bool {
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
