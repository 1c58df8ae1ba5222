package main

import (
	"context"
	"fmt"
	"time"

	"github.com/memo-fediverse/memo/storage"
)

// seedSignatures stores signatures from..to-1 straight into the server's database (storage.LoadSignatures). Going
// through the inbox would measure the inbox again (and take hours for a million);
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
	memo := "https://seed.invalid/memo"
	signed := time.Now().Add(-24 * time.Hour)
	err = s.LoadSignatures(ctx, to-from, func(k int) storage.Signature {
		i := from + k
		domain := fmt.Sprintf("seed%d.invalid", i%1000)
		vis := "public"
		if i%10 == 7 {
			vis = "unlisted"
		}
		return storage.Signature{
			ActorIRI: fmt.Sprintf("https://%s/users/s%d", domain, i), ActorType: "Person",
			Handle: fmt.Sprintf("@s%d@%s", i, domain), DisplayName: fmt.Sprintf("Signataire %d", i), Domain: domain,
			ProfileURL: fmt.Sprintf("https://%s/@s%d", domain, i), NoteIRI: fmt.Sprintf("https://%s/notes/%d", domain, i),
			InReplyTo: memo, Content: "Je signe.", Revision: 1, Visibility: vis, SignedAt: signed.Add(time.Duration(i) * time.Millisecond),
		}
	})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
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
	return s.SignatureRows(ctx)
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
