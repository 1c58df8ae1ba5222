package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SignatureScheme returns the signature scheme remembered for deliveries to host, or "" when none is remembered or
// the memory expired by now.
func (s *Store) SignatureScheme(ctx context.Context, host string, now time.Time) (string, error) {
	var row struct {
		Scheme  string `db:"scheme"`
		UntilMS int64  `db:"until_ms"`
	}
	err := getRow(ctx, s.db, &row, "signature scheme of "+host, s.rebind(`SELECT scheme, until_ms FROM signature_schemes WHERE host = ?`), host)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if row.UntilMS <= now.UnixMilli() {
		return "", nil
	}
	return row.Scheme, nil
}

// RememberSignatureScheme records that host accepts deliveries signed under scheme, until until.
func (s *Store) RememberSignatureScheme(ctx context.Context, host, scheme string, until time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO signature_schemes (host, scheme, until_ms) VALUES (?, ?, ?)
ON CONFLICT (host) DO UPDATE SET scheme = excluded.scheme, until_ms = excluded.until_ms`), host, scheme, until.UnixMilli()); err != nil {
		return fmt.Errorf("remember signature scheme of %s: %w", host, err)
	}
	return nil
}

// ForgetSignatureScheme drops what was remembered for host.
func (s *Store) ForgetSignatureScheme(ctx context.Context, host string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM signature_schemes WHERE host = ?`), host); err != nil {
		return fmt.Errorf("forget signature scheme of %s: %w", host, err)
	}
	return nil
}

// PruneSignatureSchemes deletes what expired before now.
func (s *Store) PruneSignatureSchemes(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM signature_schemes WHERE until_ms <= ?`), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune signature schemes: %w", err)
	}
	return res.RowsAffected()
}
