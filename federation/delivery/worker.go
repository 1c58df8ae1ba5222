// Package delivery sends the stored outgoing activities to remote inboxes: workers lease due rows of the
// deliveries table, sign and POST each one, and record the result, retrying for days with backoff. The queue lives in
// the database, so nothing is lost on a crash, and several processes on one PostgreSQL share it.
package delivery

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/memo-fediverse/memo/federation/metrics"
	"github.com/memo-fediverse/memo/storage"
)

// Config is what a Worker needs. Store, Client, Key and KeyID are required; the rest have defaults.
type Config struct {
	Store  *storage.Store
	Client *http.Client // the safe client in production; tests pass one for loopback
	Key    *rsa.PrivateKey
	KeyID  string
	// UserAgent is sent with every delivery, e.g. "memo/1.2 (+https://memo.example)".
	UserAgent string
	Logger    *slog.Logger
	// Clock schedules retries and leases; tests inject one. Signatures always carry the real time, since the
	// receiver checks it against its own clock.
	Clock func() time.Time
	// Owner identifies this process in leased_by; by default host, pid and a random suffix, so a restarted process
	// or a replica on the same host never mistakes another's rows for its own.
	Owner       string
	Concurrency int           // deliveries in flight at most (default 32)
	PerDomain   int           // deliveries in flight per domain at most, across replicas (default 4)
	Lease       time.Duration // how long a claimed row stays ours (default 2 min)
	Poll        time.Duration // how often to look for due rows (default 20 ms)
	Timeout     time.Duration // per request (default 30 s, and never more than half the lease)
	Grace       time.Duration // on shutdown, how long running requests may finish (default 5 s)
	Policy      Policy
	Rand        func() float64 // jitter source, uniform in [0, 1)
	// Yield, when set, reports that foreground work is waiting (the inbox is receiving a burst): the worker then
	// keeps at most YieldConcurrency deliveries in flight, leaving the cores to what remote servers wait on.
	Yield func() bool
	// Synchronize, when set, gives the FEP-8fcf Collection-Synchronization header for a delivery of body to inbox
	// ("" for none).
	Synchronize func(ctx context.Context, inbox string, body []byte) string
}

// YieldConcurrency is how many deliveries stay in flight while Config.Yield reports foreground work. Each signs
// with RSA, a millisecond of a core; a burst of signature replies would otherwise share the cores with their own
// acknowledgements and answer slower.
const YieldConcurrency = 2

// Worker runs the delivery queue of one process.
type Worker struct {
	cfg Config
	log *slog.Logger
	// bodies keeps the activities being delivered (used by Run's goroutine only). A fan-out sends one activity
	// to every follower's inbox; the memo's Update is the whole text, and reading it again for each claim was a
	// quarter of the fan-out's CPU. Stored activities never change, so the copy stays right.
	bodies     map[string][]byte
	bodiesSize int
	// successes carries delivered rows to the goroutine that records them in groups (recordSuccesses).
	successes chan success
}

// Bounds of the body cache: past either, it starts again.
const (
	maxCachedBodies     = 64
	maxCachedBodiesSize = 4 << 20
)

