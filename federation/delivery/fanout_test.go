package delivery

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// 200 followers on 50 instances, some behind a shared inbox, some not, some failing in every way a remote fails.
// Every instance must receive the Update exactly as often as expected, over several retry rounds driven by the
// injected clock, and a very slow instance must not hold up the others.
func TestFanOut(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		clk := newClock()
		t0 := clk.Now()
		s.SetClock(clk.Now)
		const act = "http://memo.test/activities/update-2"

		var okGroups []group
		// 30 instances with a shared inbox, 4 followers each, and 12 without, 5 followers each: 180 followers.
		for k := 0; k < 42; k++ {
			g := group{inst: newInstance(t, nil), followers: 4, shared: true}
			if k >= 30 {
				g.followers, g.shared = 5, false
			}
			okGroups = append(okGroups, g)
		}
		always500 := newInstance(t, func(string, int) (int, http.Header) { return 500, nil })
		timeout := newInstance(t, nil)
		timeout.hang = make(chan struct{}) // never answers: the client's timeout ends each try
		throttled := newInstance(t, func(_ string, n int) (int, http.Header) {
			if n == 1 {
				return 429, http.Header{"Retry-After": {"300"}}
			}
			return 202, nil
		})
		maintenance := newInstance(t, func(_ string, n int) (int, http.Header) {
			if n == 1 {
				return 503, http.Header{"Retry-After": {t0.Add(10 * time.Minute).Format(http.TimeFormat)}}
			}
			return 200, nil
		})
		goneOne := newInstance(t, func(path string, _ int) (int, http.Header) {
			if path == "/users/u0/inbox" {
				return 410, nil
			}
			return 202, nil
		})
		goneShared := newInstance(t, func(path string, _ int) (int, http.Header) {
			if path == "/inbox" {
				return 410, nil
			}
			return 202, nil
		})
		refusing := newInstance(t, func(string, int) (int, http.Header) { return 403, nil })
		slow := newInstance(t, nil)
		slow.hang = make(chan struct{})

		followers := 0
		for _, g := range okGroups {
			follow(t, s, g.inst, g.followers, g.shared)
			followers += g.followers
		}
		for _, g := range []group{{always500, 3, true}, {timeout, 2, false}, {throttled, 3, true}, {maintenance, 2, true},
			{goneOne, 3, false}, {goneShared, 2, true}, {refusing, 2, false}, {slow, 3, true}} {
			follow(t, s, g.inst, g.followers, g.shared)
			followers += g.followers
		}
		if followers != 200 {
			t.Fatalf("set-up has %d followers, want 200", followers)
		}
		publish(t, s, act)
		// The silent instance times out on a short deadline of its own, so that the slow one can stay open for as
		// long as the others take, however loaded the machine; the worker's own Timeout is tested on its own.
		client := &http.Client{Transport: shortDeadlineFor(timeout.host, 300*time.Millisecond)}
		startWorker(t, Config{Store: s, Clock: clk.Now, Client: client, Concurrency: 16, PerDomain: 4, Lease: 10 * time.Minute})

		// Round 1. Everyone but the slow and the silent instances is answered while the slow one still holds its
		// request open.
		waitFor(t, "every prompt instance to be served", func() bool {
			for _, g := range okGroups {
				if g.shared && g.inst.done("/inbox") < 1 {
					return false
				}
				if !g.shared && g.inst.total() < g.followers {
					return false
				}
			}
			return always500.done("/inbox") == 1 && throttled.done("/inbox") == 1 && maintenance.done("/inbox") == 1 &&
				goneOne.total() == 3 && goneShared.total() == 3 && refusing.total() == 2 && slow.count("/inbox") == 1
		})
		waitFor(t, "the prompt instances' results to be recorded", func() bool {
			c, _ := s.DeliveryCounts(context.Background())
			return c[storage.DeliveryInflight] == 1 // the slow one
		})
		if slow.done("/inbox") != 0 {
			t.Fatal("the slow instance answered before the others were served: it was not slow enough to prove anything")
		}
		if d := deliveryByInbox(t, s, act, slow.inbox("/inbox")); d.State != storage.DeliveryInflight {
			t.Fatalf("slow instance's delivery is %s while its request is open, want inflight", d.State)
		}
		close(slow.hang)
		waitIdle(t, s, clk)

		for k, g := range okGroups {
			if g.shared {
				if n := g.inst.count("/inbox"); n != 1 || g.inst.total() != 1 {
					t.Errorf("shared instance %d: %d requests on its shared inbox, %d in all; want exactly 1", k, n, g.inst.total())
				}
				continue
			}
			for f := 0; f < g.followers; f++ {
				if n := g.inst.count(pathOf(f)); n != 1 {
					t.Errorf("instance %d follower %d: %d requests, want 1", k, f, n)
				}
			}
		}
		if d := deliveryByInbox(t, s, act, always500.inbox("/inbox")); d.State != storage.DeliveryPending || d.Attempts != 1 || d.LastStatus != 500 || !d.NextAttemptAt().Equal(t0.Add(time.Minute)) {
			t.Errorf("500 delivery after round 1: %+v", d)
		}
		for f := 0; f < 2; f++ {
			d := deliveryByInbox(t, s, act, timeout.inbox(pathOf(f)))
			if d.State != storage.DeliveryPending || d.Attempts != 1 || d.LastStatus != 0 || !strings.Contains(d.LastError, "deadline") {
				t.Errorf("timed-out delivery after round 1: %+v", d)
			}
		}
		if d := deliveryByInbox(t, s, act, throttled.inbox("/inbox")); d.State != storage.DeliveryPending || !d.NextAttemptAt().Equal(t0.Add(300*time.Second)) {
			t.Errorf("429 delivery should wait the 300 s of Retry-After: %+v", d)
		}
		if d := deliveryByInbox(t, s, act, maintenance.inbox("/inbox")); d.State != storage.DeliveryPending || !d.NextAttemptAt().Equal(t0.Add(10*time.Minute)) {
			t.Errorf("503 delivery should wait until the Retry-After date: %+v", d)
		}
		if d := deliveryByInbox(t, s, act, refusing.inbox(pathOf(0))); d.State != storage.DeliveryFailed || d.LastStatus != 403 {
			t.Errorf("403 should be final: %+v", d)
		}
		// 410 on a personal inbox removes that follower only.
		if _, err := s.Follower(context.Background(), goneOne.srv.URL+"/users/u0"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("follower behind a gone inbox still follows: %v", err)
		}
		if _, err := s.Follower(context.Background(), goneOne.srv.URL+"/users/u1"); err != nil {
			t.Errorf("neighbour of a gone inbox was removed: %v", err)
		}
		// 410 on a shared inbox keeps its followers and reaches them one by one.
		if goneShared.count("/inbox") != 1 || goneShared.count(pathOf(0)) != 1 || goneShared.count(pathOf(1)) != 1 {
			t.Errorf("gone shared inbox: requests %v", goneShared.hits)
		}
		if f, err := s.Follower(context.Background(), goneShared.srv.URL+"/users/u0"); err != nil || f.SharedInbox != "" {
			t.Errorf("follower behind a gone shared inbox: %+v, %v", f, err)
		}
		if d := deliveryByInbox(t, s, act, slow.inbox("/inbox")); d.State != storage.DeliveryDelivered {
			t.Errorf("slow delivery: %+v", d)
		}

		// Round 2, two minutes later: the 500 and the silent instances are due again, the throttled one is not.
		clk.Set(t0.Add(2 * time.Minute))
		waitIdle(t, s, clk)
		if always500.count("/inbox") != 2 || timeout.count(pathOf(0)) != 2 || timeout.count(pathOf(1)) != 2 {
			t.Errorf("round 2: 500 got %d, silent got %d and %d; want 2 each", always500.count("/inbox"), timeout.count(pathOf(0)), timeout.count(pathOf(1)))
		}
		if throttled.count("/inbox") != 1 || maintenance.count("/inbox") != 1 {
			t.Errorf("round 2: retried before Retry-After: 429 got %d, 503 got %d", throttled.count("/inbox"), maintenance.count("/inbox"))
		}

		// Round 3, eleven minutes in: everything still pending is due (500 and silent after their 5 min delay).
		clk.Set(t0.Add(11 * time.Minute))
		waitIdle(t, s, clk)
		if throttled.count("/inbox") != 2 || maintenance.count("/inbox") != 2 {
			t.Errorf("round 3: 429 got %d, 503 got %d; want 2 each", throttled.count("/inbox"), maintenance.count("/inbox"))
		}
		for _, inbox := range []string{throttled.inbox("/inbox"), maintenance.inbox("/inbox")} {
			if d := deliveryByInbox(t, s, act, inbox); d.State != storage.DeliveryDelivered || d.Attempts != 2 {
				t.Errorf("after its pause the remote accepted: %+v", d)
			}
		}
		if always500.count("/inbox") != 3 {
			t.Errorf("round 3: 500 got %d, want 3", always500.count("/inbox"))
		}
		// Nothing final was retried and nothing delivered was sent twice.
		if refusing.total() != 2 || goneOne.count(pathOf(0)) != 1 || slow.total() != 1 {
			t.Errorf("final answers retried: 403 %d, 410 %d, slow %d", refusing.total(), goneOne.count(pathOf(0)), slow.total())
		}
		for k, g := range okGroups {
			want := 1
			if !g.shared {
				want = g.followers
			}
			if g.inst.total() != want {
				t.Errorf("instance %d received %d requests in all, want %d", k, g.inst.total(), want)
			}
		}
		for _, i := range append([]*instance{always500, timeout, throttled, maintenance, goneOne, goneShared, refusing, slow}, instancesOf(okGroups)...) {
			if bad := i.failures(); len(bad) > 0 {
				t.Errorf("%s refused our signature: %v", i.host, bad)
			}
		}
	})
}

