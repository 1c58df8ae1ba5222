package storage_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// BenchmarkAddSignature is the write a signature reply costs: one transaction inserting a new signer's row (with
// its search text and a kilobyte of evidence), on a table that already holds 10,000 rows, on each backend.
func BenchmarkAddSignature(b *testing.B) {
	ctx := context.Background()
	evidence := fmt.Sprintf(`{"headers":{"signature":"%0900d"},"key":"-----BEGIN PUBLIC KEY-----"}`, 0)
	for _, be := range storagetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			s := storagetest.Open(b, be.DSN(b))
			seedSignatures(b, s, 10_000)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				domain := fmt.Sprintf("bench%d.example", i%50)
				g, err := s.AddSignature(ctx, storage.Signature{
					ActorIRI: fmt.Sprintf("https://%s/users/b%d", domain, i), ActorType: "Person",
					Handle: fmt.Sprintf("@b%d@%s", i, domain), DisplayName: fmt.Sprintf("Bénédicte %d", i), Domain: domain,
					NoteIRI: fmt.Sprintf("https://%s/statuses/%d", domain, i), InReplyTo: "https://memo.example/memo",
					Content: "Je signe.", Revision: 1, Visibility: "public", Evidence: evidence,
				})
				if err != nil || g.ID == 0 {
					b.Fatalf("add signature %d: %v", i, err)
				}
			}
		})
	}
}
