package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Delivery states. A row is pending until a worker leases it (inflight); it ends delivered or failed. An inflight
// row whose lease has run out belongs to a worker that died: any worker may take it again.
const (
	DeliveryPending   = "pending"
	DeliveryInflight  = "inflight"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is one (activity, inbox) pair of the queue.
type Delivery struct {
	ID            int64         `db:"id"`
	ActivityIRI   string        `db:"activity_iri"`
	Inbox         string        `db:"inbox"`
	Domain        string        `db:"domain"`
	State         string        `db:"state"`
	Attempts      int           `db:"attempts"`
	NextAttemptMS int64         `db:"next_attempt_at"`
	LeaseUntilMS  sql.NullInt64 `db:"lease_until"`
	LeasedBy      string        `db:"leased_by"`
	LastStatus    int           `db:"last_status"`
	LastError     string        `db:"last_error"`
	CreatedMS     int64         `db:"created_at"`
	UpdatedMS     int64         `db:"updated_at"`
}

func (d Delivery) NextAttemptAt() time.Time { return fromMS(d.NextAttemptMS) }
func (d Delivery) CreatedAt() time.Time     { return fromMS(d.CreatedMS) }
func (d Delivery) UpdatedAt() time.Time     { return fromMS(d.UpdatedMS) }

const deliveryCols = `id, activity_iri, inbox, domain, state, attempts, next_attempt_at, lease_until, leased_by, last_status, last_error, created_at, updated_at`

// Claim says what a worker asks of ClaimDeliveries.
type Claim struct {
	Now        time.Time
	LeaseUntil time.Time
	Owner      string // the worker's process id, written to leased_by
	Limit      int    // rows at most
	PerDomain  int    // rows at most per domain; a domain with a live lease anywhere gets none
}

// notBusy keeps out domains that already have a live lease (the per-domain limit holds across replicas) and
// domains marked unavailable whose next probe is not due. Both placeholders are now.
const notBusy = `domain NOT IN (SELECT domain FROM deliveries WHERE state = 'inflight' AND lease_until >= ?)
    AND domain NOT IN (SELECT domain FROM domains WHERE unavailable_since IS NOT NULL AND next_attempt_at > ?)`

// dueRows selects up to n of the oldest rows a worker may take at now: pending and due, or in flight under an
// expired lease, outside busy domains. The two kinds are read apart, each in the order of the deliveries_due index:
// one OR over both made every claim sort the whole backlog.
func dueRows(now int64, n int) (string, []any) {
	q := `SELECT id, domain, next_attempt_at FROM (
  SELECT * FROM (SELECT id, domain, next_attempt_at FROM deliveries
    WHERE state = 'pending' AND next_attempt_at <= ? AND ` + notBusy + ` ORDER BY next_attempt_at, id LIMIT ?) AS due_pending
  UNION ALL
  SELECT * FROM (SELECT id, domain, next_attempt_at FROM deliveries
    WHERE state = 'inflight' AND lease_until < ? AND ` + notBusy + ` ORDER BY next_attempt_at, id LIMIT ?) AS due_expired
) AS due`
	return q, []any{now, now, now, n, now, now, now, n}
}

// HasDueDeliveries is the cheap check workers poll before claiming, so an idle SQLite queue takes no write lock.
func (s *Store) HasDueDeliveries(ctx context.Context, now time.Time) (bool, error) {
	q, args := dueRows(ms(now), 1)
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, s.rebind(`SELECT id FROM (`+q+`) AS d LIMIT 1`), args...); err != nil {
		return false, fmt.Errorf("check due deliveries: %w", err)
	}
	return len(ids) > 0, nil
}

