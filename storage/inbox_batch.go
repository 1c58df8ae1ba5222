package storage

import (
	"context"
	"sync"

	"github.com/memo-fediverse/memo/internal/batch"
)

// On SQLite, received activities are stored in batches: requests that arrive while a commit is under way wait for
// the next one and share it. Under load the inbox commits once for many requests instead of once each (a commit
// was 8 % of the server's CPU receiving 20,000 first contacts, and SQLite takes one writer at a time); alone, a
// request commits at once, as before. PostgreSQL is left to run its transactions side by side: it batches their
// WAL flushes itself, and one goroutine feeding it statement by statement halved the inbox's rate there.

// maxInboxBatch bounds one batch: a long transaction would hold the write lock from everyone else.
const maxInboxBatch = 64

type inboxInsert struct {
	a     InboxActivity
	actor *RemoteActor
	done  chan inboxInserted // buffered: the batcher never waits on a caller that gave up
}

type inboxInserted struct {
	isNew bool
	err   error
}

// inboxBatcher runs from Open to Close.
type inboxBatcher struct {
	reqs     chan inboxInsert
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func (s *Store) startInboxBatches() {
	s.inbox.reqs, s.inbox.stop, s.inbox.done = make(chan inboxInsert), make(chan struct{}), make(chan struct{})
	go s.runInboxBatches()
}

// stopInboxBatches lets the batch under way commit, then stops.
func (s *Store) stopInboxBatches() {
	if s.inbox.stop == nil {
		return // PostgreSQL: never started
	}
	s.inbox.stopOnce.Do(func() { close(s.inbox.stop) })
	<-s.inbox.done
}

func (s *Store) insertBatched(ctx context.Context, a InboxActivity, actor *RemoteActor) (bool, error) {
	b := &s.inbox
	req := inboxInsert{a: a, actor: actor, done: make(chan inboxInserted, 1)}
	select {
	case b.reqs <- req:
	case <-b.stop:
		return false, errStoreClosed
	case <-ctx.Done():
		return false, ctx.Err()
	}
	select {
	case res := <-req.done:
		return res.isNew, res.err
	case <-ctx.Done():
		// Stored or not, the batch decides; the sender will retry and a stored copy answers "already received".
		return false, ctx.Err()
	}
}

func (s *Store) runInboxBatches() {
	b := &s.inbox
	defer close(b.done)
	for {
		group, ok := batch.Next(b.reqs, b.stop, maxInboxBatch)
		if !ok {
			return
		}
		s.commitInboxBatch(group)
	}
}

// commitInboxBatch stores a batch in one transaction. If that fails, each is tried alone, so that one bad row
// costs only its own request.
func (s *Store) commitInboxBatch(batch []inboxInsert) {
	ctx := context.Background()
	results := make([]inboxInserted, len(batch))
	err := s.InTx(ctx, func(t *Tx) error {
		for i, req := range batch {
			isNew, err := t.insertInbox(ctx, req.a, req.actor)
			if err != nil {
				return err
			}
			results[i] = inboxInserted{isNew: isNew}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for i, req := range batch {
			var r inboxInserted
			r.err = s.InTx(ctx, func(t *Tx) error {
				var err error
				r.isNew, err = t.insertInbox(ctx, req.a, req.actor)
				return err
			})
			results[i] = r
		}
	} else if err != nil {
		results[0] = inboxInserted{err: err}
	}
	for i, req := range batch {
		req.done <- results[i]
	}
}
