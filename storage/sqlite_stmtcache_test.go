package storage_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestStatementCache runs SQLite queries through the per-connection statement cache the way the store uses it:
// the same text again with new arguments, a failed statement then reused, the same query nested inside its own
// open rows in one transaction, and several goroutines at once. Each answer is checked against the data.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	s := storagetest.Open(t, storagetest.SQLiteDSN(t))
	db := s.DB()
	if _, err := db.ExecContext(ctx, `CREATE TABLE cache_probe (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO cache_probe (id, name) VALUES (?, ?)`
	for i := 1; i <= 20; i++ {
		if _, err := db.ExecContext(ctx, insert, i, fmt.Sprintf("n%02d", i)); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	// A constraint failure must leave the cached statement reset and usable.
	if _, err := db.ExecContext(ctx, insert, 99, "n01"); err == nil {
		t.Fatal("duplicate name inserted")
	}
	if _, err := db.ExecContext(ctx, insert, 21, "n21"); err != nil {
		t.Fatalf("insert after a failure: %v", err)
	}

	const byID = `SELECT name FROM cache_probe WHERE id = ?`
	for i := 1; i <= 21; i++ {
		var name string
		if err := db.GetContext(ctx, &name, byID, i); err != nil || name != fmt.Sprintf("n%02d", i) {
			t.Fatalf("row %d: %q %v", i, name, err)
		}
	}

	// Nested: while rows of a query are open, the same query runs again on the same connection.
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	const page = `SELECT id FROM cache_probe WHERE id > ? ORDER BY id LIMIT 3`
	rows, err := tx.QueryContext(ctx, page, 0)
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		outer = append(outer, id)
		var next []int
		if err := tx.SelectContext(ctx, &next, page, id); err != nil {
			t.Fatal(err)
		}
		inner = append(inner, next...)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(outer) != "[1 2 3]" || fmt.Sprint(inner) != "[2 3 4 3 4 5 4 5 6]" {
		t.Errorf("nested reads: outer %v, inner %v", outer, inner)
	}

	// Concurrent readers and writers over the pool.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				id := 1000 + g*100 + i
				if _, err := db.ExecContext(ctx, insert, id, fmt.Sprint("g", id)); err != nil {
					errs <- err
					return
				}
				var name string
				if err := db.GetContext(ctx, &name, byID, id); err != nil || name != fmt.Sprint("g", id) {
					errs <- fmt.Errorf("read back %d: %q %v", id, name, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int
	if err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM cache_probe`); err != nil || n != 21+400 {
		t.Errorf("rows: %d %v, want 421", n, err)
	}
	if s.Dialect() != storage.SQLite {
		t.Errorf("dialect %s", s.Dialect())
	}
}
