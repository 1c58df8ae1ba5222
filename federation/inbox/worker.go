package inbox

import (
	"context"
	"time"
)

// Kick wakes the worker.
func (in *Inbox) Kick() {
	select {
	case in.kick <- struct{}{}:
	default:
	}
}

// Run applies the effects of stored activities until ctx ends: those pending from before a restart first, then
// each new one as the handler kicks the worker.
func (in *Inbox) Run(ctx context.Context) error {
	t := time.NewTicker(in.cfg.PollEvery)
	defer t.Stop()
	var pruned time.Time
	for {
		if now := in.cfg.Now(); now.Sub(pruned) >= time.Hour {
			in.pruneRefused(ctx)
			pruned = now
		}
		if _, err := in.ProcessPending(ctx); err != nil && ctx.Err() == nil {
			in.log.Error("inbox worker", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-in.kick:
		case <-t.C:
		}
	}
}

// How many pending activities one transaction applies, while the inbox is receiving and once it is not.
const (
	applyBatchBusy = 4
	applyBatchIdle = 50
)

// maxEffectAttempts: an activity whose effects fail this many times is set aside with its error, so one bad row
// does not block the queue.
const maxEffectAttempts = 5

// ProcessPending applies the effects of every pending activity and returns how many it processed.
func (in *Inbox) ProcessPending(ctx context.Context) (int, error) {
	done := 0
	for {
		// While requests are being received, the batch stays small: it holds SQLite's one write lock for as long
		// as it runs, and the receiving side's commits wait behind it (50 at a time took a fifth off the quick
		// inbox's rate). Once the burst is over, large batches catch up.
		limit := applyBatchIdle
		if in.Busy() {
			limit = applyBatchBusy
		}
		rows, err := in.cfg.Store.PendingInboxActivities(ctx, limit)
		if err != nil {
			return done, err
		}
		in.behind.Store(len(rows) == limit)
		if len(rows) == 0 {
			// Nothing to apply is no transaction: an empty one still took the writer from the receiving side's
			// commits, at every kick of a burst the worker had caught up with.
			return done, nil
		}
		progressed := false
		errs := in.applyBatch(ctx, rows)
		for i, row := range rows {
			if perr := errs[i]; perr != nil {
				in.log.Warn("inbox effect failed", "activity", row.IRI, "err", perr)
				if in.failed(row.IRI) < maxEffectAttempts {
					continue
				}
				if err := in.settle(ctx, row.IRI, "failed: "+perr.Error()); err != nil {
					return done, err
				}
				in.forget(row.IRI)
			}
			done++
			progressed = true
		}
		if len(rows) < limit || !progressed {
			return done, nil
		}
	}
}

// failed counts a failure of an activity's effects and returns how many so far. The count is kept in memory only:
// a restart gives every activity its attempts again, which costs little.
func (in *Inbox) failed(iri string) int {
	in.failMu.Lock()
	defer in.failMu.Unlock()
	in.failures[iri]++
	return in.failures[iri]
}

// forget drops the count of an activity set aside.
func (in *Inbox) forget(iri string) {
	in.failMu.Lock()
	defer in.failMu.Unlock()
	delete(in.failures, iri)
}
