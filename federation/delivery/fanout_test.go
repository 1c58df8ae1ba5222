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

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/internal/testwait"
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
			g := group{inst: newInstance(t, fedtest.Failure{}), followers: 4, shared: true}
			if k >= 30 {
				g.followers, g.shared = 5, false
			}
			okGroups = append(okGroups, g)
		}
		always500 := newInstance(t, fedtest.Failure{Status: 500})
		timeout := newInstance(t, fedtest.Failure{Hang: true}) // never answers: the client's timeout ends each try
		throttled := newInstance(t, fedtest.Failure{Status: 429, RetryAfter: "300", Times: 1})
		maintenance := newInstance(t, fedtest.Failure{Status: 503, RetryAfter: t0.Add(10 * time.Minute).Format(http.TimeFormat), Times: 1})
		goneOne := newInstance(t, fedtest.Failure{Status: 410, Path: "/users/u0/inbox"})
		goneShared := newInstance(t, fedtest.Failure{Status: 410, Path: "/inbox"})
		refusing := newInstance(t, fedtest.Failure{Status: 403})
		releaseSlow := make(chan struct{})
		slow := newInstance(t, fedtest.Failure{Hold: holdUntil(releaseSlow)})

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
		client := &http.Client{Transport: shortDeadlineFor(timeout.Host, 300*time.Millisecond)}
		startWorker(t, Config{Store: s, Clock: clk.Now, Client: client, Concurrency: 16, PerDomain: 4, Lease: 10 * time.Minute})

		// Round 1. Everyone but the slow and the silent instances is answered while the slow one still holds its
		// request open.
		testwait.Until(t, "every prompt instance to be served", func() bool {
			for _, g := range okGroups {
				if g.shared && answered(g.inst, "/inbox") < 1 {
					return false
				}
				if !g.shared && total(g.inst) < g.followers {
					return false
				}
			}
			return answered(always500, "/inbox") == 1 && answered(throttled, "/inbox") == 1 && answered(maintenance, "/inbox") == 1 &&
				total(goneOne) == 3 && total(goneShared) == 3 && total(refusing) == 2 && arrived(slow, "/inbox") == 1
		})
		testwait.Until(t, "the prompt instances' results to be recorded", func() bool {
			c, _ := s.DeliveryCounts(context.Background())
			return c[storage.DeliveryInflight] == 1 // the slow one
		})
		if answered(slow, "/inbox") != 0 {
			t.Fatal("the slow instance answered before the others were served: it was not slow enough to prove anything")
		}
		if d := deliveryByInbox(t, s, act, slow.SharedInbox()); d.State != storage.DeliveryInflight {
			t.Fatalf("slow instance's delivery is %s while its request is open, want inflight", d.State)
		}
		close(releaseSlow)
		waitIdle(t, s, clk)

		for k, g := range okGroups {
			if g.shared {
				if n := arrived(g.inst, "/inbox"); n != 1 || total(g.inst) != 1 {
					t.Errorf("shared instance %d: %d requests on its shared inbox, %d in all; want exactly 1", k, n, total(g.inst))
				}
				continue
			}
			for f := 0; f < g.followers; f++ {
				if n := arrived(g.inst, pathOf(f)); n != 1 {
					t.Errorf("instance %d follower %d: %d requests, want 1", k, f, n)
				}
			}
		}
		if d := deliveryByInbox(t, s, act, always500.SharedInbox()); d.State != storage.DeliveryPending || d.Attempts != 1 || d.LastStatus != 500 || !d.NextAttemptAt().Equal(t0.Add(time.Minute)) {
			t.Errorf("500 delivery after round 1: %+v", d)
		}
		for f := 0; f < 2; f++ {
			d := deliveryByInbox(t, s, act, timeout.Base+pathOf(f))
			if d.State != storage.DeliveryPending || d.Attempts != 1 || d.LastStatus != 0 || !strings.Contains(d.LastError, "deadline") {
				t.Errorf("timed-out delivery after round 1: %+v", d)
			}
		}
		if d := deliveryByInbox(t, s, act, throttled.SharedInbox()); d.State != storage.DeliveryPending || !d.NextAttemptAt().Equal(t0.Add(300*time.Second)) {
			t.Errorf("429 delivery should wait the 300 s of Retry-After: %+v", d)
		}
		if d := deliveryByInbox(t, s, act, maintenance.SharedInbox()); d.State != storage.DeliveryPending || !d.NextAttemptAt().Equal(t0.Add(10*time.Minute)) {
			t.Errorf("503 delivery should wait until the Retry-After date: %+v", d)
		}
		if d := deliveryByInbox(t, s, act, refusing.Base+pathOf(0)); d.State != storage.DeliveryFailed || d.LastStatus != 403 {
			t.Errorf("403 should be final: %+v", d)
		}
		// 410 on a personal inbox removes that follower only.
		if _, err := s.Follower(context.Background(), goneOne.Base+"/users/u0"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("follower behind a gone inbox still follows: %v", err)
		}
		if _, err := s.Follower(context.Background(), goneOne.Base+"/users/u1"); err != nil {
			t.Errorf("neighbour of a gone inbox was removed: %v", err)
		}
		// 410 on a shared inbox keeps its followers and reaches them one by one.
		if arrived(goneShared, "/inbox") != 1 || arrived(goneShared, pathOf(0)) != 1 || arrived(goneShared, pathOf(1)) != 1 {
			t.Errorf("gone shared inbox: requests %v", goneShared.Tally().Arrived)
		}
		if f, err := s.Follower(context.Background(), goneShared.Base+"/users/u0"); err != nil || f.SharedInbox != "" {
			t.Errorf("follower behind a gone shared inbox: %+v, %v", f, err)
		}
		if d := deliveryByInbox(t, s, act, slow.SharedInbox()); d.State != storage.DeliveryDelivered {
			t.Errorf("slow delivery: %+v", d)
		}

		// Round 2, two minutes later: the 500 and the silent instances are due again, the throttled one is not.
		clk.Set(t0.Add(2 * time.Minute))
		waitIdle(t, s, clk)
		if arrived(always500, "/inbox") != 2 || arrived(timeout, pathOf(0)) != 2 || arrived(timeout, pathOf(1)) != 2 {
			t.Errorf("round 2: 500 got %d, silent got %d and %d; want 2 each", arrived(always500, "/inbox"), arrived(timeout, pathOf(0)), arrived(timeout, pathOf(1)))
		}
		if arrived(throttled, "/inbox") != 1 || arrived(maintenance, "/inbox") != 1 {
			t.Errorf("round 2: retried before Retry-After: 429 got %d, 503 got %d", arrived(throttled, "/inbox"), arrived(maintenance, "/inbox"))
		}

		// Round 3, eleven minutes in: everything still pending is due (500 and silent after their 5 min delay).
		clk.Set(t0.Add(11 * time.Minute))
		waitIdle(t, s, clk)
		if arrived(throttled, "/inbox") != 2 || arrived(maintenance, "/inbox") != 2 {
			t.Errorf("round 3: 429 got %d, 503 got %d; want 2 each", arrived(throttled, "/inbox"), arrived(maintenance, "/inbox"))
		}
		for _, inbox := range []string{throttled.SharedInbox(), maintenance.SharedInbox()} {
			if d := deliveryByInbox(t, s, act, inbox); d.State != storage.DeliveryDelivered || d.Attempts != 2 {
				t.Errorf("after its pause the remote accepted: %+v", d)
			}
		}
		if arrived(always500, "/inbox") != 3 {
			t.Errorf("round 3: 500 got %d, want 3", arrived(always500, "/inbox"))
		}
		// Nothing final was retried and nothing delivered was sent twice.
		if total(refusing) != 2 || arrived(goneOne, pathOf(0)) != 1 || total(slow) != 1 {
			t.Errorf("final answers retried: 403 %d, 410 %d, slow %d", total(refusing), arrived(goneOne, pathOf(0)), total(slow))
		}
		for k, g := range okGroups {
			want := 1
			if !g.shared {
				want = g.followers
			}
			if total(g.inst) != want {
				t.Errorf("instance %d received %d requests in all, want %d", k, total(g.inst), want)
			}
		}
		for _, i := range append([]*fedtest.Instance{always500, timeout, throttled, maintenance, goneOne, goneShared, refusing, slow}, instancesOf(okGroups)...) {
			if bad := i.Refused(); len(bad) > 0 {
				t.Errorf("%s refused our signature: %v", i.Host, bad)
			}
		}
	})
}

