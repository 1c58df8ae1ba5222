package storage_test

import (
	"context"

	"github.com/memo-fediverse/memo/storage"
)

// signatureTotal is the number of standing signatures, the total every collection and page announces.
func signatureTotal(ctx context.Context, s *storage.Store) (int, error) {
	c, err := s.CountSignatures(ctx)
	return c.Total(), err
}