func pathOf(follower int) string { return "/users/u" + strconv.Itoa(follower) + "/inbox" }

// group is an instance with its followers.
type group struct {
	inst      *instance
	followers int
	shared    bool
}

func instancesOf(gs []group) []*instance {
	out := make([]*instance, len(gs))
	for i, g := range gs {
		out[i] = g.inst
	}
	return out
}

// shortDeadlineFor gives requests to host a deadline of d: that remote "times out" without slowing the test.
func shortDeadlineFor(host string, d time.Duration) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host != host {
			return http.DefaultTransport.RoundTrip(r)
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		resp, err := http.DefaultTransport.RoundTrip(r.WithContext(ctx))
		if err != nil {
			cancel()
			return nil, err
		}
		resp.Body = cancelOnClose{resp.Body, cancel}
		return resp, nil
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error { c.cancel(); return c.ReadCloser.Close() }

// The worker's own per-request timeout ends a request to a remote that never answers, and counts as a retry.
func TestRequestTimeout(t *testing.T) {
	s := storagetest.Open(t, storagetest.SQLiteDSN(t))
	clk := newClock()
	s.SetClock(clk.Now)
	silent := newInstance(t, nil)
	silent.hang = make(chan struct{})
	follow(t, s, silent, 1, true)
	const act = "http://memo.test/activities/silent"
	publish(t, s, act)
	startWorker(t, Config{Store: s, Clock: clk.Now, Lease: 10 * time.Second, Timeout: 200 * time.Millisecond})
	waitIdle(t, s, clk)
	d := deliveryByInbox(t, s, act, silent.inbox("/inbox"))
	if d.State != storage.DeliveryPending || d.Attempts != 1 || !strings.Contains(d.LastError, "deadline") || silent.count("/inbox") != 1 {
		t.Fatalf("after a timeout: %+v, %d requests", d, silent.count("/inbox"))
	}
	if dom, err := storagetest.DomainStatus(context.Background(), s, silent.host); err != nil || dom.Failures != 1 {
		t.Fatalf("a timeout counts against the domain: %+v, %v", dom, err)
	}
}

// An inbox that redirects is not followed: the POST would turn into a GET and look delivered.
func TestRedirectIsNotFollowed(t *testing.T) {
	s := storagetest.Open(t, storagetest.SQLiteDSN(t))
	clk := newClock()
	s.SetClock(clk.Now)
	target := newInstance(t, nil)
	moved := newInstance(t, func(string, int) (int, http.Header) {
		return http.StatusFound, http.Header{"Location": {target.inbox("/inbox")}}
	})
	follow(t, s, moved, 1, true)
	const act = "http://memo.test/activities/moved"
	publish(t, s, act)
	startWorker(t, Config{Store: s, Clock: clk.Now, Lease: 10 * time.Second})
	waitIdle(t, s, clk)
	d := deliveryByInbox(t, s, act, moved.inbox("/inbox"))
	if d.State != storage.DeliveryFailed || d.LastStatus != http.StatusFound {
		t.Fatalf("redirected delivery: %+v", d)
	}
	if target.total() != 0 || len(target.failures()) != 0 {
		t.Fatalf("the redirect was followed: %v %v", target.hits, target.failures())
	}
}