func pathOf(follower int) string { return "/users/u" + strconv.Itoa(follower) + "/inbox" }

// group is an instance with its followers.
type group struct {
	inst      *fedtest.Instance
	followers int
	shared    bool
}

func instancesOf(gs []group) []*fedtest.Instance {
	out := make([]*fedtest.Instance, len(gs))
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
	silent := newInstance(t, fedtest.Failure{Hang: true})
	follow(t, s, silent, 1, true)
	const act = "http://memo.test/activities/silent"
	publish(t, s, act)
	startWorker(t, Config{Store: s, Clock: clk.Now, Lease: 10 * time.Second, Timeout: 200 * time.Millisecond})
	waitIdle(t, s, clk)
	d := deliveryByInbox(t, s, act, silent.SharedInbox())
	if d.State != storage.DeliveryPending || d.Attempts != 1 || !strings.Contains(d.LastError, "deadline") || arrived(silent, "/inbox") != 1 {
		t.Fatalf("after a timeout: %+v, %d requests", d, arrived(silent, "/inbox"))
	}
	if dom, err := storagetest.DomainStatus(context.Background(), s, silent.Host); err != nil || dom.Failures != 1 {
		t.Fatalf("a timeout counts against the domain: %+v, %v", dom, err)
	}
}

// An inbox that redirects is not followed: the POST would turn into a GET and look delivered.
func TestRedirectIsNotFollowed(t *testing.T) {
	s := storagetest.Open(t, storagetest.SQLiteDSN(t))
	clk := newClock()
	s.SetClock(clk.Now)
	target := newInstance(t, fedtest.Failure{})
	moved := newInstance(t, fedtest.Failure{Status: http.StatusFound, Header: http.Header{"Location": {target.SharedInbox()}}})
	follow(t, s, moved, 1, true)
	const act = "http://memo.test/activities/moved"
	publish(t, s, act)
	startWorker(t, Config{Store: s, Clock: clk.Now, Lease: 10 * time.Second})
	waitIdle(t, s, clk)
	d := deliveryByInbox(t, s, act, moved.SharedInbox())
	if d.State != storage.DeliveryFailed || d.LastStatus != http.StatusFound {
		t.Fatalf("redirected delivery: %+v", d)
	}
	// Followed, the POST would arrive as a POST or turn into a GET: the target sees neither.
	if total(target) != 0 || len(target.Refused()) != 0 || len(target.Gets()) != 0 {
		t.Fatalf("the redirect was followed: %v %v, %d GETs", target.Tally().Arrived, target.Refused(), len(target.Gets()))
	}
}
