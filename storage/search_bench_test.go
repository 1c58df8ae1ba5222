package storage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// searchNames gives seeded signers names with accents, as real ones have.
var searchNames = []string{"Éloïse", "Zoé", "Chloé", "Jérôme", "Anaïs", "François", "Hélène", "Noël", "Ségolène", "Maël"}

// seedSearch stores n listed signatures for the search benchmarks, 1 in 10 private and 1 in 50 withdrawn (never
// found), spread over 1,000 instances, in transactions of 2,000 rows (PostgreSQL's count triggers slow down in
// longer ones).
func seedSearch(b *testing.B, s *storage.Store, n int) {
	b.Helper()
	ctx := context.Background()
	const batch, perTx = 500, 2_000
	cols := `(actor_iri, actor_type, handle, display_name, domain, profile_url, note_iri, in_reply_to, content, revision, visibility, status, evidence, signed_at, withdrawn_at, search_text)`
	row := `(?, 'Person', ?, ?, ?, ?, ?, 'https://memo.example/memo', ?, 1, ?, 'active', '', ?, ?, ?)`
	for txStart := 0; txStart < n; txStart += perTx {
		err := s.InRawTx(ctx, func(tx *sqlx.Tx) error {
			for start := txStart; start < min(txStart+perTx, n); start += batch {
				end := min(start+batch, n)
				var args []any
				for i := start; i < end; i++ {
					domain := fmt.Sprintf("instance%d.example", i%1000)
					name := fmt.Sprintf("%s %d", searchNames[i%len(searchNames)], i)
					handle := fmt.Sprintf("@u%d@%s", i, domain)
					text := "<p>Je signe.</p>"
					vis := "public"
					if i%10 == 3 {
						vis = "followers"
					}
					var withdrawn any
					if i%50 == 11 {
						withdrawn = int64(1_700_000_000_000 + i)
					}
					args = append(args, fmt.Sprintf("https://%s/users/u%d", domain, i), handle, name, domain,
						fmt.Sprintf("https://%s/@u%d", domain, i), fmt.Sprintf("https://%s/notes/%d", domain, i), text, vis,
						int64(1_700_000_000_000+i), withdrawn, storage.SearchTextOf(name, handle, domain, text))
				}
				q := `INSERT INTO signatures ` + cols + ` VALUES ` + strings.TrimSuffix(strings.Repeat(row+",", end-start), ",")
				if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
					return fmt.Errorf("seed rows %d-%d: %w", start, end, err)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Optimize(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSearch measures one search as the web page runs it (the page of 50, the count of matches, the link to
// the next page) at 1,000 and 1,000,000 signatures on each engine; under -short the large table has 20,000 rows.
// The queries: a unique handle, an instance (1 row in 1,000), a first name typed without accents (1 in 10) and a
// prefix of it.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	large := 1_000_000
	if testing.Short() {
		large = 20_000
	}
	for _, be := range storagetest.Backends() {
		for _, n := range []int{1_000, large} {
			s := storagetest.Open(b, be.DSN(b))
			seedSearch(b, s, n)
			for _, q := range []struct{ name, query string }{
				{"handle", fmt.Sprintf("@u%d@", n/2+1)},
				{"instance", "instance42.example"},
				{"name", "eloise"},
				{"prefix", "helen"},
			} {
				b.Run(fmt.Sprintf("%s/%d/%s", be.Name, n, q.name), func(b *testing.B) {
					for b.Loop() {
						page, err := s.ListedSignatures(ctx, storage.SignatureQuery{Search: q.query, Limit: 50})
						if err != nil {
							b.Fatal(err)
						}
						if len(page) == 0 {
							b.Fatalf("search %q found nothing", q.query)
						}
						if _, err := s.CountListedSignatures(ctx, q.query); err != nil {
							b.Fatal(err)
						}
						if _, err := s.HasListedSignature(ctx, q.query, page[len(page)-1].ID, true); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
