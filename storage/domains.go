package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Domain is a remote domain that failed deliveries since its last success. Once Unavailable, its deliveries are
// parked: workers leave them alone until NextAttemptAt, when a few are tried as a probe.
type Domain struct {
	Domain             string        `db:"domain"`
	Failures           int           `db:"failures"`
	FirstFailureMS     sql.NullInt64 `db:"first_failure_at"`
	UnavailableSinceMS sql.NullInt64 `db:"unavailable_since"`
	LastError          string        `db:"last_error"`
	NextAttemptMS      sql.NullInt64 `db:"next_attempt_at"`
	// UnreachableOnly tells that no failure since the last success got an answer from a server.
	UnreachableOnly bool `db:"unreachable_only"`
}

func (d Domain) Unavailable() bool         { return d.UnavailableSinceMS.Valid }
func (d Domain) FirstFailureAt() time.Time { return fromNullMS(d.FirstFailureMS) }
func (d Domain) UnavailableSince() time.Time {
	return fromNullMS(d.UnavailableSinceMS)
}
func (d Domain) NextAttemptAt() time.Time { return fromNullMS(d.NextAttemptMS) }

const domainCols = `domain, failures, first_failure_at, unavailable_since, last_error, next_attempt_at, unreachable_only`

// DomainRule decides when failures make a domain unavailable, and how rarely it is then tried.
type DomainRule struct {
	After       time.Duration // failing without a success for at least this long...
	MinFailures int           // ...and at least this many times
	Probe       time.Duration // then tried again this long after each failed probe
	// UnreachableAfter and UnreachableFailures also mark a domain whose every failure since the last success
	// found no server (RecordDomainUnreachable) and to which no delivery ever succeeded; zero turns this off.
	UnreachableAfter    time.Duration
	UnreachableFailures int
}

// RecordDomainFailure counts one failed attempt that got an answer, or may have (timeout, 408, 5xx), against
// domain, marks it unavailable when rule says so, and returns its state. An unavailable domain's next probe moves
// on with each failure.
func (s *Store) RecordDomainFailure(ctx context.Context, domain, errText string, now time.Time, rule DomainRule) (Domain, error) {
	return s.recordDomainFailure(ctx, domain, errText, false, now, rule)
}

// RecordDomainUnreachable counts one attempt that found no server (DNS failure, connection refused, TLS error).
// A domain that never answered (every failure of this kind, and no delivery to it ever made) is marked
// unavailable by the rule's Unreachable bounds.
func (s *Store) RecordDomainUnreachable(ctx context.Context, domain, errText string, now time.Time, rule DomainRule) (Domain, error) {
	return s.recordDomainFailure(ctx, domain, errText, true, now, rule)
}

func (s *Store) recordDomainFailure(ctx context.Context, domain, errText string, unreachable bool, now time.Time, rule DomainRule) (Domain, error) {
	var d Domain
	t := ms(now)
	flag := 0
	if unreachable {
		flag = 1
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(ctx, tx.tx.Rebind(`INSERT INTO domains (domain, failures, first_failure_at, last_error, unreachable_only) VALUES (?, 1, ?, ?, ?)
ON CONFLICT (domain) DO UPDATE SET failures = domains.failures + 1,
  first_failure_at = COALESCE(domains.first_failure_at, excluded.first_failure_at), last_error = excluded.last_error,
  unreachable_only = CASE WHEN excluded.unreachable_only = 1 THEN domains.unreachable_only ELSE 0 END`),
			domain, t, truncate(errText, 500), flag); err != nil {
			return fmt.Errorf("record failure of %s: %w", domain, err)
		}
		if err := tx.tx.GetContext(ctx, &d, tx.tx.Rebind(`SELECT `+domainCols+` FROM domains WHERE domain = ?`), domain); err != nil {
			return fmt.Errorf("read domain %s: %w", domain, err)
		}
		mark := d.Unavailable() || (d.Failures >= rule.MinFailures && !d.FirstFailureAt().After(now.Add(-rule.After)))
		if !mark && d.UnreachableOnly && rule.UnreachableFailures > 0 && d.Failures >= rule.UnreachableFailures &&
			!d.FirstFailureAt().After(now.Add(-rule.UnreachableAfter)) {
			// Never answered since the failures began; it counts as never answered only if no delivery to it
			// ever succeeded. Asked once per run of failures: the answer clears the flag or marks the domain.
			var answered bool
			if err := tx.tx.GetContext(ctx, &answered, tx.tx.Rebind(`SELECT EXISTS (SELECT 1 FROM deliveries WHERE domain = ? AND state = ?)`), domain, DeliveryDelivered); err != nil {
				return fmt.Errorf("deliveries to %s: %w", domain, err)
			}
			if answered {
				if _, err := tx.tx.ExecContext(ctx, tx.tx.Rebind(`UPDATE domains SET unreachable_only = 0 WHERE domain = ?`), domain); err != nil {
					return fmt.Errorf("domain %s answered before: %w", domain, err)
				}
				d.UnreachableOnly = false
			}
			mark = !answered
		}
		if !mark {
			return nil
		}
		if _, err := tx.tx.ExecContext(ctx, tx.tx.Rebind(`UPDATE domains SET unavailable_since = COALESCE(unavailable_since, ?), next_attempt_at = ? WHERE domain = ?`),
			t, ms(now.Add(rule.Probe)), domain); err != nil {
			return fmt.Errorf("mark %s unavailable: %w", domain, err)
		}
		if err := tx.tx.GetContext(ctx, &d, tx.tx.Rebind(`SELECT `+domainCols+` FROM domains WHERE domain = ?`), domain); err != nil {
			return fmt.Errorf("read domain %s: %w", domain, err)
		}
		return nil
	})
	return d, err
}

// ClearDomain forgets a domain's failures: a delivery to it succeeded, or an activity arrived from it. Its parked
// deliveries become due again at once.
//
// It is called for every delivery made and every activity received, and nearly always finds nothing to clear: a
// read first keeps that case free of a write (SQLite takes one writer at a time).
func (s *Store) ClearDomain(ctx context.Context, domain string) error {
	var n int
	if err := s.db.GetContext(ctx, &n, s.rebind(`SELECT COUNT(*) FROM domains WHERE domain = ?`), domain); err != nil {
		return fmt.Errorf("clear domain %s: %w", domain, err)
	}
	if n == 0 {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM domains WHERE domain = ?`), domain); err != nil {
		return fmt.Errorf("clear domain %s: %w", domain, err)
	}
	return nil
}

// FailingDomains lists domains with failures, unavailable ones first.
func (s *Store) FailingDomains(ctx context.Context) ([]Domain, error) {
	var out []Domain
	if err := s.db.SelectContext(ctx, &out, `SELECT `+domainCols+` FROM domains
ORDER BY CASE WHEN unavailable_since IS NULL THEN 1 ELSE 0 END, domain`); err != nil {
		return nil, fmt.Errorf("failing domains: %w", err)
	}
	return out, nil
}
