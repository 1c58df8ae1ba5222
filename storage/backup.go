package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/jmoiron/sqlx"
)

// SnapshotTo writes a consistent copy of a SQLite database to path, which must not exist. VACUUM INTO reads in
// one transaction, so a server writing meanwhile neither waits long nor leaves a half-written copy.
func (s *Store) SnapshotTo(ctx context.Context, path string) error {
	if s.dialect != SQLite {
		return errors.New("snapshot: only a SQLite database can be copied by the server; use pg_dump for PostgreSQL")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("snapshot %s: the file exists", path)
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("snapshot %s: %w", path, err)
	}
	return nil
}

// PostgresTarget splits a PostgreSQL URL into what libpq's tools (pg_dump, psql) understand and the schema it
// names through its search_path parameter, which only this program's driver reads.
func PostgresTarget(dsn string) (conn, schema string, err error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", "", fmt.Errorf("database URL: %w", err)
	}
	q := u.Query()
	schema = q.Get("search_path")
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}

// PostgresIsEmpty tells whether the database (and schema) named by dsn holds no memo tables yet, without
// creating any: a restore must not land on top of a live publication.
func PostgresIsEmpty(ctx context.Context, dsn string) (bool, error) {
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return false, fmt.Errorf("open postgres: %w", err)
	}
	defer db.Close()
	var found *string
	if err := db.GetContext(ctx, &found, `SELECT to_regclass('schema_migrations')::text`); err != nil {
		return false, fmt.Errorf("look for the memo's tables: %w", err)
	}
	return found == nil, nil
}

// Snapshot is what a backup holds, read from the snapshot itself: standing signatures and the received
// activities not applied yet (a restored server applies them, as the original would have).
type Snapshot struct {
	Signatures   SignatureCounts `json:"signatures"`
	InboxPending int             `json:"inbox_pending"`
}

func snapshotOf(ctx context.Context, q querier) (Snapshot, error) {
	var sn Snapshot
	if err := sqlx.GetContext(ctx, q, &sn.Signatures, `SELECT public, private, withdrawn, hidden FROM signature_counts WHERE id = 1`); err != nil {
		return sn, fmt.Errorf("count signatures: %w", err)
	}
	if err := sqlx.GetContext(ctx, q, &sn.InboxPending, `SELECT COUNT(*) FROM inbox_activities WHERE processed_at IS NULL`); err != nil {
		return sn, fmt.Errorf("count pending inbox activities: %w", err)
	}
	return sn, nil
}

// ReadSnapshot reads a Snapshot of the database as it is now.
func (s *Store) ReadSnapshot(ctx context.Context) (Snapshot, error) {
	return snapshotOf(ctx, s.db)
}

// ExportSnapshot opens a repeatable-read transaction on PostgreSQL, exports its snapshot and calls dump with the
// snapshot's name while the transaction stays open: pg_dump --snapshot then reads exactly what the Snapshot
// returned here counts.
func (s *Store) ExportSnapshot(ctx context.Context, dump func(snapshotName string) error) (Snapshot, error) {
	if s.dialect != Postgres {
		return Snapshot{}, errors.New("export snapshot: PostgreSQL only")
	}
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return Snapshot{}, fmt.Errorf("export snapshot: %w", err)
	}
	defer tx.Rollback()
	var name string
	if err := tx.GetContext(ctx, &name, `SELECT pg_export_snapshot()`); err != nil {
		return Snapshot{}, fmt.Errorf("export snapshot: %w", err)
	}
	sn, err := snapshotOf(ctx, tx)
	if err != nil {
		return sn, err
	}
	return sn, dump(name)
}