// New checks cfg and fills its defaults.
func New(cfg Config) (*Worker, error) {
	if cfg.Store == nil || cfg.Client == nil || cfg.Key == nil || cfg.KeyID == "" {
		return nil, errors.New("delivery: Store, Client, Key and KeyID are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Never follow a redirect with a delivery: Go turns a POST into a GET on 301-303, which could then "succeed",
	// and a 307/308 would resend a signature made for another path. The inbox URL is what the actor published.
	client := *cfg.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.Client = &client
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "memo"
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		rand.Read(b[:])
		cfg.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if cfg.Concurrency <= 0 {
		// Most of a delivery is waiting for the remote; signing is a millisecond of one core. 32 in flight keep
		// both cores of a small machine signing through a fan-out while each claim takes 8 rows at a time.
		cfg.Concurrency = 32
	}
	if cfg.PerDomain <= 0 {
		cfg.PerDomain = 4
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Poll <= 0 {
		// `memo publish` and other replicas write rows this process learns of only by looking. The look is one
		// indexed read (HasDueDeliveries, a few microseconds) that takes no lock, so looking 50 times a second
		// costs little, and a fan-out starts within 20 ms rather than half a second later.
		cfg.Poll = 20 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	// A request must end before its lease does, or another process could send the same row meanwhile.
	if cfg.Timeout > cfg.Lease/2 {
		cfg.Timeout = cfg.Lease / 2
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 5 * time.Second
	}
	if cfg.Policy.Delays == nil {
		cfg.Policy = DefaultPolicy()
	}
	if cfg.Rand == nil {
		cfg.Rand = mrand.Float64
	}
	return &Worker{cfg: cfg, log: cfg.Logger.With("owner", cfg.Owner), bodies: map[string][]byte{},
		successes: make(chan success)}, nil
}

// Run delivers until ctx ends, then stops claiming, lets running requests finish for up to Grace, cancels the
// rest and hands every row it still holds back to the queue. It returns within Grace plus a few seconds.
func (w *Worker) Run(ctx context.Context) error {
	metrics.SetQueueCounter(w.cfg.Store.DeliveryCounts)
	// Requests run under sendCtx, not ctx: on shutdown they get the grace period before being cut.
	sendCtx, cut := context.WithCancel(context.Background())
	defer cut()
	var wg sync.WaitGroup
	recorded := make(chan struct{})
	stopRecording := make(chan struct{})
	go func() { w.recordSuccesses(stopRecording); close(recorded) }()
	defer func() { close(stopRecording); <-recorded }()
	done := make(chan struct{}, w.cfg.Concurrency)
	active := 0
	ticker := time.NewTicker(w.cfg.Poll)
	defer ticker.Stop()
	w.log.Info("delivery worker started", "concurrency", w.cfg.Concurrency, "per_domain", w.cfg.PerDomain, "lease", w.cfg.Lease.String())
	// Claimed rows wait in queue until a slot is free: while the worker yields, it still claims many rows at once
	// (a claim is a query and a write, as dear as a signature) and starts them a few at a time.
	var queue []job
	start := func(j job) {
		active++
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.deliver(sendCtx, j)
			done <- struct{}{}
		}()
	}
	claimNow := true
	var pruned time.Time
	for ctx.Err() == nil {
		if now := w.cfg.Clock(); now.Sub(pruned) >= time.Hour {
			pruned = now
			w.prune(ctx, now)
		}
		limit := w.cfg.Concurrency
		if w.cfg.Yield != nil && w.cfg.Yield() {
			limit = min(limit, YieldConcurrency)
		}
		// A claim takes a whole round of rows even when only some slots are free: its cost is mostly its own, not
		// its rows', and the rest wait in the queue for the next free slots (a few deliveries' time). Replicas on
		// one PostgreSQL queue still share a fan-out: each holds at most two rounds, the rest stays for the others.
		if free := w.cfg.Concurrency - active; free > 0 && claimNow && len(queue) == 0 {
			jobs, err := w.claim(ctx, w.cfg.Concurrency)
			if err != nil && ctx.Err() == nil {
				w.log.Warn("claim deliveries", "err", err)
			}
			queue = jobs
		}
		for len(queue) > 0 && active < limit {
			j := queue[0]
			queue = queue[1:]
			// A row that waited too long in the queue goes back rather than risk being sent after its lease.
			if w.cfg.Clock().After(j.claimed.Add(w.cfg.Lease / 2)) {
				if _, err := w.cfg.Store.ReleaseDeliveries(ctx, w.cfg.Owner, j.ID); err != nil && ctx.Err() == nil {
					w.log.Warn("release a delivery that waited too long", "err", err)
				} else {
					w.log.Info("delivery handed back: it waited past half its lease", "activity", j.ActivityIRI, "inbox", j.Inbox)
				}
				continue
			}
			start(j)
		}
		claimNow = false
		select {
		case <-ctx.Done():
		case <-done:
			active--
			// Claim again only once a few slots are free: claiming for every finished request would cost more
			// than the requests. The poll catches the rest.
			claimNow = limit-active >= max(1, limit/4)
		case <-ticker.C:
			claimNow = true
		}
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(w.cfg.Grace):
		cut()
		<-finished
	}
	// Whatever is still ours (a result that could not be written, a claim that raced the shutdown) goes back.
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := w.cfg.Store.ReleaseDeliveries(rctx, w.cfg.Owner)
	if err != nil {
		w.log.Warn("release deliveries on shutdown", "err", err)
	}
	w.log.Info("delivery worker stopped", "released", n)
	return nil
}

// Finished rows are kept for a while for `memo deliveries`, then deleted so the queue table stays small.
const (
	keepDelivered = 7 * 24 * time.Hour
	keepFailed    = 30 * 24 * time.Hour
)

func (w *Worker) prune(ctx context.Context, now time.Time) {
	n, err := w.cfg.Store.PruneDeliveries(ctx, now.Add(-keepDelivered), now.Add(-keepFailed))
	if err != nil && ctx.Err() == nil {
		w.log.Warn("prune deliveries", "err", err)
	} else if n > 0 {
		w.log.Info("pruned finished deliveries", "rows", n)
	}
	if _, err := w.cfg.Store.PruneSignatureSchemes(ctx, now); err != nil && ctx.Err() == nil {
		w.log.Warn("prune remembered signature schemes", "err", err)
	}
}

// job is a claimed row with the body it sends.
type job struct {
	storage.Delivery
	body    []byte
	claimed time.Time
}

func (w *Worker) claim(ctx context.Context, limit int) ([]job, error) {
	now := w.cfg.Clock()
	due, err := w.cfg.Store.HasDueDeliveries(ctx, now)
	if err != nil || !due {
		return nil, err
	}
	rows, err := w.cfg.Store.ClaimDeliveries(ctx, storage.Claim{
		Now: now, LeaseUntil: now.Add(w.cfg.Lease), Owner: w.cfg.Owner, Limit: limit, PerDomain: w.cfg.PerDomain,
	})
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	var (
		missing []string
		read    map[string]string
	)
	for _, r := range rows {
		if _, ok := w.bodies[r.ActivityIRI]; !ok && !slices.Contains(missing, r.ActivityIRI) {
			missing = append(missing, r.ActivityIRI)
		}
	}
	if len(missing) > 0 {
		read, err = w.cfg.Store.ActivityBodies(ctx, missing)
		if err != nil {
			ids := make([]int64, len(rows))
			for i, r := range rows {
				ids[i] = r.ID
			}
			if _, rerr := w.cfg.Store.ReleaseDeliveries(context.Background(), w.cfg.Owner, ids...); rerr != nil {
				w.log.Warn("release after failed claim", "err", rerr)
			}
			return nil, err
		}
	}
	fresh := make(map[string][]byte, len(read))
	for iri, body := range read {
		fresh[iri] = []byte(body)
	}
	// Every row gets its body before the cache changes: starting the cache again must not drop a body a row of
	// this very claim was about to take from it.
	out := make([]job, len(rows))
	for i, r := range rows {
		body, ok := w.bodies[r.ActivityIRI]
		if !ok {
			body = fresh[r.ActivityIRI] // nil for a missing activity: deliver records it as a failure
		}
		out[i] = job{Delivery: r, body: body, claimed: now}
	}
	for iri, body := range fresh {
		if len(w.bodies) >= maxCachedBodies || w.bodiesSize+len(body) > maxCachedBodiesSize {
			clear(w.bodies)
			w.bodiesSize = 0
		}
		w.bodies[iri] = body
		w.bodiesSize += len(body)
	}
	return out, nil
}

// deliver makes one attempt and records what it means. Results are written even during shutdown (with a context
// of their own): a request that reached the inbox must not be sent again because the process was stopping.
func (w *Worker) deliver(sendCtx context.Context, j job) {
	log := w.log.With("activity", j.ActivityIRI, "inbox", j.Inbox, "attempt", j.Attempts+1)
	if len(j.body) == 0 {
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		w.record(rctx, log, j, 0, "", fmt.Errorf("activity %s is not stored", j.ActivityIRI), result{failed, "missing", false})
		return
	}
	reqCtx, cancelReq := context.WithTimeout(sendCtx, w.cfg.Timeout)
	start := time.Now()
	status, retryAfter, err := w.post(reqCtx, j)
	cancelReq()
	metrics.DeliveryTook(time.Since(start))
	// The result gets its own time budget, counted from now: the request may have used all of its own.
	rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if sendCtx.Err() != nil {
		// Cut by shutdown: not the remote's fault, so no attempt is counted.
		if _, rerr := w.cfg.Store.ReleaseDeliveries(rctx, w.cfg.Owner, j.ID); rerr != nil {
			log.Warn("release interrupted delivery", "err", rerr)
		}
		return
	}
	w.record(rctx, log, j, status, retryAfter, err, classify(status, err))
}
