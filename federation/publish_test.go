package federation_test

import (
	"context"
	"fmt"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/outbox"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func outboxCount(t *testing.T, store *storage.Store) int {
	t.Helper()
	n, err := store.OutboxCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEnsurePublishedIsIdempotent(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		s := startReadSite(t, store)
		ctx := context.Background()
		// 1 memo + 13 impulses + the how-to-sign note.
		if n := outboxCount(t, store); n != 15 {
			t.Fatalf("outbox after seeding: %d activities, want 15", n)
		}
		store.SetClock(func() time.Time { return rsClock.Add(time.Hour) })
		for i := 0; i < 2; i++ {
			if err := outbox.EnsurePublished(ctx, store, s.urls); err != nil {
				t.Fatal(err)
			}
		}
		if n := outboxCount(t, store); n != 15 {
			t.Fatalf("outbox after EnsurePublished twice more: %d activities, want 15", n)
		}
		note, err := store.NoteBySlug(ctx, content.HowToSignSlug)
		if err != nil || !note.PublishedAt.Equal(rsClock) {
			t.Fatalf("how-to-sign note = %+v, %v; want it seeded once, at first start", note, err)
		}
		create := s.getAS(s.urls.Base + "/activities/create-memo")
		if rsStr(create, "type") != "Create" || rsStr(create, "actor") != s.urls.Actor() || rsStr(create, "object", "id") != s.urls.Memo() ||
			rsStr(create, "object", "type") != "Article" || rsStr(create, "published") != "2020-05-03T12:00:00Z" {
			t.Fatalf("create-memo = %v", create)
		}
		var deliveries int
		if err := store.DB().Get(&deliveries, `SELECT COUNT(*) FROM deliveries`); err != nil || deliveries != 0 {
			t.Fatalf("seeding queued %d deliveries (%v); seeded objects predate any follower", deliveries, err)
		}
	})
}

