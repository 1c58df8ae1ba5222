package federation_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func readPeer(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "peers", name))
	if err != nil {
		t.Fatal(err)
	}
	return rsDecode(t, name, b)
}

// TestActorAsMastodonReadsIt checks the actor against what Mastodon requires of a remote account (its
// fetch_remote_actor_service and process_account_service) and against the fields Mastodon and GoToSocial publish
// on their own actors.
func TestActorAsMastodonReadsIt(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		s := startReadSite(t, store)
		actor := s.getAS(s.urls.Actor())

		ctx, _ := actor["@context"].([]any)
		if len(ctx) == 0 || ctx[0] != "https://www.w3.org/ns/activitystreams" {
			t.Errorf("@context must start with the ActivityStreams context: %v", actor["@context"])
		}
		switch rsStr(actor, "type") {
		case "Application", "Group", "Organization", "Person", "Service":
		default:
			t.Errorf("type %q is not an actor type Mastodon accepts", rsStr(actor, "type"))
		}
		if rsStr(actor, "type") != "Service" {
			t.Errorf("type %q: a Service is shown as a bot", rsStr(actor, "type"))
		}
		if rsStr(actor, "id") != s.urls.Actor() || rsStr(actor, "preferredUsername") != "memo" || rsStr(actor, "inbox") == "" {
			t.Errorf("id/preferredUsername/inbox = %q %q %q", rsStr(actor, "id"), rsStr(actor, "preferredUsername"), rsStr(actor, "inbox"))
		}
		id, _ := url.Parse(rsStr(actor, "id"))
		for _, field := range []string{"url", "inbox", "outbox", "followers", "following", "featured"} {
			u, err := url.Parse(rsStr(actor, field))
			if err != nil || u.Host != id.Host {
				t.Errorf("%s %q is not on the actor's host (Mastodon ignores it then)", field, rsStr(actor, field))
			}
		}
		if rsStr(actor, "endpoints", "sharedInbox") != s.urls.SharedInbox() {
			t.Errorf("endpoints.sharedInbox = %q", rsStr(actor, "endpoints", "sharedInbox"))
		}
		if rsField(actor, "discoverable") != true || rsField(actor, "indexable") != true || rsField(actor, "manuallyApprovesFollowers") != false {
			t.Errorf("discoverable/indexable/manuallyApprovesFollowers = %v %v %v", actor["discoverable"], actor["indexable"], actor["manuallyApprovesFollowers"])
		}
		if rsStr(actor, "icon", "url") != s.urls.Icon() || rsStr(actor, "icon", "type") != "Image" {
			t.Errorf("icon = %v", actor["icon"])
		}
		for _, f := range rsList(actor, "attachment") {
			pv, _ := f.(map[string]any)
			if pv["type"] != "PropertyValue" || rsStr(pv, "name") == "" || !strings.HasPrefix(rsStr(pv, "value"), "<a href=") {
				t.Errorf("profile field %v", f)
			}
		}
		if len(rsList(actor, "attachment")) < 3 {
			t.Errorf("attachment = %v, want site, licence and original text", actor["attachment"])
		}
		if d := rsList(actor, "attributionDomains"); len(d) != 1 || d[0] != s.urls.Host() {
			t.Errorf("attributionDomains = %v", actor["attributionDomains"])
		}
		if aka, ok := actor["alsoKnownAs"].([]any); !ok || len(aka) != 0 {
			t.Errorf("alsoKnownAs = %#v, want []", actor["alsoKnownAs"])
		}
		if st := rsList(actor, "streams"); len(st) != 2 || st[0] != s.urls.Impulses() || st[1] != s.urls.Signatures() {
			t.Errorf("streams = %v", actor["streams"])
		}
		summary := rsStr(actor, "summary")
		if !rsContainsAll(summary, "je signe", "CC BY 4.0", "covid19-open.frama.io/memo") {
			t.Errorf("summary lacks how to sign, the licence or the attribution: %s", summary)
		}

		// Every top-level field Mastodon and GoToSocial put on their own actors, we have too.
		for _, peer := range []string{"mastodon-actor-person.json", "gotosocial-actor-application-bot.json"} {
			for key := range readPeer(t, peer) {
				switch key {
				case "featuredTags", "devices", "image", "hidesCcPublicFromUnauthedWeb", "hidesToPublicFromUnauthedWeb":
					continue // optional features we do not offer
				}
				if _, ok := actor[key]; !ok {
					t.Errorf("%s has %q, our actor has not", peer, key)
				}
			}
		}

		// Collections Mastodon reads for counts: totalItems and a first page, or it treats them as hidden.
		for _, c := range []string{s.urls.Followers(), s.urls.Following(), s.urls.Outbox()} {
			doc := s.getAS(c)
			if rsStr(doc, "type") != "OrderedCollection" || rsStr(doc, "first") == "" {
				t.Errorf("%s: type %q first %q", c, rsStr(doc, "type"), rsStr(doc, "first"))
			}
			if _, ok := doc["totalItems"].(float64); !ok {
				t.Errorf("%s: no totalItems", c)
			}
		}

		// WebFinger round trip from the actor: acct:preferredUsername@host leads back to it.
		wf := rsDecode(t, "webfinger", s.get(s.URL+"/.well-known/webfinger?resource="+url.QueryEscape("acct:"+rsStr(actor, "preferredUsername")+"@"+id.Host), "").Body)
		found := false
		for _, l := range rsList(wf, "links") {
			m, _ := l.(map[string]any)
			if m["rel"] == "self" && m["href"] == rsStr(actor, "id") {
				found = true
			}
			if m["rel"] == "http://ostatus.org/schema/1.0/subscribe" && !strings.Contains(rsStr(m, "template"), "{uri}") {
				t.Errorf("subscribe template %q has no {uri}", m["template"])
			}
		}
		if !found {
			t.Errorf("WebFinger does not lead back to the actor: %v", wf)
		}
	})
}

