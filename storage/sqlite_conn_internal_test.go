package storage

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWritesClassifiesStatements(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT id FROM activities WHERE type = 'Update'":                                  false,
		"SELECT updated_at, deleted_at FROM signatures":                                    false,
		"  insert into t (a) values (?)":                                                   true,
		"UPDATE deliveries SET state = 'inflight'":                                         true,
		"DELETE FROM followers WHERE actor_iri = ?":                                        true,
		"WITH picked AS MATERIALIZED (\n  SELECT id FROM deliveries\n)\nUPDATE deliveries": true,
		"WITH c AS (SELECT 1) SELECT * FROM c WHERE note = 'DELETE me'":                    false,
		"INSERT INTO x VALUES ('it''s') ON CONFLICT DO NOTHING":                            true,
	} {
		if got := writes(q); got != want {
			t.Errorf("writes(%q) = %v, want %v", q, got, want)
		}
	}
}

// A transaction waits a bounded time for the one connection transactions run on, then fails with what to do;
// the one ahead of it is unharmed, and the next one goes through once it is done.
func TestTransactionWaitIsBounded(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "memo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.writerWait = 100 * time.Millisecond
	holding, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.InTx(ctx, func(tx *Tx) error {
			close(holding)
			<-release
			_, err := tx.tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('held', '1')`)
			return err
		})
	}()
	<-holding
	err = s.InTx(ctx, func(tx *Tx) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "database is locked: waited 100ms") {
		t.Fatalf("a transaction behind a held one: err %v, want the bounded wait's error", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("the held transaction: %v", err)
	}
	if err := s.InTx(ctx, func(tx *Tx) error { return nil }); err != nil {
		t.Fatalf("a transaction once the connection is free: %v", err)
	}
	if err := s.CheckWritable(ctx); err != nil {
		t.Fatalf("CheckWritable: %v", err)
	}
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM meta WHERE key IN ('held', 'doctor_write_check')`); err != nil || n != 1 {
		t.Fatalf("meta rows after the held write and the write check: %d, %v; want 1 (the check rolls back)", n, err)
	}
}
