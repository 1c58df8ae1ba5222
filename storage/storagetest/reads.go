package storagetest

import (
	"context"
	"fmt"

	"github.com/memo-fediverse/memo/storage"
)

// Reads and writes that tests make to set up or inspect a store, and the server never needs: they are built on
// the store's methods, or read its tables directly.

// AddRevision stores rev as the next revision in a transaction of its own and returns its number.
func AddRevision(ctx context.Context, s *storage.Store, rev storage.Revision) (int, error) {
	var n int
	err := s.InTx(ctx, func(tx *storage.Tx) error {
		var err error
		n, err = tx.AddRevision(ctx, rev)
		return err
	})
	return n, err
}

// SignatureByActor returns the actor's signature row, whatever its state (storage.ErrNotFound when none).
func SignatureByActor(ctx context.Context, s *storage.Store, actorIRI string) (storage.Signature, error) {
	var found *storage.Signature
	err := s.EachSignature(ctx, storage.SignatureFilter{IncludePrivate: true, IncludeInactive: true, IncludeEvidence: true}, func(g storage.Signature) error {
		if g.ActorIRI == actorIRI {
			found = &g
		}
		return nil
	})
	if err != nil {
		return storage.Signature{}, err
	}
	if found == nil {
		return storage.Signature{}, storage.ErrNotFound
	}
	return *found, nil
}

// DomainStatus returns one domain's failure record (storage.ErrNotFound when it has none).
func DomainStatus(ctx context.Context, s *storage.Store, domain string) (storage.Domain, error) {
	all, err := s.FailingDomains(ctx)
	if err != nil {
		return storage.Domain{}, err
	}
	for _, d := range all {
		if d.Domain == domain {
			return d, nil
		}
	}
	return storage.Domain{}, storage.ErrNotFound
}

// DeliveriesOf lists the deliveries of one activity, by inbox.
func DeliveriesOf(ctx context.Context, s *storage.Store, activityIRI string) ([]storage.Delivery, error) {
	var out []storage.Delivery
	err := s.DB().SelectContext(ctx, &out, s.DB().Rebind(`SELECT id, activity_iri, inbox, domain, state, attempts, next_attempt_at,
lease_until, leased_by, last_status, last_error, created_at, updated_at FROM deliveries WHERE activity_iri = ? ORDER BY inbox`), activityIRI)
	if err != nil {
		return nil, fmt.Errorf("deliveries of %s: %w", activityIRI, err)
	}
	return out, nil
}

// CountActors counts the cached actors.
func CountActors(ctx context.Context, s *storage.Store) (int, error) {
	var n int
	if err := s.DB().GetContext(ctx, &n, `SELECT COUNT(*) FROM actors`); err != nil {
		return 0, fmt.Errorf("count actors: %w", err)
	}
	return n, nil
}

// CountInteractions counts the interactions of kind on an object, whatever their audience.
func CountInteractions(ctx context.Context, s *storage.Store, objectIRI, kind string) (int, error) {
	var n int
	if err := s.DB().GetContext(ctx, &n, s.DB().Rebind(`SELECT COUNT(*) FROM interactions WHERE object_iri = ? AND kind = ?`), objectIRI, kind); err != nil {
		return 0, fmt.Errorf("count %s of %s: %w", kind, objectIRI, err)
	}
	return n, nil
}
