package storage

import (
	"context"
	"encoding/base64"
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

// Blob reads binary data kept in the meta table (base64 there, so one schema serves both engines).
func (s *Store) Blob(ctx context.Context, key string) ([]byte, error) {
	v, err := s.Meta(ctx, key)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("meta %s: %w", key, err)
	}
	return b, nil
}

// PutBlob writes binary data to the meta table.
func (s *Store) PutBlob(ctx context.Context, key string, data []byte) error {
	return s.SetMeta(ctx, key, base64.StdEncoding.EncodeToString(data))
}

// DeleteBlob removes a key of the meta table; a missing key is not an error.
func (s *Store) DeleteBlob(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM meta WHERE key = ?`), key); err != nil {
		return fmt.Errorf("delete meta %s: %w", key, err)
	}
	return nil
}
