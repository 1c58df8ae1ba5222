package storage

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/content"
)

// Block kinds: a single actor (by IRI) or a whole domain.
const (
	BlockActor  = "actor"
	BlockDomain = "domain"
)

// IsBlocked tells whether the actor or its domain is blocked. domain is the actor's host, with or without a port,
// compared in canonical form (content.CanonicalHost); a block of example.com also covers its subdomains, and a
// block of a bare host covers all its ports.
func (s *Store) IsBlocked(ctx context.Context, actorIRI, domain string) (bool, error) {
	return isBlocked(ctx, s.db, actorIRI, domain)
}

// IsBlocked is the same check inside the transaction that records what the actor did. Its answer holds until the
// transaction ends: a block being made waits for it (lockBlocks).
func (t *Tx) IsBlocked(ctx context.Context, actorIRI, domain string) (bool, error) {
	if err := t.lockBlocks(ctx, false); err != nil {
		return false, err
	}
	return isBlocked(ctx, t.tx, actorIRI, domain)
}

// BlockMadeSince tells whether a block was made after since, less blockClockSlack. The apply asks it for an
// activity received at since, whose reception checked the blocks made before: only when it is true does the
// activity need IsBlocked again, so that while no block is being made the apply pays one read per transaction,
// not one per activity. Its answer holds until the transaction ends, as IsBlocked's.
func (t *Tx) BlockMadeSince(ctx context.Context, since time.Time) (bool, error) {
	if t.lastBlockMS == nil {
		if err := t.lockBlocks(ctx, false); err != nil {
			return false, err
		}
		var last sql.NullInt64 // NULL without any block; MAX alone lets SQLite read it from the index's end
		if err := t.tx.GetContext(ctx, &last, `SELECT MAX(created_at) FROM blocks`); err != nil {
			return false, fmt.Errorf("latest block: %w", err)
		}
		t.lastBlockMS = &last.Int64
	}
	return *t.lastBlockMS >= ms(since.Add(-blockClockSlack)), nil
}

// blockClockSlack covers what separates a block's time from an activity's reception time although the block came
// after the reception's check: the request's time between its check and its insert (a writer may wait up to
// 10 s), and the clocks of replicas that disagree.
const blockClockSlack = time.Minute

// lockBlocks orders the transactions that check blocks before recording effects with those that make a block,
// which hide and remove what the blocked party did: a block waits for the checks under way to commit, and sees
// what they recorded; a check waits for a block under way, and sees it. On PostgreSQL that is an advisory lock,
// shared by the checks, exclusive for a block (under READ COMMITTED, a check's read would otherwise miss a block
// committed before the check's own commit, and the block's hiding miss what the check's transaction then
// records). On SQLite every write transaction already runs alone.
func (t *Tx) lockBlocks(ctx context.Context, exclusive bool) error {
	if t.tx.DriverName() != "pgx" {
		return nil
	}
	q := `SELECT pg_advisory_xact_lock_shared(727276)`
	if exclusive {
		q = `SELECT pg_advisory_xact_lock(727276)`
	}
	if _, err := t.tx.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("lock blocks: %w", err)
	}
	return nil
}

func isBlocked(ctx context.Context, q querier, actorIRI, domain string) (bool, error) {
	if iri, err := canonicalIRI(actorIRI); err == nil {
		actorIRI = iri
	}
	domains := blockDomains(domain)
	query := `SELECT COUNT(*) FROM blocks WHERE (kind = 'actor' AND value = ?) OR (kind = 'domain' AND value IN (?` + strings.Repeat(`, ?`, len(domains)-1) + `))`
	args := []any{actorIRI}
	for _, d := range domains {
		args = append(args, d)
	}
	var n int
	if err := q.GetContext(ctx, &n, q.Rebind(query), args...); err != nil {
		return false, fmt.Errorf("blocked %s: %w", actorIRI, err)
	}
	return n > 0, nil
}

// blockDomains are the domain blocks that would cover host: its canonical form, without its port, and each parent
// domain (not for an IP address, nor the top-level domain alone).
func blockDomains(host string) []string {
	d, err := content.CanonicalHost("", host)
	if err != nil {
		d = strings.TrimSuffix(strings.ToLower(host), ".")
	}
	domains := []string{d}
	if h, _, err := net.SplitHostPort(d); err == nil {
		d = h
		domains = append(domains, d)
	}
	if net.ParseIP(strings.Trim(d, "[]")) == nil {
		for {
			_, rest, ok := strings.Cut(d, ".")
			if !ok || !strings.Contains(rest, ".") {
				break
			}
			domains = append(domains, rest)
			d = rest
		}
	}
	return domains
}
