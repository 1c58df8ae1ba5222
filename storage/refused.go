package storage

import (
	"context"
	"fmt"
	"time"
)

// Refusal is an inbox request we turned down, kept for moderators.
type Refusal struct {
	ID         int64     `db:"id"`
	ReceivedMS int64     `db:"received_at"`
	RemoteAddr string    `db:"remote_addr"`
	ActorIRI   string    `db:"actor_iri"`
	Activity   string    `db:"activity"`
	Status     int       `db:"status"`
	Reason     string    `db:"reason"`
	ReceivedAt time.Time `db:"-"`
}

// AddRefusal records a refused request. Activity is the activity id when known; bodies are not kept, a refused
// body is untrusted and may be large.
func (s *Store) AddRefusal(ctx context.Context, r Refusal) error {
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = s.now()
	}
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO refused (received_at, remote_addr, actor_iri, activity, status, reason) VALUES (?, ?, ?, ?, ?, ?)`),
		ms(r.ReceivedAt), r.RemoteAddr, r.ActorIRI, r.Activity, r.Status, r.Reason); err != nil {
		return fmt.Errorf("record refusal: %w", err)
	}
	return nil
}

// Refusals lists the latest refusals, newest first.
func (s *Store) Refusals(ctx context.Context, limit int) ([]Refusal, error) {
	var out []Refusal
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT id, received_at, remote_addr, actor_iri, activity, status, reason FROM refused ORDER BY id DESC LIMIT ?`), limit); err != nil {
		return nil, fmt.Errorf("refusals: %w", err)
	}
	for i := range out {
		out[i].ReceivedAt = fromMS(out[i].ReceivedMS)
	}
	return out, nil
}

// PruneRefused deletes the refusals received before `before`, then all but the newest maxRows (none when maxRows
// is 0 or less). Both deletes walk an index: received_at, and the id order.
func (s *Store) PruneRefused(ctx context.Context, before time.Time, maxRows int) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM refused WHERE received_at < ?`), ms(before))
	if err != nil {
		return 0, fmt.Errorf("prune refusals by age: %w", err)
	}
	n, _ := res.RowsAffected()
	if maxRows > 0 {
		res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM refused WHERE id <= (SELECT MAX(id) FROM refused) - ?`), maxRows)
		if err != nil {
			return n, fmt.Errorf("prune refusals by count: %w", err)
		}
		m, _ := res.RowsAffected()
		n += m
	}
	return n, nil
}
