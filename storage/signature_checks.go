package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Re-checks of standing signatures (migration 0011): the note of each is fetched again, because a deletion or an
// edit may never reach us.

// SignatureRecheckPeriod is the longest a standing signature goes without a re-check of its note.
const SignatureRecheckPeriod = 30 * 24 * time.Hour

// SignatureRecheckDue is how long after a check (or the reception) a signature is due again: less than the period,
// so that the background pace, which only takes what is due, meets the period with room to spare.
const SignatureRecheckDue = 25 * 24 * time.Hour

// standingWhere selects the signatures a re-check looks at: neither withdrawn nor hidden (a hidden one is a
// moderator's matter, and may come from a blocked domain we do not want to contact).
const standingWhere = `withdrawn_at IS NULL AND status = 'active'`

// SignatureCheck is the outcome of one re-check.
type SignatureCheck struct {
	At     time.Time
	Result string // what was found, for admins: "standing", "withdrawn: ...", "failed: ..."
	// Failed is set when the check could not tell (network error, timeout, 5xx): the signature stands and its
	// failures count one more.
	Failed bool
	Next   time.Time // when it is due again
}

// RecheckQuery selects standing signatures for `memo signatures recheck`, by id, oldest first.
type RecheckQuery struct {
	AfterID int64
	Limit   int
	// DueBy, when set, keeps only those due by then (the default run: what the server would check).
	DueBy time.Time
	// CheckedBefore, when set, keeps only those not checked since then (--since).
	CheckedBefore time.Time
}

func (s *Store) checkRows(ctx context.Context, what, query string, args ...any) ([]Signature, error) {
	out := []Signature{}
	if err := s.db.SelectContext(ctx, &out, s.rebind(query), args...); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	for i := range out {
		out[i].fill()
	}
	return out, nil
}

// SignaturesToRecheck returns one page of standing signatures, by id.
func (s *Store) SignaturesToRecheck(ctx context.Context, q RecheckQuery) ([]Signature, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	where := standingWhere + ` AND id > ?`
	args := []any{q.AfterID}
	if !q.DueBy.IsZero() {
		where += ` AND next_check_at <= ?`
		args = append(args, ms(q.DueBy))
	}
	if !q.CheckedBefore.IsZero() {
		where += ` AND checked_at < ?`
		args = append(args, ms(q.CheckedBefore))
	}
	args = append(args, q.Limit)
	return s.checkRows(ctx, "signatures to recheck", `SELECT `+signatureListCols+`, moved_from, `+signatureCheckCols+` FROM signatures WHERE `+where+` ORDER BY id LIMIT ?`, args...)
}

// DueSignatureChecks returns at most limit standing signatures due by now, the longest due first, leaving out
// those of domains marked unavailable (deliveries found them down: their re-checks wait until they answer again).
func (s *Store) DueSignatureChecks(ctx context.Context, now time.Time, limit int) ([]Signature, error) {
	return s.checkRows(ctx, "due signature checks", `SELECT `+signatureListCols+`, moved_from, `+signatureCheckCols+` FROM signatures
WHERE `+standingWhere+` AND next_check_at <= ?
  AND domain NOT IN (SELECT domain FROM domains WHERE unavailable_since IS NOT NULL)
ORDER BY next_check_at, id LIMIT ?`, ms(now), limit)
}

// RecordSignatureCheck stores the outcome of a re-check that left the signature standing (or could not tell).
func (s *Store) RecordSignatureCheck(ctx context.Context, id int64, c SignatureCheck) error {
	return s.InTx(ctx, func(t *Tx) error { return t.recordCheck(ctx, id, c) })
}

func (t *Tx) recordCheck(ctx context.Context, id int64, c SignatureCheck) error {
	failed := 0
	if c.Failed {
		failed = 1
	}
	_, err := t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE signatures SET checked_at = ?, check_result = ?, next_check_at = ?,
check_failures = CASE WHEN ? = 1 THEN check_failures + 1 ELSE 0 END WHERE id = ?`),
		ms(c.At), truncate(c.Result, 500), ms(c.Next), failed, id)
	if err != nil {
		return fmt.Errorf("record check of signature %d: %w", id, err)
	}
	return nil
}

// WithdrawCheckedSignature withdraws a signature whose re-check found that its signer no longer stands behind it,
// and records why, together. It tells whether it withdrew it (false when it was withdrawn meanwhile).
func (s *Store) WithdrawCheckedSignature(ctx context.Context, g Signature, c SignatureCheck) (bool, error) {
	withdrawn := false
	err := s.InTx(ctx, func(t *Tx) error {
		_, err := t.WithdrawSignature(ctx, g.ActorIRI, g.NoteIRI)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		withdrawn = true
		return t.recordCheck(ctx, g.ID, c)
	})
	return withdrawn, err
}