// TestFeaturedAndObjectsShapes checks the featured collection (shaped like GoToSocial's, with the objects
// embedded), the Article as Mastodon converts it, and the impulse Notes.
func TestFeaturedAndObjectsShapes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		s := startReadSite(t, store)
		featured := s.getAS(s.urls.Featured())
		peer := readPeer(t, "gotosocial-featured-collection.json")
		for _, key := range []string{"id", "type", "totalItems", "orderedItems"} {
			if _, ok := peer[key]; !ok {
				t.Fatalf("peer featured has no %q", key)
			}
			if _, ok := featured[key]; !ok {
				t.Errorf("featured has no %q", key)
			}
		}
		items := rsList(featured, "orderedItems")
		if rsStr(featured, "type") != "OrderedCollection" || rsNum(featured, "totalItems") != 2 || len(items) != 2 {
			t.Fatalf("featured = %v", featured)
		}
		memo, _ := items[0].(map[string]any)
		howto, _ := items[1].(map[string]any)
		if rsStr(memo, "id") != s.urls.Memo() || rsStr(memo, "type") != "Article" || rsStr(howto, "id") != s.urls.Note("how-to-sign") || rsStr(howto, "type") != "Note" {
			t.Fatalf("featured items = %s, %s", rsStr(memo, "id"), rsStr(howto, "id"))
		}
		if memo["@context"] != nil || howto["@context"] != nil {
			t.Error("embedded objects carry their own @context")
		}
		if !rsContainsAll(rsStr(howto, "content"), "je signe", "I sign") || rsStr(howto, "contentMap", "fr") == "" {
			t.Errorf("how-to-sign note: %v", howto)
		}

		article := s.getAS(s.urls.Memo())
		// Mastodon turns an Article into name + summary + a link to url: all three must stand on their own.
		if rsStr(article, "name") == "" || !strings.Contains(rsStr(article, "summary"), "je signe") || rsStr(article, "url") != s.urls.Memo() {
			t.Errorf("name/summary/url = %q / %q / %q", rsStr(article, "name"), rsStr(article, "summary"), rsStr(article, "url"))
		}
		if !rsContainsAll(rsStr(article, "content"), "<h2", "CC BY 4.0", "covid19-open.frama.io/memo") || rsStr(article, "contentMap", "fr") != rsStr(article, "content") {
			t.Error("content lacks the text, the licence or the attribution, or contentMap differs")
		}
		if rsStr(article, "preview", "type") != "Note" || rsStr(article, "preview", "content") == "" {
			t.Errorf("preview = %v", article["preview"])
		}
		// Revision 1 is no edit: no `updated` (GoToSocial would show the memo as edited on its first day).
		if _, has := article["updated"]; rsStr(article, "published") != "2020-05-03T12:00:00Z" || has {
			t.Errorf("published/updated = %s / %v", rsStr(article, "published"), article["updated"])
		}
		if to := rsList(article, "to"); len(to) != 1 || to[0] != "https://www.w3.org/ns/activitystreams#Public" {
			t.Errorf("to = %v", article["to"])
		}
		if cc := rsList(article, "cc"); len(cc) != 1 || cc[0] != s.urls.Followers() {
			t.Errorf("cc = %v", article["cc"])
		}
		if len(rsList(article, "tag")) != 3 || rsStr(rsList(article, "tag")[0].(map[string]any), "type") != "Hashtag" {
			t.Errorf("tag = %v", article["tag"])
		}
		for _, c := range []string{"replies", "likes", "shares", "signatures"} {
			if _, ok := rsField(article, c, "totalItems").(float64); !ok || rsStr(article, c, "id") == "" {
				t.Errorf("%s = %v, want an id and totalItems", c, article[c])
			}
		}

		for _, slug := range []string{"lesson-1", "lesson-6", "measure-1", "measure-7"} {
			note := s.getAS(s.urls.Impulse(slug))
			if rsStr(note, "type") != "Note" || rsStr(note, "context") != s.urls.Memo() || note["inReplyTo"] != nil || note["summary"] != nil {
				t.Errorf("%s: type %q context %q inReplyTo %v summary %v", slug, rsStr(note, "type"), rsStr(note, "context"), note["inReplyTo"], note["summary"])
			}
			if rsStr(note, "name") == "" || !strings.Contains(rsStr(note, "content"), rsStr(note, "name")) {
				t.Errorf("%s: the label %q is not at the head of the content", slug, rsStr(note, "name"))
			}
		}
		impulses := s.getAS(s.urls.Impulses())
		if rsNum(impulses, "totalItems") != 13 || len(rsList(impulses, "orderedItems")) != 13 || rsList(impulses, "orderedItems")[0] != s.urls.Impulse("lesson-1") {
			t.Errorf("impulses = %v", impulses)
		}
	})
}
