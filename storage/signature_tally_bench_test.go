package storage_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// BenchmarkSignaturesPageQueries runs what one request of the web signatures list asks the database (the tally,
// then the first page) at two table sizes: a cost that grows with the rows shows up as the two sizes drifting apart.
func BenchmarkSignaturesPageQueries(b *testing.B) {
	ctx := context.Background()
	for _, be := range storagetest.Backends() {
		sizes := []int{10_000, 100_000}
		if testing.Short() {
			sizes = []int{1_000, 5_000} // CI: keep it running, not measure
		}
		for _, rows := range sizes {
			s := storagetest.Open(b, be.DSN(b))
			seedSignatures(b, s, rows)
			b.Run(fmt.Sprintf("%s/%d/tally", be.Name, rows), func(b *testing.B) {
				for b.Loop() {
					if t, err := s.CountSignatures(ctx); err != nil || t.Public == 0 {
						b.Fatalf("tally = %+v, %v", t, err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/%d/first-page", be.Name, rows), func(b *testing.B) {
				for b.Loop() {
					if list, err := s.ListedSignatures(ctx, storage.SignatureQuery{Limit: 50}); err != nil || len(list) != 50 {
						b.Fatalf("page = %d rows, %v", len(list), err)
					}
				}
			})
		}
	}
}
