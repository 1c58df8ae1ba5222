package storage_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// insertRows runs a raw statement for rows this package has no write API for yet (followers, interactions, signatures).
func insertRows(t *testing.T, s *storage.Store, q string, args ...any) {
	t.Helper()
	if _, err := s.DB().Exec(s.DB().Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestInteractionCountsAndReplies(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		memo := "https://memo.example/memo"
		c, err := s.InteractionCounts(ctx, memo)
		if err != nil || c != (storage.InteractionCounts{}) {
			t.Fatalf("empty counts = %+v, %v", c, err)
		}
		for i, row := range []struct{ iri, kind, object, note, vis string }{
			{"https://a.example/like/1", "like", memo, "", "public"},
			{"https://b.example/like/2", "like", memo, "", "public"},
			{"https://a.example/boost/1", "announce", memo, "", "public"},
			{"https://a.example/create/1", "reply", memo, "https://a.example/notes/1", "public"},
			{"https://b.example/create/2", "reply", memo, "https://b.example/notes/2", "unlisted"},
			{"https://c.example/create/3", "reply", memo, "https://c.example/notes/3", "direct"},
			{"https://a.example/like/9", "like", "https://memo.example/impulses/lesson-1", "", "public"},
		} {
			insertRows(t, s, `INSERT INTO interactions (activity_iri, kind, actor_iri, object_iri, note_iri, visibility, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				row.iri, row.kind, "https://x.example/users/x", row.object, row.note, row.vis, int64(1000+i))
		}
		c, err = s.InteractionCounts(ctx, memo)
		if err != nil || c != (storage.InteractionCounts{Replies: 2, Likes: 2, Shares: 1}) {
			t.Fatalf("counts = %+v, %v", c, err)
		}
		replies, err := s.ReplyIRIs(ctx, memo, 0, 10)
		if err != nil || !reflect.DeepEqual(replies, []string{"https://a.example/notes/1", "https://b.example/notes/2"}) {
			t.Fatalf("replies = %v, %v", replies, err)
		}
		replies, err = s.ReplyIRIs(ctx, memo, 1, 10)
		if err != nil || !reflect.DeepEqual(replies, []string{"https://b.example/notes/2"}) {
			t.Fatalf("replies from offset 1 = %v, %v", replies, err)
		}
	})
}

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

func TestSignatureTotal(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		for i, st := range []struct {
			status    string
			withdrawn any
		}{{"accepted", nil}, {"accepted", int64(5)}, {"hidden", nil}, {"accepted", nil}} {
			insertRows(t, s, `INSERT INTO signatures (actor_iri, actor_type, handle, display_name, domain, note_iri, in_reply_to, content, revision, visibility, status, signed_at, withdrawn_at)
				VALUES (?, 'Person', 'h', 'n', 'd.example', ?, 'x', 'je signe', 1, 'public', ?, 1, ?)`,
				"https://d.example/u/"+string(rune('a'+i)), "https://d.example/n/"+string(rune('a'+i)), st.status, st.withdrawn)
		}
		n, err := signatureTotal(ctx, s)
		if err != nil || n != 2 {
			t.Fatalf("total = %d, %v; want 2 (withdrawn and hidden left out)", n, err)
		}
	})
}

func TestOutboxPageAfterAndObjectCount(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, iri := range []string{"a1", "a2", "a3", "a4"} {
			if err := s.InsertActivity(ctx, storage.Activity{IRI: "https://memo.example/activities/" + iri, Type: "Create", Body: "{}", InOutbox: true, PublishedAt: when}, nil); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.OutboxPage(ctx, 0, 10)
		if err != nil || len(all) != 4 {
			t.Fatalf("outbox = %v, %v", all, err)
		}
		oldest := all[3].ID
		newer, err := s.OutboxPageAfter(ctx, oldest, 2)
		if err != nil || len(newer) != 2 {
			t.Fatalf("after = %+v, %v", newer, err)
		}
		// The two activities just newer than the oldest, listed newest first like every outbox page.
		if newer[0].IRI != "https://memo.example/activities/a3" || newer[1].IRI != "https://memo.example/activities/a2" || !newer[0].PublishedAt.Equal(when) {
			t.Fatalf("after = %s, %s", newer[0].IRI, newer[1].IRI)
		}

		n, err := s.PublishedObjectCount(ctx)
		if err != nil || n != 0 {
			t.Fatalf("empty object count = %d, %v", n, err)
		}
		if err := s.SeedRevision(ctx, storage.Revision{Title: "T", Summary: "S", Markdown: "# T", HTML: "<h1>T</h1>", PublishedAt: when}); err != nil {
			t.Fatal(err)
		}
		for _, slug := range []string{"lesson-1", "lesson-2"} {
			if err := s.PutImpulse(ctx, storage.Impulse{Slug: slug, Kind: "lesson", Position: 1, Markdown: "m", HTML: "h", PublishedAt: when, UpdatedAt: when}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RetractImpulse(ctx, "lesson-2"); err != nil {
			t.Fatal(err)
		}
		for _, n := range []storage.Note{{Slug: "pub", Kind: storage.NoteHowToSign, Public: true}, {Slug: "dm", Kind: storage.NoteAcknowledgement, Public: false}} {
			if _, err := s.InsertNote(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		n, err = s.PublishedObjectCount(ctx)
		if err != nil || n != 3 {
			t.Fatalf("object count = %d, %v; want memo + 1 impulse + 1 public note", n, err)
		}
	})
}
