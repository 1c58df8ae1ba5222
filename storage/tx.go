package storage

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Tx is one transaction on a Store. Its methods are the writes that must commit together with others (the inbox
// applies an activity's effects and marks it processed at once; publishing stores a revision with its outgoing
// activities), and the reads those writes depend on.
type Tx struct {
	tx *sqlx.Tx
	s  *Store
	// lastBlockMS is the time of the latest block, read once per transaction (BlockMadeSince).
	lastBlockMS *int64
}

// InTx runs fn in one transaction, committed when fn returns nil and rolled back otherwise.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	conn, err := s.writerConn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&Tx{tx: tx, s: s}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// writerConn takes the connection transactions run on, waiting at most s.writerWait for it. On SQLite every
// transaction of the process queues for that one connection: a writer held up longer gets the error SQLite's
// busy_timeout gives a writer of another process, and its caller answers "retry later", instead of waiting for
// as long as the one ahead of it hangs. The wait alone is bounded: the transaction itself runs under ctx.
func (s *Store) writerConn(ctx context.Context) (*sqlx.Conn, error) {
	wctx, cancel := context.WithTimeout(ctx, s.writerWait)
	defer cancel()
	conn, err := s.writer.Connx(wctx)
	if err != nil && ctx.Err() == nil && wctx.Err() != nil {
		return nil, fmt.Errorf("database is locked: waited %s for another write of this process", s.writerWait)
	}
	return conn, err
}

// querier is what a read needs of a connection. Both the pool and a transaction offer it, so a read made alone
// and the same read inside a transaction share one implementation.
type querier interface {
	sqlx.ExtContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

var (
	_ querier = (*sqlx.DB)(nil)
	_ querier = (*sqlx.Tx)(nil)
)

// Savepoint runs fn under a savepoint of tx: when fn fails, what it wrote is rolled back and the transaction goes
// on with the rest; fn's error is returned. The error of the savepoint itself is returned as failed, the
// transaction being unusable then.
func (tx *Tx) Savepoint(ctx context.Context, fn func() error) (fnErr, failed error) {
	if _, err := tx.tx.ExecContext(ctx, `SAVEPOINT work`); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	lastBlock := tx.lastBlockMS
	if fnErr = fn(); fnErr != nil {
		if _, err := tx.tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT work`); err != nil {
			return fnErr, fmt.Errorf("rollback to savepoint: %w", err)
		}
		// PostgreSQL releases the locks taken under a savepoint rolled back, the blocks' lock among them: what
		// was read under it is read again.
		tx.lastBlockMS = lastBlock
	}
	if _, err := tx.tx.ExecContext(ctx, `RELEASE SAVEPOINT work`); err != nil {
		return fnErr, fmt.Errorf("release savepoint: %w", err)
	}
	return fnErr, nil
}
