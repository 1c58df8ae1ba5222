package inbox

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/memo-fediverse/memo/storage"
)

// applyBatch applies the effects of rows in one transaction, as the receiving side stores them in batches: one
// write lock and one commit for up to 50 activities instead of one each, which is what kept the worker behind a
// burst. Each activity runs under a savepoint of its own, so one that fails is rolled back alone and counted as
// before. The reads and fetches an activity needs (work) happen before the transaction. errs[i] is rows[i]'s.
func (in *Inbox) applyBatch(ctx context.Context, rows []storage.InboxActivity) []error {
	errs := make([]error, len(rows))
	works := make([]func(tx *storage.Tx) error, len(rows))
	in.prepareAll(ctx, rows, works, errs)
	ran := make([]bool, len(rows))
	err := in.cfg.Store.InTx(ctx, func(tx *storage.Tx) error {
		for i, work := range works {
			if work == nil {
				continue
			}
			werr, err := tx.Savepoint(ctx, func() error { return work(tx) })
			errs[i] = werr
			if err != nil {
				return err
			}
			ran[i] = true
		}
		return nil
	})
	if err != nil {
		// The batch as a whole failed (its commit, a savepoint): nothing of it holds; each is tried alone.
		in.log.Warn("inbox batch failed, applying one by one", "activities", len(rows), "err", err)
		for i, work := range works {
			if work != nil && (errs[i] == nil || ran[i]) {
				errs[i] = in.cfg.Store.InTx(ctx, work)
			}
		}
	}
	return errs
}

// prepareAll runs work for every row, on as many goroutines as there are cores once the inbox is not receiving.
// Every activity of a batch is read and checked before its transaction begins, so the order in which they are
// prepared changes nothing; done one after the other, those checks were a third of the apply's time and left the
// other core idle after a burst. While requests arrive, the cores are theirs: one goroutine, as before.
func (in *Inbox) prepareAll(ctx context.Context, rows []storage.InboxActivity, works []func(tx *storage.Tx) error, errs []error) {
	n := min(runtime.GOMAXPROCS(0), len(rows))
	if n <= 1 || in.Busy() {
		for i, row := range rows {
			works[i], errs[i] = in.work(ctx, row)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				j := int(next.Add(1) - 1)
				if j >= len(rows) {
					return
				}
				works[j], errs[j] = in.work(ctx, rows[j])
			}
		})
	}
	wg.Wait()
}
