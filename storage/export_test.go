package storage

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// InRawTx gives tests that write rows by SQL (bulk loads for benchmarks) a transaction of the store's pool.
func (s *Store) InRawTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.InTx(ctx, func(t *Tx) error { return fn(t.tx) })
}
