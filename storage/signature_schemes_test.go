package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func TestSignatureSchemes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		now := time.UnixMilli(1_800_000_000_000)
		if got, err := s.SignatureScheme(ctx, "a.example", now); err != nil || got != "" {
			t.Fatalf("unknown host: %q, %v", got, err)
		}
		if err := s.RememberSignatureScheme(ctx, "a.example", "rfc9421", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RememberSignatureScheme(ctx, "b.example", "rfc9421", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SignatureScheme(ctx, "a.example", now); err != nil || got != "rfc9421" {
			t.Fatalf("remembered: %q, %v", got, err)
		}
		if got, err := s.SignatureScheme(ctx, "a.example", now.Add(time.Hour)); err != nil || got != "" {
			t.Fatalf("expired: %q, %v", got, err)
		}
		if n, err := s.PruneSignatureSchemes(ctx, now.Add(2*time.Minute)); err != nil || n != 1 {
			t.Fatalf("pruned %d, %v; want b.example only", n, err)
		}
		if err := s.ForgetSignatureScheme(ctx, "a.example"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SignatureScheme(ctx, "a.example", now); err != nil || got != "" {
			t.Fatalf("forgotten: %q, %v", got, err)
		}
	})
}
