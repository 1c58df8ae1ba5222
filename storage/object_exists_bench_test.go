package storage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// BenchmarkMemoExists compares two ways the inbox can check that the memo exists before accepting a Like or an
// Announce of it: reading the current revision (its whole text) or counting revision 1. The inbox does this on
// every boost and like, so the difference is paid at the inbox's rate.
func BenchmarkMemoExists(b *testing.B) {
	ctx := context.Background()
	for _, be := range storagetest.Backends() {
		s := storagetest.Open(b, be.DSN(b))
		md := strings.Repeat("Un paragraphe du mémo, d'une longueur réaliste pour un texte de plusieurs pages. ", 400)
		if err := s.SeedRevision(ctx, storage.Revision{
			Title: "Mémo", Summary: "Résumé", Markdown: md, HTML: "<p>" + md + "</p>", Changelog: "v1", PublishedAt: time.Now(),
		}); err != nil {
			b.Fatal(err)
		}
		b.Run(be.Name+"/current-revision", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.CurrentRevision(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(be.Name+"/revision-1-exists", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := s.LocalObjectExists(ctx, "revision", "1"); err != nil || !ok {
					b.Fatalf("exists = %v, %v", ok, err)
				}
			}
		})
	}
}
