package storage_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func TestFollowersCollectionAndRecipients(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		n, err := s.FollowersCount(ctx)
		if err != nil || n != 0 {
			t.Fatalf("empty count = %d, %v", n, err)
		}
		for i, f := range []struct{ actor, inbox, shared, domain string }{
			{"https://a.example/users/ann", "https://a.example/users/ann/inbox", "https://a.example/inbox", "a.example"},
			{"https://a.example/users/bob", "https://a.example/users/bob/inbox", "https://a.example/inbox", "a.example"},
			{"https://g.example/users/gus", "https://g.example/users/gus/inbox", "", "g.example"},
		} {
			insertRows(t, s, `INSERT INTO followers (actor_iri, follow_iri, inbox, shared_inbox, domain, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
				f.actor, f.actor+"#follow", f.inbox, f.shared, f.domain, int64(100+i))
		}
		n, err = s.FollowersCount(ctx)
		if err != nil || n != 3 {
			t.Fatalf("count = %d, %v", n, err)
		}
		page, err := s.FollowersCollectionPage(ctx, 1, 1)
		if err != nil || !reflect.DeepEqual(page, []string{"https://a.example/users/bob"}) {
			t.Fatalf("page = %v, %v", page, err)
		}
		var got []storage.Recipient
		err = s.InTx(ctx, func(tx *storage.Tx) error {
			var err error
			got, err = tx.FollowerRecipients(ctx)
			return err
		})
		want := []storage.Recipient{
			{Inbox: "https://a.example/inbox", Domain: "a.example"},
			{Inbox: "https://a.example/inbox", Domain: "a.example"},
			{Inbox: "https://g.example/users/gus/inbox", Domain: "g.example"},
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("recipients = %+v, %v", got, err)
		}
	})
}