// ClaimDeliveries leases up to c.Limit due rows to c.Owner, oldest due first, at most c.PerDomain per domain.
// On PostgreSQL, FOR UPDATE SKIP LOCKED lets several processes claim at once without taking the same row: the state
// test sits beside the lock, so a row another process claimed meanwhile is re-checked and dropped. SQLite runs one
// writer at a time, so the plain UPDATE is already exclusive.
func (s *Store) ClaimDeliveries(ctx context.Context, c Claim) ([]Delivery, error) {
	if c.Limit <= 0 {
		return nil, nil
	}
	if c.PerDomain <= 0 {
		c.PerDomain = 1
	}
	now := ms(c.Now)
	// Domains with a live lease are left out before ranking, so rows crowding into one domain cost a claim at
	// most PerDomain of its places, and the next claim skips that domain. Twice the limit fills most claims; a
	// wider net cost more than it caught (every candidate is read and ranked).
	candidates := max(2*c.Limit, 16)
	due, dueArgs := dueRows(now, candidates)
	ranked := `SELECT id FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY domain ORDER BY next_attempt_at, id) AS rn FROM (` + due + `) AS candidates
  ) AS ranked WHERE rn <= ?`
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	// The pick is a materialised CTE so it runs exactly once: as a plain IN (subquery) PostgreSQL may rescan it,
	// and a rescan under SKIP LOCKED returns other rows, which once made a claim exceed its LIMIT.
	q := `WITH picked AS MATERIALIZED (
  SELECT id FROM deliveries
  WHERE id IN (` + ranked + `)
    AND ((state = 'pending' AND next_attempt_at <= ?) OR (state = 'inflight' AND lease_until < ?))
  ORDER BY next_attempt_at, id LIMIT ?` + lock + `
)
UPDATE deliveries SET state = 'inflight', lease_until = ?, leased_by = ?, updated_at = ?
WHERE id IN (SELECT id FROM picked)
  AND ((state = 'pending' AND next_attempt_at <= ?) OR (state = 'inflight' AND lease_until < ?))
RETURNING ` + deliveryCols
	args := append(dueArgs, c.PerDomain, now, now, c.Limit, ms(c.LeaseUntil), c.Owner, now, now, now)
	var out []Delivery
	if err := s.db.SelectContext(ctx, &out, s.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// ActivityBodies returns the stored JSON of the given outgoing activities, by IRI.
func (s *Store) ActivityBodies(ctx context.Context, iris []string) (map[string]string, error) {
	out := make(map[string]string, len(iris))
	if len(iris) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT iri, body FROM activities WHERE iri IN (?)`, iris)
	if err != nil {
		return nil, fmt.Errorf("activity bodies: %w", err)
	}
	rows, err := s.db.QueryxContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("activity bodies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var iri, body string
		if err := rows.Scan(&iri, &body); err != nil {
			return nil, fmt.Errorf("activity bodies: %w", err)
		}
		out[iri] = body
	}
	return out, rows.Err()
}

// Outcome is what a worker records after one attempt. Every update is guarded by the lease owner, so a worker
// whose lease was taken over (it stalled past it) cannot overwrite the new owner's result.
type Outcome struct {
	ID     int64
	Owner  string
	Status int    // HTTP status, 0 for a network error
	Error  string // empty on success
	Now    time.Time
}

// MarkDelivered ends a delivery with success. It reports false when the row was no longer leased to o.Owner.
func (s *Store) MarkDelivered(ctx context.Context, o Outcome) (bool, error) {
	return s.finish(ctx, o, DeliveryDelivered, time.Time{})
}

// MarkAllDelivered records several successes in one transaction, and forgets the failures of their domains as
// ClearDomain does: during a fan-out the commit, not the update, was most of what recording a result cost. It
// reports, for each outcome, whether its row was still leased to its owner. When it fails, nothing is recorded.
func (s *Store) MarkAllDelivered(ctx context.Context, os []Outcome, domains []string) ([]bool, error) {
	ok := make([]bool, len(os))
	err := s.InTx(ctx, func(tx *Tx) error {
		if len(domains) > 0 {
			q, args, err := sqlx.In(`DELETE FROM domains WHERE domain IN (?)`, domains)
			if err != nil {
				return fmt.Errorf("clear domains: %w", err)
			}
			if _, err := tx.tx.ExecContext(ctx, tx.tx.Rebind(q), args...); err != nil {
				return fmt.Errorf("clear domains: %w", err)
			}
		}
		for i, o := range os {
			var err error
			if ok[i], err = finish(ctx, tx.tx, o, DeliveryDelivered, time.Time{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

// MarkFailed ends a delivery for good (a refusal, or retries exhausted).
func (s *Store) MarkFailed(ctx context.Context, o Outcome) (bool, error) {
	return s.finish(ctx, o, DeliveryFailed, time.Time{})
}

// MarkRetry counts a failed attempt and puts the row back in the queue for next.
func (s *Store) MarkRetry(ctx context.Context, o Outcome, next time.Time) (bool, error) {
	return s.finish(ctx, o, DeliveryPending, next)
}

func (s *Store) finish(ctx context.Context, o Outcome, state string, next time.Time) (bool, error) {
	return finish(ctx, s.db, o, state, next)
}

func finish(ctx context.Context, q querier, o Outcome, state string, next time.Time) (bool, error) {
	set := `state = ?, attempts = attempts + 1, lease_until = NULL, leased_by = '', last_status = ?, last_error = ?, updated_at = ?`
	args := []any{state, o.Status, truncate(o.Error, 500), ms(o.Now)}
	if state == DeliveryPending {
		set += `, next_attempt_at = ?`
		args = append(args, ms(next))
	}
	args = append(args, o.ID, o.Owner)
	res, err := q.ExecContext(ctx, q.Rebind(`UPDATE deliveries SET `+set+` WHERE id = ? AND state = 'inflight' AND leased_by = ?`), args...)
	if err != nil {
		return false, fmt.Errorf("record delivery %d as %s: %w", o.ID, state, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ReleaseDeliveries hands rows leased by owner back to the queue untouched (no attempt counted): a worker shutting
// down calls it for what it did not finish. With no ids it releases everything owner holds.
func (s *Store) ReleaseDeliveries(ctx context.Context, owner string, ids ...int64) (int, error) {
	q, args := `UPDATE deliveries SET state = 'pending', lease_until = NULL, leased_by = '' WHERE state = 'inflight' AND leased_by = ?`, []any{owner}
	if len(ids) > 0 {
		in, inArgs, err := sqlx.In(` AND id IN (?)`, ids)
		if err != nil {
			return 0, fmt.Errorf("release deliveries: %w", err)
		}
		q += in
		args = append(args, inArgs...)
	}
	res, err := s.db.ExecContext(ctx, s.rebind(q), args...)
	if err != nil {
		return 0, fmt.Errorf("release deliveries of %s: %w", owner, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// GoneInbox is what RemoveGoneInbox did about an inbox that answered 410 Gone.
type GoneInbox struct {
	FollowersRemoved int // followers whose own inbox it was
	Rerouted         int // followers that shared it: now delivered to one by one
}

// RemoveGoneInbox applies a 410 Gone from inbox while delivering activityIRI. A personal inbox that is gone means its
// actor is gone: that follower is removed. A shared inbox that is gone says nothing certain about each account
// behind it (an instance may drop or move its shared endpoint), so nobody is removed: those followers lose their
// shared inbox, and the activity is queued to each of their own inboxes, where a 410 then removes exactly that one.
func (s *Store) RemoveGoneInbox(ctx context.Context, activityIRI, inbox string, now time.Time) (GoneInbox, error) {
	var g GoneInbox
	err := s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(ctx, tx.tx.Rebind(`DELETE FROM followers WHERE inbox = ?`), inbox)
		if err != nil {
			return fmt.Errorf("remove followers of gone inbox %s: %w", inbox, err)
		}
		n, _ := res.RowsAffected()
		g.FollowersRemoved = int(n)
		t := ms(now)
		res, err = tx.tx.ExecContext(ctx, tx.tx.Rebind(`INSERT INTO deliveries (activity_iri, inbox, domain, state, attempts, next_attempt_at, created_at, updated_at)
SELECT ?, inbox, domain, 'pending', 0, ?, ?, ? FROM followers WHERE shared_inbox = ? AND inbox <> ''
ON CONFLICT (activity_iri, inbox) DO NOTHING`), activityIRI, t, t, t, inbox)
		if err != nil {
			return fmt.Errorf("reroute followers of gone shared inbox %s: %w", inbox, err)
		}
		n, _ = res.RowsAffected()
		g.Rerouted = int(n)
		if _, err := tx.tx.ExecContext(ctx, tx.tx.Rebind(`UPDATE followers SET shared_inbox = '' WHERE shared_inbox = ?`), inbox); err != nil {
			return fmt.Errorf("forget gone shared inbox %s: %w", inbox, err)
		}
		return nil
	})
	return g, err
}

// DeliveryCounts counts the queue's rows by state.
func (s *Store) DeliveryCounts(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state`); err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	out := map[string]int{DeliveryPending: 0, DeliveryInflight: 0, DeliveryDelivered: 0, DeliveryFailed: 0}
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// RecentDeliveryProblems lists the latest failed deliveries and pending ones that have failed at least once,
// newest first.
func (s *Store) RecentDeliveryProblems(ctx context.Context, limit int) ([]Delivery, error) {
	var out []Delivery
	err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT `+deliveryCols+` FROM deliveries
WHERE state = 'failed' OR (state = 'pending' AND attempts > 0) ORDER BY updated_at DESC, id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("recent delivery problems: %w", err)
	}
	return out, nil
}

func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// PruneDeliveries deletes finished rows last touched before the given times: delivered ones soon (they only
// matter for counts), failed ones later (an admin reads them in `memo deliveries`). It returns how many went.
func (s *Store) PruneDeliveries(ctx context.Context, deliveredBefore, failedBefore time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM deliveries WHERE (state = 'delivered' AND updated_at < ?) OR (state = 'failed' AND updated_at < ?)`),
		ms(deliveredBefore), ms(failedBefore))
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Backlog sums up the queue for `memo doctor`: rows waiting and failed, the oldest waiting row, and how many
// pending rows were due before a moment (none should stay due long while a server runs).
type Backlog struct {
	Pending, Failed, DueBefore int
	OldestPending              time.Time // zero when nothing is pending
}

// DeliveryBacklog reads the Backlog; dueBefore is the moment past which a due row counts as overdue.
func (s *Store) DeliveryBacklog(ctx context.Context, dueBefore time.Time) (Backlog, error) {
	var row struct {
		Pending   int           `db:"pending"`
		Failed    int           `db:"failed"`
		DueBefore int           `db:"due_before"`
		Oldest    sql.NullInt64 `db:"oldest"`
	}
	err := s.db.GetContext(ctx, &row, s.rebind(`SELECT
    COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0) AS pending,
    COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS failed,
    COALESCE(SUM(CASE WHEN state = 'pending' AND next_attempt_at < ? AND domain NOT IN (SELECT domain FROM domains WHERE unavailable_since IS NOT NULL) THEN 1 ELSE 0 END), 0) AS due_before,
    MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest
  FROM deliveries`), ms(dueBefore))
	if err != nil {
		return Backlog{}, fmt.Errorf("read delivery backlog: %w", err)
	}
	b := Backlog{Pending: row.Pending, Failed: row.Failed, DueBefore: row.DueBefore}
	if row.Oldest.Valid {
		b.OldestPending = fromMS(row.Oldest.Int64)
	}
	return b, nil
}
