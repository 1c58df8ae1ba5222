package storage_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

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
	together(t, 8, func(g int) error {
		for i := 0; i < 50; i++ {
			id := 1000 + g*100 + i
			if _, err := db.ExecContext(ctx, insert, id, fmt.Sprint("g", id)); err != nil {
				return err
			}
			var name string
			if err := db.GetContext(ctx, &name, byID, id); err != nil || name != fmt.Sprint("g", id) {
				return fmt.Errorf("read back %d: %q %v", id, name, err)
			}
		}
		return nil
	})
	var n int
	if err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM cache_probe`); err != nil || n != 21+400 {
		t.Errorf("rows: %d %v, want 421", n, err)
	}

	// Writers queue on the gate: transactions doing read-modify-write, autocommit updates and UPDATE … RETURNING
	// read through rows, all at once, lose no increment and fail none.
	if _, err := db.ExecContext(ctx, `CREATE TABLE cache_counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO cache_counter (id, n) VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
	together(t, 24, func(g int) error {
		for i := 0; i < 25; i++ {
			var err error
			switch g % 3 {
			case 0:
				err = s.InRawTx(ctx, func(tx *sqlx.Tx) error {
					var v int
					if err := tx.GetContext(ctx, &v, `SELECT n FROM cache_counter WHERE id = 1`); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `UPDATE cache_counter SET n = ? WHERE id = 1`, v+1)
					return err
				})
			case 1:
				_, err = db.ExecContext(ctx, `UPDATE cache_counter SET n = n + 1 WHERE id = 1`)
			case 2:
				var v []int
				err = db.SelectContext(ctx, &v, `UPDATE cache_counter SET n = n + 1 WHERE id = 1 RETURNING n`)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err := db.GetContext(ctx, &n, `SELECT n FROM cache_counter WHERE id = 1`); err != nil || n != 24*25 {
		t.Errorf("counter: %d %v, want %d", n, err, 24*25)
	}
	if s.Dialect() != storage.SQLite {
		t.Errorf("dialect %s", s.Dialect())
	}
}

// together runs fn(0) to fn(n-1) at once and reports what each returns.
func together(t *testing.T, n int, fn func(g int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(g); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
