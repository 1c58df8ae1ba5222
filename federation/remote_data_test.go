package federation_test

import (
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestCollectionsListRemoteAddresses fills the replies and followers collections with what other servers sent,
// including an address that does not parse, and checks the pages list the good ones and still answer.
func TestCollectionsListRemoteAddresses(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		s := startReadSite(t, store)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := store.DB().Exec(store.DB().Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
		}
		for i, r := range []struct{ activity, note, vis string }{
			{"https://a.example/c/1", "https://a.example/notes/1", "public"},
			{"https://b.example/c/2", "https://b.example/%zz", "public"},
			{"https://c.example/c/3", "https://c.example/notes/3", "unlisted"},
			{"https://d.example/c/4", "https://d.example/notes/4", "followers"},
		} {
			exec(`INSERT INTO interactions (activity_iri, kind, actor_iri, object_iri, note_iri, visibility, created_at) VALUES (?, 'reply', 'https://x.example/u', ?, ?, ?, ?)`,
				r.activity, s.urls.Impulse("lesson-2"), r.note, r.vis, int64(i))
		}
		exec(`INSERT INTO interactions (activity_iri, kind, actor_iri, object_iri, created_at) VALUES ('https://a.example/like/1', 'like', 'https://a.example/u', ?, 5)`, s.urls.Impulse("lesson-2"))
		exec(`INSERT INTO interactions (activity_iri, kind, actor_iri, object_iri, created_at) VALUES ('https://a.example/boost/1', 'announce', 'https://a.example/u', ?, 6)`, s.urls.Impulse("lesson-2"))
		exec(`INSERT INTO followers (actor_iri, follow_iri, inbox, domain, created_at) VALUES ('https://a.example/users/%zz', 'f1', 'https://a.example/inbox', 'a.example', 1)`)
		exec(`INSERT INTO followers (actor_iri, follow_iri, inbox, domain, created_at) VALUES ('https://a.example/users/ann', 'f2', 'https://a.example/inbox', 'a.example', 2)`)

		note := s.getAS(s.urls.Impulse("lesson-2"))
		if rsNum(note, "replies", "totalItems") != 3 || rsNum(note, "likes", "totalItems") != 1 || rsNum(note, "shares", "totalItems") != 1 {
			t.Fatalf("replies/likes/shares = %v / %v / %v", note["replies"], note["likes"], note["shares"])
		}
		page := s.getAS(s.urls.Impulse("lesson-2") + "/replies?page=1")
		items := rsList(page, "orderedItems")
		if len(items) != 2 || items[0] != "https://a.example/notes/1" || items[1] != "https://c.example/notes/3" {
			t.Fatalf("replies page = %v", items)
		}
		if likes := s.getAS(s.urls.Impulse("lesson-2") + "/likes"); rsNum(likes, "totalItems") != 1 {
			t.Fatalf("likes = %v", likes)
		}
		fpage := s.getAS(s.urls.Followers() + "?page=1")
		if fi := rsList(fpage, "orderedItems"); len(fi) != 1 || fi[0] != "https://a.example/users/ann" || rsNum(fpage, "totalItems") != 2 {
			t.Fatalf("followers page = %v", fpage)
		}
		if actor := s.getAS(s.urls.Followers()); rsNum(actor, "totalItems") != 2 {
			t.Fatalf("followers = %v", actor)
		}
	})
}