func TestPublishRevision(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		s := startReadSite(t, store)
		ctx := context.Background()
		before := s.getAS(s.urls.Memo())

		// Two followers on one instance share an inbox; a third has only its own.
		for i, f := range []struct{ actor, inbox, shared, domain string }{
			{"https://a.example/users/ann", "https://a.example/users/ann/inbox", "https://a.example/inbox", "a.example"},
			{"https://a.example/users/bob", "https://a.example/users/bob/inbox", "https://a.example/inbox", "a.example"},
			{"https://g.example/users/gus", "https://g.example/users/gus/inbox", "", "g.example"},
		} {
			if _, err := store.DB().Exec(store.DB().Rebind(`INSERT INTO followers (actor_iri, follow_iri, inbox, shared_inbox, domain, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
				f.actor, f.actor+"#follow", f.inbox, f.shared, f.domain, int64(i)); err != nil {
				t.Fatal(err)
			}
		}

		published := rsClock.Add(24 * time.Hour)
		store.SetClock(func() time.Time { return published })
		md := strings.Replace(content.MemoMarkdown(), "# Pour du libre et de l’open en conscience", "# Pour du libre et de l’open en conscience (2026)", 1) +
			"\n\n## Postface de 2026\n\nUn paragraphe ajouté pour la révision 2.\n"
		doc, err := content.Parse([]byte(md))
		if err != nil {
			t.Fatal(err)
		}
		n, err := outbox.PublishRevision(ctx, store, s.urls, doc, "Ajout d’une postface <b>courte</b>.")
		if err != nil || n != 2 {
			t.Fatalf("PublishRevision = %d, %v", n, err)
		}

		// The living memo is revision 2 at once.
		memo := s.getAS(s.urls.Memo())
		if rsStr(memo, "name") != "Pour du libre et de l’open en conscience (2026)" || !strings.Contains(rsStr(memo, "content"), "Un paragraphe ajouté pour la révision 2.") ||
			!strings.Contains(rsStr(memo, "content"), "Révision 2 du 29 novembre 2026") {
			t.Fatalf("memo after publishing: name %q", rsStr(memo, "name"))
		}
		if rsStr(memo, "published") != "2020-05-03T12:00:00Z" || rsStr(memo, "updated") != "2026-11-29T12:00:00Z" {
			t.Fatalf("published/updated = %s / %s", rsStr(memo, "published"), rsStr(memo, "updated"))
		}
		// Revision 1 stays where it was, whole.
		rev1 := s.getAS(s.urls.Revision(1))
		if rsStr(rev1, "name") != rsStr(before, "name") || strings.Contains(rsStr(rev1, "content"), "postface") || rsStr(rev1, "context") != s.urls.Memo() {
			t.Fatalf("revision 1 changed: %q", rsStr(rev1, "name"))
		}
		rev2 := s.getAS(s.urls.Revision(2))
		if !strings.Contains(rsStr(rev2, "content"), "Un paragraphe ajouté") || rsStr(rev2, "published") != "2026-11-29T12:00:00Z" {
			t.Fatalf("revision 2 = %q %s", rsStr(rev2, "name"), rsStr(rev2, "published"))
		}
		revs := s.getAS(s.urls.Revisions())
		if items := rsList(revs, "orderedItems"); rsNum(revs, "totalItems") != 2 || len(items) != 2 || items[0] != s.urls.Revision(2) || items[1] != s.urls.Revision(1) {
			t.Fatalf("revisions = %v", revs)
		}

		// The outbox starts with the announcement, then the Update carrying the whole new Article.
		page := s.getAS(s.urls.Outbox() + "?page=true")
		items := rsList(page, "orderedItems")
		if rsNum(page, "totalItems") != 17 || len(items) != 17 {
			t.Fatalf("outbox: totalItems %d, %d items", rsNum(page, "totalItems"), len(items))
		}
		create, _ := items[0].(map[string]any)
		update, _ := items[1].(map[string]any)
		if rsStr(create, "type") != "Create" || rsStr(create, "object", "type") != "Note" || rsStr(create, "object", "id") != s.urls.Note("revision-2") {
			t.Fatalf("first outbox item = %v", create)
		}
		if !strings.Contains(rsStr(create, "object", "content"), "Ajout d’une postface &lt;b&gt;courte&lt;/b&gt;.") {
			t.Errorf("the changelog is not in the announcement, escaped: %s", rsStr(create, "object", "content"))
		}
		if rsStr(update, "type") != "Update" || rsStr(update, "id") != s.urls.Base+"/activities/update-memo-2" || rsStr(update, "object", "id") != s.urls.Memo() ||
			rsStr(update, "object", "updated") != "2026-11-29T12:00:00Z" || !strings.Contains(rsStr(update, "object", "content"), "Un paragraphe ajouté") {
			t.Fatalf("second outbox item = %s %s", rsStr(update, "type"), rsStr(update, "id"))
		}
		// Each is served at its own address, as stored.
		for _, a := range []map[string]any{create, update} {
			got := s.getAS(rsStr(a, "id"))
			if rsStr(got, "id") != rsStr(a, "id") || got["@context"] == nil || rsStr(got, "object", "id") != rsStr(a, "object", "id") {
				t.Errorf("GET %s = %v", rsStr(a, "id"), got["id"])
			}
		}
		note := s.getAS(s.urls.Note("revision-2"))
		if rsStr(note, "type") != "Note" || !strings.Contains(rsStr(note, "content"), html.EscapeString(s.urls.Diff(1, 2))) {
			t.Errorf("announcement note = %v", note)
		}

		// One delivery per inbox, the shared one standing for both followers on a.example.
		rows := []struct {
			Activity string `db:"activity_iri"`
			Inbox    string `db:"inbox"`
		}{}
		if err := store.DB().Select(&rows, `SELECT activity_iri, inbox FROM deliveries ORDER BY activity_iri, inbox`); err != nil {
			t.Fatal(err)
		}
		want := []string{
			s.urls.Base + "/activities/create-note-revision-2 https://a.example/inbox",
			s.urls.Base + "/activities/create-note-revision-2 https://g.example/users/gus/inbox",
			s.urls.Base + "/activities/update-memo-2 https://a.example/inbox",
			s.urls.Base + "/activities/update-memo-2 https://g.example/users/gus/inbox",
		}
		var got []string
		for _, r := range rows {
			got = append(got, r.Activity+" "+r.Inbox)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("deliveries =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}

		// Seeding again after a revision adds nothing, and the followers collection counts the followers.
		if err := outbox.EnsurePublished(ctx, store, s.urls); err != nil {
			t.Fatal(err)
		}
		if n := outboxCount(t, store); n != 17 {
			t.Errorf("outbox after EnsurePublished: %d, want 17", n)
		}
		followers := s.getAS(s.urls.Followers())
		if rsNum(followers, "totalItems") != 3 || followers["orderedItems"] != nil {
			t.Errorf("followers = %v (items only on pages)", followers)
		}
		fpage := s.getAS(s.urls.Followers() + "?page=1")
		if fi := rsList(fpage, "orderedItems"); len(fi) != 3 || fi[0] != "https://a.example/users/ann" || rsStr(fpage, "partOf") != s.urls.Followers() || fpage["next"] != nil {
			t.Errorf("followers page = %v", fpage)
		}
	})
}

func TestPublishRevisionNeedsRevisionOne(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		urls := content.URLs{Base: "https://memo.example", Username: "memo"}
		doc, err := content.Parse([]byte("# Titre\n\nTexte.\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := outbox.PublishRevision(context.Background(), store, urls, doc, "x"); err == nil {
			t.Fatal("published a revision on an empty database")
		}
		if revs, err := store.Revisions(context.Background()); err != nil || len(revs) != 0 {
			t.Fatalf("revisions = %v, %v; want none stored", revs, err)
		}
	})
}

// TestOutboxPaging walks the outbox from its first page to its last through next, and back through prev.
func TestOutboxPaging(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		s := startReadSite(t, store)
		ctx := context.Background()
		for i := 0; i < 50; i++ {
			body := fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":"%s/activities/extra-%d","type":"Create","actor":"%s","object":"%s"}`,
				s.urls.Base, i, s.urls.Actor(), s.urls.Memo())
			if err := store.InsertActivity(ctx, storage.Activity{IRI: fmt.Sprintf("%s/activities/extra-%d", s.urls.Base, i), Type: "Create", Body: body, InOutbox: true}, nil); err != nil {
				t.Fatal(err)
			}
		}
		total := 65
		var ids []string
		var pages []string
		next := s.urls.Outbox() + "?page=true"
		for next != "" && len(pages) < 10 {
			page := s.getAS(next)
			if rsStr(page, "type") != "OrderedCollectionPage" || rsStr(page, "partOf") != s.urls.Outbox() || rsNum(page, "totalItems") != total || rsStr(page, "id") != next {
				t.Fatalf("page %s = %v", next, page)
			}
			for _, it := range rsList(page, "orderedItems") {
				ids = append(ids, rsStr(it.(map[string]any), "id"))
			}
			pages = append(pages, next)
			next = rsStr(page, "next")
		}
		if len(ids) != total || len(pages) != 2 {
			t.Fatalf("walked %d items over %d pages, want %d over 2", len(ids), len(pages), total)
		}
		if ids[0] != s.urls.Base+"/activities/extra-49" || ids[total-1] != s.urls.Base+"/activities/create-memo" {
			t.Fatalf("order: first %s, last %s", ids[0], ids[total-1])
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("%s listed twice", id)
			}
			seen[id] = true
		}
		// From the last page, prev leads back to a page holding the items just newer.
		last := s.getAS(pages[1])
		prev := rsStr(last, "prev")
		if prev == "" {
			t.Fatal("the second page has no prev")
		}
		back := s.getAS(prev)
		backItems := rsList(back, "orderedItems")
		if len(backItems) != 40 || rsStr(backItems[0].(map[string]any), "id") != ids[0] || rsStr(backItems[39].(map[string]any), "id") != ids[39] || back["prev"] != nil {
			t.Fatalf("prev page has %d items from %v", len(backItems), backItems[0])
		}
		if first := s.getAS(pages[0]); first["prev"] != nil {
			t.Error("the first page has a prev")
		}
	})
}

