// Package storagetest opens throw-away stores for tests: a SQLite file in a temporary folder, and, when
// MEMO_TEST_POSTGRES holds a PostgreSQL URL, a fresh schema on that server.
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/memo-fediverse/memo/storage"
)

// EnvPostgres names the variable that turns the PostgreSQL runs on. When it is set and the server is absent,
// tests fail: they never skip silently.
const EnvPostgres = "MEMO_TEST_POSTGRES"

// Backend is one database engine a test runs against.
type Backend struct {
	Name string
	// DSN returns a new, empty database for one test (cleaned up when it ends).
	DSN func(t testing.TB) string
}

// Backends lists SQLite always, and PostgreSQL when MEMO_TEST_POSTGRES is set.
func Backends() []Backend {
	out := []Backend{{Name: "sqlite", DSN: SQLiteDSN}}
	if os.Getenv(EnvPostgres) != "" {
		out = append(out, Backend{Name: "postgres", DSN: PostgresDSN})
	}
	return out
}

// Each runs fn once per backend, as subtests, each with a fresh migrated store.
func Each(t *testing.T, fn func(t *testing.T, s *storage.Store)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, Open(t, b.DSN(t)))
		})
	}
}

// Open opens and migrates the store at dsn and closes it when the test ends.
func Open(t testing.TB, dsn string) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// SQLiteDSN returns the path of a new SQLite file in the test's temporary folder.
func SQLiteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), "memo.db")
}

// PostgresDSN creates a schema of its own on the MEMO_TEST_POSTGRES server and returns a URL whose search_path
// points at it, so tests can run in parallel without seeing each other's rows.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Fatalf("%s is not set", EnvPostgres)
	}
	admin, err := sqlx.Open("pgx", base)
	if err != nil {
		t.Fatalf("%s=%q: %v", EnvPostgres, base, err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("PostgreSQL at %s=%q is not usable (is the server running?): %v", EnvPostgres, base, err)
	}
	t.Cleanup(func() {
		db, err := sqlx.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s=%q: %v", EnvPostgres, base, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
