package storage_test

import (
	"context"
	"testing"

	"github.com/memo-fediverse/memo/storage"
)

// signatureTotal is the number of standing signatures, the total every collection and page announces.
func signatureTotal(ctx context.Context, s *storage.Store) (int, error) {
	c, err := s.CountSignatures(ctx)
	return c.Total(), err
}

// insertRows runs a raw statement for rows this package has no write API for yet (followers, interactions, signatures).
func insertRows(t *testing.T, s *storage.Store, q string, args ...any) {
	t.Helper()
	if _, err := s.DB().Exec(s.DB().Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