// TestLargeRevisionsStayUnderOneMegabyte publishes revisions whose HTML is several times their Markdown and checks
// that every document a peer fetches stays under Mastodon's 1 MB limit, the outbox included.
func TestLargeRevisionsStayUnderOneMegabyte(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		s := startReadSite(t, store)
		ctx := context.Background()
		big := func(title string, n int) content.Document {
			doc, err := content.Parse([]byte("# " + title + "\n\n" + strings.Repeat("*a* ", n) + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			return doc
		}
		for i, doc := range []content.Document{big("Deux", 25000), big("Trois", 25000), big("Quatre", 60000)} {
			if _, err := outbox.PublishRevision(ctx, store, s.urls, doc, fmt.Sprintf("révision %d", i+2)); err != nil {
				t.Fatal(err)
			}
		}
		// getAS fails any answer of 1 MB or more.
		memo := s.getAS(s.urls.Memo())
		if !strings.Contains(rsStr(memo, "content"), "Lire le texte intégral") || strings.Contains(rsStr(memo, "content"), strings.Repeat("<em>a</em> ", 1000)) {
			t.Error("an oversized text is carried whole instead of its abstract and a link")
		}
		if rev := s.getAS(s.urls.Revision(2)); !strings.Contains(rsStr(rev, "content"), strings.Repeat("<em>a</em> ", 1000)) {
			t.Error("a text under the limit is not carried whole")
		}
		s.getAS(s.urls.Featured())
		s.getAS(s.urls.Base + "/activities/update-memo-4")

		seen := map[string]bool{}
		pages := 0
		for next := s.urls.Outbox() + "?page=true"; next != "" && pages < 30; pages++ {
			page := s.getAS(next)
			for _, it := range rsList(page, "orderedItems") {
				id := rsStr(it.(map[string]any), "id")
				if seen[id] {
					t.Fatalf("%s listed twice", id)
				}
				seen[id] = true
			}
			next = rsStr(page, "next")
		}
		if len(seen) != 15+6 {
			t.Fatalf("walked %d activities over %d pages, want 21", len(seen), pages)
		}
		if pages < 3 {
			t.Errorf("%d pages: large Updates were not spread over pages", pages)
		}
	})
}
