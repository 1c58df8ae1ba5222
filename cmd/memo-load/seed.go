package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/memo-fediverse/memo/storage"
)

// seedSignatures stores signatures from..to-1 straight into the server's database: multi-row INSERTs of 500 rows,
// 50,000 rows a transaction (2,000 on PostgreSQL). Going through the inbox would measure the inbox again (and take hours for a million);
// the pages scenario needs the rows, not how they came. Rows are public, 1 in 10 unlisted, spread over 1,000
// instance names that do not resolve, so nothing ever tries to reach them.
func seedSignatures(ctx context.Context, dsn string, from, to int) error {
	if to <= from {
		return nil
	}
	s, err := storage.Open(ctx, dsn)
	if err != nil {
		return fmt.Errorf("seed: open %s: %w", storage.RedactDSN(dsn), err)
	}
	defer s.Close()
	const perStmt = 500
	perTx := 50_000
	if s.Dialect() == storage.Postgres {
		// Each row's triggers update the one counts row; within one transaction PostgreSQL keeps every version
		// of it and walks them all on each update, so long transactions get slower with every row.
		perTx = 2_000
	}
	cols := `(actor_iri, actor_type, handle, display_name, domain, profile_url, note_iri, in_reply_to, content, revision, visibility, status, evidence, signed_at, search_text)`
	row := `(?, 'Person', ?, ?, ?, ?, ?, ?, 'Je signe.', 1, ?, 'active', '', ?, ?)`
	memo := "https://seed.invalid/memo"
	signed := time.Now().Add(-24 * time.Hour).UnixMilli()
	for txStart := from; txStart < to; txStart += perTx {
		txEnd := min(txStart+perTx, to)
		err := s.InTx(ctx, func(tx *sqlx.Tx) error {
			// The 500-row statement is parsed once per transaction, not once per execution.
			full, err := tx.PreparexContext(ctx, tx.Rebind(`INSERT INTO signatures `+cols+` VALUES `+strings.TrimSuffix(strings.Repeat(row+",", perStmt), ",")))
			if err != nil {
				return fmt.Errorf("seed: prepare: %w", err)
			}
			defer full.Close()
			args := make([]any, 0, perStmt*10)
			for start := txStart; start < txEnd; start += perStmt {
				end := min(start+perStmt, txEnd)
				args = args[:0]
				for i := start; i < end; i++ {
					domain := fmt.Sprintf("seed%d.invalid", i%1000)
					name := fmt.Sprintf("Signataire %d", i)
					handle := fmt.Sprintf("@s%d@%s", i, domain)
					vis := "public"
					if i%10 == 7 {
						vis = "unlisted"
					}
					args = append(args, fmt.Sprintf("https://%s/users/s%d", domain, i), handle, name, domain,
						fmt.Sprintf("https://%s/@s%d", domain, i), fmt.Sprintf("https://%s/notes/%d", domain, i), memo, vis,
						signed+int64(i), storage.SearchTextOf(name, handle, domain, "Je signe."))
				}
				var err error
				if end-start == perStmt {
					_, err = full.ExecContext(ctx, args...)
				} else {
					q := `INSERT INTO signatures ` + cols + ` VALUES ` + strings.TrimSuffix(strings.Repeat(row+",", end-start), ",")
					_, err = tx.ExecContext(ctx, tx.Rebind(q), args...)
				}
				if err != nil {
					return fmt.Errorf("seed signatures %d-%d: %w", start, end, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// What a bulk load is followed by (storage.Optimize): the search words recorded, fresh statistics, and on
	// PostgreSQL the dead versions of the counts row cleared (the triggers updated it once per signature in
	// a single transaction: tens of thousands of dead versions that every page would otherwise walk until
	// autovacuum comes by).
	if err := s.Optimize(ctx); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}

// signatureIDs returns the highest signature id and the number of rows, to place the middle and last pages.
func signatureIDs(ctx context.Context, dsn string) (maxID int64, rows int, err error) {
	s, err := storage.Open(ctx, dsn)
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	err = s.DB().QueryRowxContext(ctx, `SELECT COALESCE(MAX(id), 0), COUNT(*) FROM signatures`).Scan(&maxID, &rows)
	return maxID, rows, err
}

// inboxRows counts the stored inbox activities: one per accepted activity, whatever its effect.
func inboxRows(ctx context.Context, dsn string) (int, error) {
	s, err := storage.Open(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	return s.CountInboxActivities(ctx)
}
