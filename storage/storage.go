// Package storage keeps the publication's state in SQLite (the embedded default) or PostgreSQL (for several
// replicas). Queries are plain SQL written once with `?` placeholders and rebound per driver by sqlx.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/jmoiron/sqlx"
)

// ErrNotFound is returned when a row asked for by key does not exist.
var ErrNotFound = errors.New("not found")

// Dialect names the database engine behind a Store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is the handle every other package uses. It is safe for concurrent use.
type Store struct {
	db     *sqlx.DB
	writer *sqlx.DB // transactions; on SQLite one connection of its own, on PostgreSQL db itself
	// writerWait bounds how long a transaction waits for its connection (writerConn).
	writerWait time.Duration
	dialect    Dialect
	now        func() time.Time
	inbox      inboxBatcher
}

var errStoreClosed = errors.New("store closed")

// IsPostgresURL tells whether a database setting names a PostgreSQL server rather than a SQLite file.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// RedactDSN hides the password of a database URL, for messages and logs.
func RedactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Open connects to the database named by dsn (a SQLite file path or a postgres:// URL), checks it answers and
// applies pending migrations.
func Open(ctx context.Context, dsn string) (*Store, error) { return open(ctx, dsn, true) }

// OpenUnmigrated connects like Open but applies no migration: `memo doctor` looks at the database a running server
// uses, and must report a missing migration rather than apply it under that server.
func OpenUnmigrated(ctx context.Context, dsn string) (*Store, error) { return open(ctx, dsn, false) }

func open(ctx context.Context, dsn string, migrate bool) (*Store, error) {
	var (
		db      *sqlx.DB
		writer  *sqlx.DB
		dialect Dialect
		err     error
	)
	if IsPostgresURL(dsn) {
		if _, perr := url.Parse(dsn); perr != nil {
			return nil, fmt.Errorf("database URL: %w", perr)
		}
		dialect = Postgres
		db, err = sqlx.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(10)
		db.SetConnMaxIdleTime(5 * time.Minute)
		writer = db
	} else {
		if strings.Contains(dsn, "://") {
			return nil, fmt.Errorf("database %q: use a SQLite file path or a postgres:// URL", dsn)
		}
		dialect = SQLite
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create database folder: %w", err)
			}
		}
		// WAL lets readers run beside the writer; busy_timeout makes a second process (memo publish next to memo
		// serve) wait for the lock instead of failing at once.
		q := "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate"
		connector, cerr := newSQLiteConnector("file:" + dsn + q)
		if cerr != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", dsn, cerr)
		}
		db = sqlx.NewDb(sql.OpenDB(connector), "sqlite")
		db.SetMaxOpenConns(3)
		// Idle connections are kept: each holds its prepared statements.
		db.SetMaxIdleConns(3)
		db.SetConnMaxIdleTime(0)
		// Transactions get a connection of their own. In WAL mode a connection drops its whole page cache when
		// another one has committed since its last read, so writes spread over the pool each began cold, reading
		// again from the file every page of every index they touched (pread was 5 % of the server's CPU under inbox
		// load). The connection that made the last commit keeps its cache: one writer connection stays warm.
		writer = sqlx.NewDb(sql.OpenDB(connector), "sqlite")
		writer.SetMaxOpenConns(1)
		writer.SetMaxIdleConns(1)
		writer.SetConnMaxIdleTime(0)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		closeBoth(db, writer)
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	s := &Store{db: db, writer: writer, writerWait: gateWait, dialect: dialect, now: time.Now}
	if !migrate {
		return s, nil
	}
	if err := s.migrate(ctx); err != nil {
		closeBoth(db, writer)
		return nil, err
	}
	if err := s.refreshSearchText(ctx); err != nil {
		closeBoth(db, writer)
		return nil, err
	}
	if dialect == SQLite {
		s.startInboxBatches()
	}
	return s, nil
}

// Close releases the connections.
func (s *Store) Close() error {
	s.stopInboxBatches()
	return closeBoth(s.db, s.writer)
}

func closeBoth(db, writer *sqlx.DB) error {
	err := db.Close()
	if writer != db {
		err = errors.Join(err, writer.Close())
	}
	return err
}

// Dialect tells which engine this store runs on.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB exposes the handle to tests, which set up and inspect rows by SQL; everything else goes through methods.
func (s *Store) DB() *sqlx.DB { return s.db }

// Ping tells whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// PostgresBytes is the size on disk of the PostgreSQL schema's tables and their indexes.
func (s *Store) PostgresBytes(ctx context.Context) (int64, error) {
	if s.dialect != Postgres {
		return 0, errors.New("database size: PostgreSQL only")
	}
	var n int64
	if err := s.db.GetContext(ctx, &n, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`); err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	return n, nil
}

// SetClock replaces the clock used for timestamps (tests inject one).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Now returns the store's clock reading.
func (s *Store) Now() time.Time { return s.now() }

func (s *Store) rebind(q string) string { return s.db.Rebind(q) }

// ms converts a time to the Unix milliseconds stored in every *_at column.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts stored Unix milliseconds back to a UTC time.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// fromNullMS converts a nullable column; the zero time stands for NULL.
func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// getRow reads one row into dest: ErrNotFound when there is none, any other error wrapped with what was read.
func getRow(ctx context.Context, q querier, dest any, what, query string, args ...any) error {
	err := sqlx.GetContext(ctx, q, dest, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
