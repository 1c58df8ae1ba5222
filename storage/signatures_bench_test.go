package storage_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// benchSignatures is the number of rows seeded; MEMO_BENCH_SIGNATURES overrides it (1000000 to check the
// million-row claim by hand; CI keeps the default).
func benchSignatures() int {
	if n, err := strconv.Atoi(os.Getenv("MEMO_BENCH_SIGNATURES")); err == nil && n >= 1000 {
		return n
	}
	if testing.Short() {
		return 5_000 // CI: keep it running, not measure
	}
	return 100_000
}

// seedSignatures bulk-inserts n signatures in one transaction: 90% public or unlisted, 1 in 10 private, 1 in 50
// withdrawn, spread over 200 instances.
func seedSignatures(tb testing.TB, s *storage.Store, n int) {
	tb.Helper()
	ctx := context.Background()
	const batch = 500
	cols := `(actor_iri, actor_type, handle, display_name, domain, profile_url, note_iri, in_reply_to, content, revision, visibility, status, evidence, signed_at, withdrawn_at, search_text)`
	row := `(?, 'Person', ?, ?, ?, ?, ?, 'https://memo.example/memo', 'je signe', 1, ?, 'active', '', ?, ?, ?)`
	err := s.InRawTx(ctx, func(tx *sqlx.Tx) error {
		for start := 0; start < n; start += batch {
			end := min(start+batch, n)
			var args []any
			for i := start; i < end; i++ {
				domain := fmt.Sprintf("instance%d.example", i%200)
				name := fmt.Sprintf("Signataire %d", i)
				vis := "public"
				switch {
				case i%10 == 3:
					vis = "followers"
				case i%10 == 7:
					vis = "unlisted"
				}
				var withdrawn any
				if i%50 == 11 {
					withdrawn = int64(1_700_000_000_000 + i)
				}
				handle := fmt.Sprintf("@u%d@%s", i, domain)
				args = append(args, fmt.Sprintf("https://%s/users/u%d", domain, i), handle, name, domain,
					fmt.Sprintf("https://%s/@u%d", domain, i), fmt.Sprintf("https://%s/notes/%d", domain, i), vis,
					int64(1_700_000_000_000+i), withdrawn, storage.SearchTextOf(name, handle, domain, ""))
			}
			q := `INSERT INTO signatures ` + cols + ` VALUES ` + strings.TrimSuffix(strings.Repeat(row+",", end-start), ",")
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
				return fmt.Errorf("seed rows %d-%d: %w", start, end, err)
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkSignaturePages measures the newest-first list at 100,000 signatures (benchSignatures): the first, a middle and the last
// page, a search, and the per-instance counts, on each backend.
func BenchmarkSignaturePages(b *testing.B) {
	ctx := context.Background()
	for _, be := range storagetest.Backends() {
		s := storagetest.Open(b, be.DSN(b))
		seedSignatures(b, s, benchSignatures())
		pages := []struct {
			name   string
			filter storage.SignatureFilter
		}{
			{"first", storage.SignatureFilter{Limit: 50}},
			{"middle", storage.SignatureFilter{Limit: 50, Before: int64(benchSignatures() / 2)}},
			{"last", storage.SignatureFilter{Limit: 50, Before: 60}},
			{"back-from-last", storage.SignatureFilter{Limit: 50, After: 60}},
			{"search-instance", storage.SignatureFilter{Limit: 50, Search: "instance42.example"}},
			{"search-name-deep", storage.SignatureFilter{Limit: 50, Search: fmt.Sprintf("signataire %d", benchSignatures()/8+45)}},
		}
		for _, p := range pages {
			b.Run(be.Name+"/"+p.name, func(b *testing.B) {
				for b.Loop() {
					rows, err := s.Signatures(ctx, p.filter)
					if err != nil {
						b.Fatal(err)
					}
					if len(rows) == 0 {
						b.Fatalf("%s: empty page", p.name)
					}
				}
			})
		}
		b.Run(be.Name+"/per-instance", func(b *testing.B) {
			for b.Loop() {
				if per, err := s.SignaturesPerInstance(ctx, 20); err != nil || len(per) != 20 {
					b.Fatalf("per instance = %d rows, %v", len(per), err)
				}
			}
		})
		b.Run(be.Name+"/counts", func(b *testing.B) {
			for b.Loop() {
				if c, err := s.CountSignatures(ctx); err != nil || c.Total() == 0 {
					b.Fatalf("counts = %+v, %v", c, err)
				}
			}
		})
	}
}
