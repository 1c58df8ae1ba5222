package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// InboxActivity is a received, verified activity: the idempotence record and the durable queue of effects to apply.
// Body and Headers are kept as received until the row is pruned (PruneInboxActivities); the body of a type whose
// effects do not need it is not kept at all (empty). A signature's evidence is copied into its own row.
type InboxActivity struct {
	IRI         string        `db:"iri"`
	Type        string        `db:"type"`
	ActorIRI    string        `db:"actor_iri"`
	ObjectIRI   string        `db:"object_iri"`
	Body        string        `db:"body"`
	Headers     string        `db:"headers"`
	KeyID       string        `db:"key_id"`
	ReceivedMS  int64         `db:"received_at"`
	ProcessedMS sql.NullInt64 `db:"processed_at"`
	Result      string        `db:"result"`
	ReceivedAt  time.Time     `db:"-"`
}

const inboxCols = `iri, type, actor_iri, object_iri, body, headers, key_id, received_at, processed_at, result`

// InsertInboxActivityWithActor is InsertInboxActivity that also caches the sender's actor, fetched to check this
// very request, in the same transaction: on first contact that is one write instead of two. actor may be nil.
// On SQLite concurrent calls share transactions (inboxBatcher).
func (s *Store) InsertInboxActivityWithActor(ctx context.Context, a InboxActivity, actor *RemoteActor) (bool, error) {
	if a.ReceivedAt.IsZero() {
		a.ReceivedAt = s.now()
	}
	if s.dialect == SQLite {
		return s.insertBatched(ctx, a, actor)
	}
	var isNew bool
	err := s.InTx(ctx, func(t *Tx) error {
		var err error
		isNew, err = t.insertInbox(ctx, a, actor)
		return err
	})
	return isNew, err
}

func (t *Tx) insertInbox(ctx context.Context, a InboxActivity, actor *RemoteActor) (bool, error) {
	if actor != nil {
		if err := t.PutActor(ctx, *actor); err != nil {
			return false, err
		}
	}
	res, err := t.tx.ExecContext(ctx, t.tx.Rebind(`INSERT INTO inbox_activities (iri, type, actor_iri, object_iri, body, headers, key_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (iri) DO NOTHING`),
		a.IRI, a.Type, a.ActorIRI, a.ObjectIRI, a.Body, a.Headers, a.KeyID, ms(a.ReceivedAt))
	if err != nil {
		return false, fmt.Errorf("store inbox activity %s: %w", a.IRI, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// InboxActivity returns one received activity.
func (s *Store) InboxActivity(ctx context.Context, iri string) (InboxActivity, error) {
	var a InboxActivity
	if err := getRow(ctx, s.db, &a, "inbox activity "+iri, s.rebind(`SELECT `+inboxCols+` FROM inbox_activities WHERE iri = ?`), iri); err != nil {
		return a, err
	}
	a.ReceivedAt = fromMS(a.ReceivedMS)
	return a, nil
}

// PendingInboxActivities lists received activities whose effects are not applied yet, oldest first.
func (s *Store) PendingInboxActivities(ctx context.Context, limit int) ([]InboxActivity, error) {
	var out []InboxActivity
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT `+inboxCols+` FROM inbox_activities WHERE processed_at IS NULL ORDER BY received_at, iri LIMIT ?`), limit); err != nil {
		return nil, fmt.Errorf("pending inbox activities: %w", err)
	}
	for i := range out {
		out[i].ReceivedAt = fromMS(out[i].ReceivedMS)
	}
	return out, nil
}

// ClaimInboxActivity marks a pending activity processed in the transaction and reports whether this
// caller got it. Effects applied in the same transaction therefore happen once, even with several replicas
// working on one database: the loser's UPDATE matches no row (or waits for the winner's commit, then matches none).
func (t *Tx) ClaimInboxActivity(ctx context.Context, iri string) (bool, error) {
	res, err := t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE inbox_activities SET processed_at = ? WHERE iri = ? AND processed_at IS NULL`), ms(t.s.now()), iri)
	if err != nil {
		return false, fmt.Errorf("claim inbox activity %s: %w", iri, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// SetInboxResult records what processing an activity did (or why it did nothing), for moderators.
func (t *Tx) SetInboxResult(ctx context.Context, iri, result string) error {
	if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE inbox_activities SET result = ? WHERE iri = ?`), result, iri); err != nil {
		return fmt.Errorf("inbox activity %s result: %w", iri, err)
	}
	return nil
}

// CountInboxActivities counts the received activities.
func (s *Store) CountInboxActivities(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM inbox_activities`); err != nil {
		return 0, fmt.Errorf("count inbox activities: %w", err)
	}
	return n, nil
}

// ClearInboxBody drops a processed activity's body once what it held is kept elsewhere (a report).
func (t *Tx) ClearInboxBody(ctx context.Context, iri string) error {
	if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE inbox_activities SET body = '' WHERE iri = ?`), iri); err != nil {
		return fmt.Errorf("clear body of inbox activity %s: %w", iri, err)
	}
	return nil
}

// PruneInboxActivities deletes the activities processed before cutoff, batch rows per transaction so that the
// inbox is never held up for long, and returns how many it deleted. Pending rows are never pruned.
//
// A pruned id is no longer known: received again, it is stored and applied again. That is harmless. A request is
// only accepted with a Date within an hour of now (httpsign.MaxClockSkew), so a copy captured in transit cannot be
// replayed after the retention period; only the sender's own server can send that id again, with a fresh
// signature. And every effect is keyed by its own ids, so applying it twice changes nothing: a follower by actor
// (and its Accept by an id derived from the Follow's), a like, boost or reply by activity id, a signature by
// actor, a report by activity id; Undo, Delete and Update set a state that a second time leaves as it is.
func (s *Store) PruneInboxActivities(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	total := 0
	for {
		res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM inbox_activities WHERE iri IN (SELECT iri FROM inbox_activities WHERE processed_at IS NOT NULL AND processed_at < ? LIMIT ?)`), ms(cutoff), batch)
		if err != nil {
			return total, fmt.Errorf("prune inbox activities: %w", err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
		if int(n) < batch || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// SenderOf returns the actor that sent the activity iri, as this server knows it: the Follow of a follower, the
// like, boost or reply of an interaction, or any activity received and kept. ErrNotFound when it knows none.
func (s *Store) SenderOf(ctx context.Context, iri string) (string, error) {
	var actor string
	err := getRow(ctx, s.db, &actor, "sender of "+iri, s.rebind(`SELECT actor_iri FROM followers WHERE follow_iri = ?
UNION ALL SELECT actor_iri FROM interactions WHERE activity_iri = ?
UNION ALL SELECT actor_iri FROM inbox_activities WHERE iri = ? LIMIT 1`), iri, iri, iri)
	return actor, err
}
