package storage

import (
	"context"
	"fmt"
	"net"
	"strings"

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
	d, err := content.CanonicalHost("", domain)
	if err != nil {
		d = strings.TrimSuffix(strings.ToLower(domain), ".")
	}
	if iri, err := canonicalIRI(actorIRI); err == nil {
		actorIRI = iri
	}
	domains := []any{d}
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
	q := `SELECT COUNT(*) FROM blocks WHERE (kind = 'actor' AND value = ?) OR (kind = 'domain' AND value IN (?` + strings.Repeat(`, ?`, len(domains)-1) + `))`
	args := append([]any{actorIRI}, domains...)
	var n int
	if err := s.db.GetContext(ctx, &n, s.rebind(q), args...); err != nil {
		return false, fmt.Errorf("blocked %s: %w", actorIRI, err)
	}
	return n > 0, nil
}
