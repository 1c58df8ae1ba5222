package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// recount counts the signatures by state from the rows themselves, the way the kept counts must agree with.
func recount(t *testing.T, s *storage.Store) storage.SignatureCounts {
	t.Helper()
	var c storage.SignatureCounts
	err := s.DB().Get(&c, `SELECT
		(SELECT COUNT(*) FROM signatures WHERE withdrawn_at IS NULL AND status <> 'hidden' AND visibility IN ('public', 'unlisted')) AS public,
		(SELECT COUNT(*) FROM signatures WHERE withdrawn_at IS NULL AND status <> 'hidden' AND visibility NOT IN ('public', 'unlisted')) AS private,
		(SELECT COUNT(*) FROM signatures WHERE withdrawn_at IS NOT NULL) AS withdrawn,
		(SELECT COUNT(*) FROM signatures WHERE withdrawn_at IS NULL AND status = 'hidden') AS hidden`)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The counts the triggers keep match a recount after any sequence of signing, withdrawing, signing again, hiding,
// showing and erasing, and every reader of counts sees them.
func TestSignatureCountsKeptByTriggers(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(7, 11))
		vis := []string{"public", "unlisted", "followers", "direct"}
		ids := map[int]int64{}
		for step := 0; step < 300; step++ {
			n := rng.IntN(40)
			g := newSig(n, fmt.Sprintf("Name %d", n), "counts.example", vis[n%4])
			switch rng.IntN(5) {
			case 0, 1:
				got, err := s.AddSignature(ctx, g)
				if err == nil {
					ids[n] = got.ID
				}
			case 2:
				s.WithdrawSignature(ctx, g.ActorIRI, g.NoteIRI)
			case 3:
				if id, ok := ids[n]; ok {
					if err := s.SetSignatureHidden(ctx, id, rng.IntN(2) == 0); err != nil {
						t.Fatal(err)
					}
				}
			case 4:
				if rng.IntN(4) == 0 {
					if _, err := s.EraseSignature(ctx, g.ActorIRI); err != nil {
						t.Fatal(err)
					}
					delete(ids, n)
				}
			}
			if step%50 == 49 {
				got, err := s.CountSignatures(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if want := recount(t, s); got != want {
					t.Fatalf("step %d: kept counts %+v, recount %+v", step, got, want)
				}
			}
		}
		want := recount(t, s)
		if want.Public == 0 || want.Private == 0 {
			t.Fatalf("the sequence left too little to check: %+v", want)
		}
		tally, err := s.CountSignatures(ctx)
		if err != nil || tally.Public != want.Public || tally.Private != want.Private {
			t.Errorf("tally %+v, %v; want %d listed, %d private", tally, err, want.Public, want.Private)
		}
		total, err := signatureTotal(ctx, s)
		if err != nil || total != want.Public+want.Private {
			t.Errorf("total %d, %v; want %d", total, err, want.Public+want.Private)
		}
		listed, err := s.CountListedSignatures(ctx, "")
		if err != nil || listed != want.Public {
			t.Errorf("listed %d, %v; want %d", listed, err, want.Public)
		}
		per, err := s.SignaturesPerInstance(ctx, 10)
		if err != nil || len(per) != 1 || per[0].Domain != "counts.example" || per[0].Count != want.Public {
			t.Errorf("per instance %+v, %v; want counts.example with %d", per, err, want.Public)
		}
		// A signer whose instance changes name moves its count with it.
		if _, err := s.DB().Exec(s.DB().Rebind(`UPDATE signatures SET domain = 'moved.example' WHERE id = (SELECT MIN(id) FROM signatures WHERE withdrawn_at IS NULL AND status <> 'hidden' AND visibility = 'public')`)); err != nil {
			t.Fatal(err)
		}
		per, err = s.SignaturesPerInstance(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(per) != 2 || per[0].Count != want.Public-1 || per[1].Domain != "moved.example" || per[1].Count != 1 {
			t.Errorf("after a domain change: %+v", per)
		}
		// A change of a column the counts do not depend on leaves them as they are.
		if _, err := s.DB().Exec(`UPDATE signatures SET content = 'edited'`); err != nil {
			t.Fatal(err)
		}
		if got, err := s.CountSignatures(ctx); err != nil || got != want {
			t.Errorf("after an unrelated update: %+v, want %+v (err %v)", got, want, err)
		}
	})
}
