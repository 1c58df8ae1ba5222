package federation_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// benchCollectionSignatures is how many signatures the collection benchmark seeds; -short (CI) seeds fewer, only
// to keep the benchmark running.
func benchCollectionSignatures() int {
	if testing.Short() {
		return 5_000
	}
	return 100_000
}

// seedManySignatures bulk-inserts n signatures (one in ten private, one in fifty withdrawn) and returns the
// largest id.
func seedManySignatures(b *testing.B, s *storage.Store, n int) int64 {
	b.Helper()
	ctx := context.Background()
	const batch = 500
	row := `(?, 'Person', ?, ?, ?, '', ?, 'https://memo.example/memo', 'je signe', 1, ?, 'active', '', ?, ?, ?)`
	tx, err := s.DB().BeginTxx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	err = func() error {
		for start := 0; start < n; start += batch {
			end := min(start+batch, n)
			var args []any
			for i := start; i < end; i++ {
				domain := fmt.Sprintf("i%d.example", i%200)
				vis := "public"
				if i%10 == 3 {
					vis = "followers"
				}
				var withdrawn any
				if i%50 == 11 {
					withdrawn = int64(1_700_000_000_000 + i)
				}
				handle := fmt.Sprintf("@u%d@%s", i, domain)
				name := fmt.Sprintf("Signataire %d", i)
				args = append(args, fmt.Sprintf("https://%s/users/u%d", domain, i), handle, name, domain,
					fmt.Sprintf("https://%s/notes/%d", domain, i), vis, int64(1_700_000_000_000+i), withdrawn,
					storage.SearchTextOf(name, handle, domain, ""))
			}
			q := `INSERT INTO signatures (actor_iri, actor_type, handle, display_name, domain, profile_url, note_iri, in_reply_to, content, revision, visibility, status, evidence, signed_at, withdrawn_at, search_text) VALUES ` +
				strings.TrimSuffix(strings.Repeat(row+",", end-start), ",")
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
				return fmt.Errorf("seed rows %d-%d: %w", start, end, err)
			}
		}
		return tx.Commit()
	}()
	if err != nil {
		tx.Rollback()
		b.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	var last int64
	if err := s.DB().Get(&last, `SELECT MAX(id) FROM signatures`); err != nil {
		b.Fatal(err)
	}
	return last
}

// BenchmarkSignaturesCollectionPages fetches the signatures collection's first, a middle and the last page over
// loopback HTTP at 100,000 signatures, on each backend: keyset pages cost the same wherever they are.
func BenchmarkSignaturesCollectionPages(b *testing.B) {
	for _, be := range storagetest.Backends() {
		site := startReadSite(b, storagetest.Open(b, be.DSN(b)))
		last := seedManySignatures(b, site.store, benchCollectionSignatures())
		for _, p := range []struct {
			name  string
			query string
		}{
			{"first", "?page=1"},
			{"middle", fmt.Sprintf("?before=%d", last/2)},
			{"last", "?before=30"},
			{"collection", ""},
		} {
			target := site.urls.Signatures() + p.query
			b.Run(be.Name+"/"+p.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if res := site.get(target, rsAcceptAS); res.Status != http.StatusOK {
						b.Fatalf("GET %s: %d", target, res.Status)
					}
				}
			})
		}
	}
}
