package interact

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/fetch"
)

const object = "https://memo.example/memo"

func newResolver(cfg Config) *Resolver {
	cfg.Client = fetch.New(fetch.Config{UserAgent: "memo-test", AllowPrivate: true, Timeout: time.Second, HeaderTimeout: time.Second})
	cfg.AllowPrivate = true
	return New(cfg)
}

func TestCheckTarget(t *testing.T) {
	r := New(Config{})
	p := New(Config{AllowPrivate: true})
	for _, c := range []struct {
		tmpl, host string
		private    bool
		ok         bool
	}{
		{"https://social.example/authorize_interaction?uri={uri}", "social.example", false, true},
		{"https://Social.Example:443/authorize_interaction?uri={uri}", "social.example", false, true},
		{"https://social.example:8443/x?uri={uri}", "social.example:8443", false, true},
		{"http://127.0.0.5:8081/x?uri={uri}", "127.0.0.5:8081", true, true},

		{"http://social.example/x?uri={uri}", "social.example", false, false}, // plain HTTP without the setting
		{"https://evil.example/x?uri={uri}", "social.example", false, false},  // another host
		{"https://social.example.evil.example/x?uri={uri}", "social.example", false, false},
		{"https://social.example:8443/x?uri={uri}", "social.example", false, false}, // another port
		{"https://social.example@evil.example/x?uri={uri}", "social.example", false, false},
		{"https://evil.example@social.example/x?uri={uri}", "social.example", false, false}, // userinfo
		{"//evil.example/x?uri={uri}", "social.example", false, false},
		{"/x?uri={uri}", "social.example", false, false},
		{"javascript:alert('{uri}')", "social.example", false, false},
		{"https://social.example/x", "social.example", false, false}, // no placeholder
	} {
		res := r
		if c.private {
			res = p
		}
		err := res.checkTarget(c.tmpl, "{uri}", c.host)
		if (err == nil) != c.ok {
			t.Errorf("checkTarget(%q, %q) = %v, want ok=%v", c.tmpl, c.host, err, c.ok)
		}
	}
}

// TestInteractionIsCached: an answer is kept for TTL, a failure for FailTTL; then the host is asked again.
func TestInteractionIsCached(t *testing.T) {
	inst := fedtest.NewInstance(t, "mastodon")
	inst.RunAs(fedtest.SoftMastodon)
	inst.NewActorWithKey("alice", nil)
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := newResolver(Config{Now: clock, TTL: time.Minute, FailTTL: 10 * time.Second})

	want := inst.Base + "/authorize_interaction?uri=" + url.QueryEscape(object)
	for range 3 {
		got, _, err := r.Interaction(context.Background(), "alice", inst.Host, object)
		if err != nil || got != want {
			t.Fatalf("Interaction = %q, %v; want %q", got, err, want)
		}
	}
	if n := len(inst.Gets()); n != 1 {
		t.Errorf("%d WebFinger requests for 3 look-ups, want 1", n)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	r.Interaction(context.Background(), "alice", inst.Host, object)
	if n := len(inst.Gets()); n != 2 {
		t.Errorf("%d WebFinger requests after the TTL, want 2", n)
	}

	// A failure (a bare host without NodeInfo) is kept for FailTTL only.
	var hits atomic.Int32
	inst.Handle("/.well-known/nodeinfo", func(w http.ResponseWriter, r *http.Request) { hits.Add(1); http.NotFound(w, r) })
	for range 2 {
		if got, _, err := r.Interaction(context.Background(), "", inst.Host, object); got != "" || err == nil {
			t.Fatalf("no NodeInfo: %q, %v", got, err)
		}
	}
	mu.Lock()
	now = now.Add(11 * time.Second)
	mu.Unlock()
	r.Interaction(context.Background(), "", inst.Host, object)
	if n := hits.Load(); n != 2 {
		t.Errorf("NodeInfo asked %d times, want 2 (once, then after FailTTL)", n)
	}
}

// TestInteractionBounds: the cache holds at most MaxEntries, and at most MaxInFlight look-ups run at once; one
// more is answered at once with ErrBusy.
func TestInteractionBounds(t *testing.T) {
	r := newResolver(Config{MaxEntries: 3})
	for range 6 {
		srv := httptest.NewServer(http.NotFoundHandler())
		host := strings.TrimPrefix(srv.URL, "http://")
		srv.Close()
		r.Interaction(context.Background(), "", host, object)
	}
	r.mu.Lock()
	n := len(r.cache)
	r.mu.Unlock()
	if n > 3 {
		t.Errorf("cache holds %d entries, want at most 3", n)
	}

	busy := newResolver(Config{MaxInFlight: 1, Deadline: 5 * time.Second})
	slow := fedtest.NewInstance(t, "slow")
	started := make(chan struct{}, 4)
	slow.Handle("/.well-known/nodeinfo", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		busy.Interaction(ctx, "", slow.Host, object)
	}()
	<-started
	other := fedtest.NewInstance(t, "other")
	other.RunAs(fedtest.SoftMastodon)
	if got, _, err := busy.Interaction(context.Background(), "", other.Host, object); got != "" || !errors.Is(err, ErrBusy) {
		t.Errorf("second look-up while one runs: %q, %v; want ErrBusy", got, err)
	}
	cancel()
	<-done
}
