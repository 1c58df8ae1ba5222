package storage

import (
	"context"
	"fmt"
	"strings"
)

// LoadSignatures stores n signatures, row(0) to row(n-1), straight into the table: multi-row INSERTs of 500 rows,
// 50,000 rows a transaction (2,000 on PostgreSQL). It is the load tool's bulk load, which needs the rows and not
// how they came: no check of the fields, no re-check date, no search words recorded (Optimize records them).
// A row's status is active when not set.
func (s *Store) LoadSignatures(ctx context.Context, n int, row func(i int) Signature) error {
	const perStmt = 500
	perTx := 50_000
	if s.dialect == Postgres {
		// Each row's triggers update the one counts row; within one transaction PostgreSQL keeps every version
		// of it and walks them all on each update, so long transactions get slower with every row.
		perTx = 2_000
	}
	cols := `(actor_iri, actor_type, handle, display_name, domain, profile_url, note_iri, in_reply_to, content, revision, visibility, status, evidence, signed_at, search_text)`
	values := `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insert := func(rows int) string {
		return s.rebind(`INSERT INTO signatures ` + cols + ` VALUES ` + strings.TrimSuffix(strings.Repeat(values+",", rows), ","))
	}
	for txStart := 0; txStart < n; txStart += perTx {
		txEnd := min(txStart+perTx, n)
		err := s.InTx(ctx, func(t *Tx) error {
			// The 500-row statement is parsed once per transaction, not once per execution.
			full, err := t.tx.PreparexContext(ctx, insert(perStmt))
			if err != nil {
				return fmt.Errorf("load signatures: prepare: %w", err)
			}
			defer full.Close()
			args := make([]any, 0, perStmt*15)
			for start := txStart; start < txEnd; start += perStmt {
				end := min(start+perStmt, txEnd)
				args = args[:0]
				for i := start; i < end; i++ {
					g := row(i)
					if g.Status == "" {
						g.Status = SignatureActive
					}
					args = append(args, g.ActorIRI, g.ActorType, g.Handle, g.DisplayName, g.Domain, g.ProfileURL, g.NoteIRI,
						g.InReplyTo, g.Content, g.Revision, g.Visibility, g.Status, g.Evidence, ms(g.SignedAt), searchTextOf(g))
				}
				if end-start == perStmt {
					_, err = full.ExecContext(ctx, args...)
				} else {
					_, err = t.tx.ExecContext(ctx, insert(end-start), args...)
				}
				if err != nil {
					return fmt.Errorf("load signatures %d-%d: %w", start, end, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// SignatureRows returns the highest signature id and the number of rows, whatever their state.
func (s *Store) SignatureRows(ctx context.Context) (maxID int64, rows int, err error) {
	var r struct {
		MaxID int64 `db:"max_id"`
		Rows  int   `db:"n"`
	}
	if err := s.db.GetContext(ctx, &r, `SELECT COALESCE(MAX(id), 0) AS max_id, COUNT(*) AS n FROM signatures`); err != nil {
		return 0, 0, fmt.Errorf("signature rows: %w", err)
	}
	return r.MaxID, r.Rows, nil
}
