package storage

import (
	"context"
	"fmt"
)

// Meta reads a setting kept in the database (ErrNotFound when unset).
func (s *Store) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := getRow(ctx, s.db, &v, "meta "+key, s.rebind(`SELECT value FROM meta WHERE key = ?`), key)
	return v, err
}

// SetMeta writes a setting kept in the database.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`), key, value)
	if err != nil {
		return fmt.Errorf("set meta %s: %w", key, err)
	}
	return nil
}

// SetMetaIfAbsent writes a setting only if no process wrote it first.
func (s *Store) SetMetaIfAbsent(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`), key, value)
	if err != nil {
		return fmt.Errorf("set meta %s: %w", key, err)
	}
	return nil
}
