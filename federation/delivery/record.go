package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/memo-fediverse/memo/federation/metrics"
	"github.com/memo-fediverse/memo/internal/batch"
	"github.com/memo-fediverse/memo/storage"
)

func (w *Worker) record(ctx context.Context, log *slog.Logger, j job, status int, retryAfter string, sendErr error, res result) {
	now := w.cfg.Clock()
	o := storage.Outcome{ID: j.ID, Owner: w.cfg.Owner, Status: status, Now: now}
	if sendErr != nil {
		o.Error = sendErr.Error()
	} else if res.verdict != delivered {
		o.Error = fmt.Sprintf("HTTP %d", status)
	}
	// Side effects on followers and domains come first and the row's new state last, so that anyone who sees the
	// row settled also sees its effects, and a crash in between only repeats idempotent steps.
	var (
		ok  bool
		err error
	)
	switch res.verdict {
	case delivered:
		ok, err = w.markDelivered(ctx, o, j.Domain)
		if err == nil && ok {
			metrics.DeliverySent()
			log.Debug("delivered", "status", status)
		}
	case retry:
		if res.domainFailure {
			var d storage.Domain
			record := w.cfg.Store.RecordDomainFailure
			if sendErr != nil && unreachable(sendErr) {
				record = w.cfg.Store.RecordDomainUnreachable
			}
			d, err = record(ctx, j.Domain, o.Error, now, w.cfg.Policy.Domain)
			if err == nil && d.Unavailable() && d.UnavailableSinceMS.Int64 == now.UnixMilli() {
				log.Warn("domain marked unavailable", "domain", j.Domain, "failures", d.Failures, "since", d.FirstFailureAt())
			}
		}
		if err != nil {
			break
		}
		next, again := w.cfg.Policy.Next(now, j.CreatedAt(), j.Attempts+1, parseRetryAfter(retryAfter, now), w.cfg.Rand())
		if again {
			ok, err = w.cfg.Store.MarkRetry(ctx, o, next)
			metrics.DeliveryRetried(res.reason)
			log.Info("delivery will be retried", "reason", res.reason, "error", o.Error, "next", next)
		} else {
			o.Error = "gave up after retrying for days: " + o.Error
			ok, err = w.cfg.Store.MarkFailed(ctx, o)
			metrics.DeliveryFailed("expired")
			log.Warn("delivery given up", "reason", res.reason, "error", o.Error)
		}
	case failed:
		ok, err = w.cfg.Store.MarkFailed(ctx, o)
		metrics.DeliveryFailed(res.reason)
		log.Warn("delivery refused", "status", status, "error", o.Error)
	case gone:
		var g storage.GoneInbox
		if g, err = w.cfg.Store.RemoveGoneInbox(ctx, j.ActivityIRI, j.Inbox, now); err == nil {
			log.Info("inbox gone", "followers_removed", g.FollowersRemoved, "rerouted", g.Rerouted)
			ok, err = w.cfg.Store.MarkFailed(ctx, o)
			metrics.DeliveryFailed("gone")
		}
	}
	if err != nil {
		log.Error("record delivery result", "err", err)
		return
	}
	if !ok {
		// Our lease ran out and another worker owns the row now; its result stands.
		log.Warn("delivery result dropped: lease lost")
	}
}

// success is a delivered row on its way to be recorded, and where its result goes.
type success struct {
	o      storage.Outcome
	domain string
	done   chan successResult
}

type successResult struct {
	ok  bool
	err error
}

// maxRecordBatch bounds how many successes share one transaction.
const maxRecordBatch = 64

// markDelivered records a success and returns once it is committed, as a direct write would: the row must not look
// pending to anyone after its request was answered.
func (w *Worker) markDelivered(ctx context.Context, o storage.Outcome, domain string) (bool, error) {
	s := success{o: o, domain: domain, done: make(chan successResult, 1)}
	select {
	case w.successes <- s:
	case <-ctx.Done():
		return false, fmt.Errorf("record delivery %d: %w", o.ID, ctx.Err())
	}
	select {
	case r := <-s.done:
		return r.ok, r.err
	case <-ctx.Done():
		return false, fmt.Errorf("record delivery %d: %w", o.ID, ctx.Err())
	}
}

// recordSuccesses writes the successes that arrive while the previous group is being committed as one group, until
// stop is closed. During a fan-out each success was a transaction of its own, and its commit cost more than the
// update: grouping them took a fan-out's recording from about 70 to 20 µs a row (BenchmarkClaimFanout).
func (w *Worker) recordSuccesses(stop <-chan struct{}) {
	for {
		group, ok := batch.Next(w.successes, stop, maxRecordBatch)
		if !ok {
			return
		}
		w.recordBatch(group)
	}
}

// recordBatch writes batch in one transaction, or row by row when that fails, so that one bad row costs only its
// own result.
func (w *Worker) recordBatch(batch []success) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	os := make([]storage.Outcome, len(batch))
	var domains []string
	for i, s := range batch {
		os[i] = s.o
		if !slices.Contains(domains, s.domain) {
			domains = append(domains, s.domain)
		}
	}
	if len(batch) > 1 {
		ok, err := w.cfg.Store.MarkAllDelivered(ctx, os, domains)
		if err == nil {
			for i, s := range batch {
				s.done <- successResult{ok: ok[i]}
			}
			return
		}
		w.log.Warn("record delivered rows together; recording them one by one", "rows", len(batch), "err", err)
	}
	for _, s := range batch {
		var r successResult
		if r.err = w.cfg.Store.ClearDomain(ctx, s.domain); r.err == nil {
			r.ok, r.err = w.cfg.Store.MarkDelivered(ctx, s.o)
		}
		s.done <- r
	}
}
