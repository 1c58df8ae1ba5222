package storage_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestInboxInsertsShareCommits: many concurrent inserts, half of them caching an actor, some repeating an id
// already sent: every new activity is stored once and reported new, every repeat reported known, every actor
// cached. One row the database refuses (a trigger raising on SQLite, where it shares a batch with others; a NUL
// byte on PostgreSQL) fails alone: the rest are stored.
func TestInboxInsertsShareCommits(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		const n = 200
		act := func(i int) storage.InboxActivity {
			return storage.InboxActivity{IRI: fmt.Sprintf("https://remote.example/activities/%d", i), Type: "Like",
				ActorIRI: fmt.Sprintf("https://remote.example/users/u%d", i), Body: `{"type":"Like"}`}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		news, errs := 0, []error{}
		const bad = 77
		badBody := "{\x00}"
		if s.Dialect() == storage.SQLite {
			badBody = "refuse me"
			if _, err := s.DB().ExecContext(ctx, `CREATE TRIGGER refuse_one BEFORE INSERT ON inbox_activities
				WHEN NEW.body = 'refuse me' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < n+40; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				a := act(i % n) // the last 40 repeat ids 0-39
				if i == bad {
					a.Body = badBody
				}
				var actor *storage.RemoteActor
				if i%2 == 0 && i < n {
					actor = &storage.RemoteActor{IRI: a.ActorIRI, Type: "Person", Domain: "remote.example",
						KeyID: a.ActorIRI + "#main-key", PublicKeyPEM: "pem"}
				}
				isNew, err := s.InsertInboxActivityWithActor(ctx, a, actor)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("%d: %w", i, err))
					return
				}
				if isNew {
					news++
				}
			}(i)
		}
		wg.Wait()
		wantNew, wantErrs := n-1, 1
		if news != wantNew || len(errs) != wantErrs {
			t.Errorf("%d new and errors %v; want %d new and %d errors", news, errs, wantNew, wantErrs)
		}
		rows, err := s.CountInboxActivities(ctx)
		if err != nil || rows != wantNew {
			t.Errorf("stored %d (%v), want %d", rows, err, wantNew)
		}
		actors, err := storagetest.CountActors(ctx, s)
		if err != nil || actors != n/2 {
			t.Errorf("cached actors %d (%v), want %d", actors, err, n/2)
		}
	})
}
