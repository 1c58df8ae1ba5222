package federation_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// objectURLs are every negotiated address of a freshly seeded publication.
func (s *readSite) objectURLs() []string {
	u := s.urls
	return []string{
		u.Actor(), u.Outbox(), u.Outbox() + "?page=true", u.Followers(), u.Followers() + "?page=1", u.Following(),
		u.Featured(), u.Memo(), u.Memo() + "/replies", u.Memo() + "/replies?page=1", u.Memo() + "/likes", u.Memo() + "/shares",
		u.Revisions(), u.Revision(1), u.Revision(1) + "/replies", u.Revision(1) + "/likes", u.Revision(1) + "/shares",
		u.Impulses(), u.Impulse("lesson-1"), u.Impulse("measure-7"), u.Impulse("lesson-1") + "/replies",
		u.Impulse("lesson-1") + "/likes", u.Impulse("lesson-1") + "/shares",
		u.Note("how-to-sign"), u.Note("how-to-sign") + "/replies", u.Note("how-to-sign") + "/likes",
		u.Note("how-to-sign") + "/shares", u.Signatures(), u.Signatures() + "?page=1",
		u.Base + "/activities/create-memo", u.Base + "/activities/create-impulse-lesson-1",
		u.Base + "/activities/create-note-how-to-sign",
	}
}

func TestContentNegotiation(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		s := startReadSite(t, store)
		for _, u := range s.objectURLs() {
			for _, accept := range []string{rsAcceptAS, rsAcceptLD} {
				res := s.get(u, accept)
				if res.Status != http.StatusOK {
					t.Errorf("GET %s (Accept %s): %d %s", u, accept, res.Status, res.Body)
					continue
				}
				if ct := res.Header.Get("Content-Type"); ct != "application/activity+json; charset=utf-8" {
					t.Errorf("GET %s (Accept %s): Content-Type %q", u, accept, ct)
				}
				if v := res.Header.Values("Vary"); !contains(v, "Accept") {
					t.Errorf("GET %s: Vary %q, want Accept", u, v)
				}
				if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
					t.Errorf("GET %s: Cache-Control %q", u, cc)
				}
				doc := rsDecode(t, u, res.Body)
				if rsStr(doc, "id") != u || doc["@context"] == nil {
					t.Errorf("GET %s: id %q, @context %v", u, rsStr(doc, "id"), doc["@context"] != nil)
				}
			}
			for _, accept := range []string{rsAcceptBrowser, rsAcceptAny, ""} {
				res := s.get(u, accept)
				if res.Status != http.StatusOK || string(res.Body) != "HTML" {
					t.Errorf("GET %s (Accept %q): %d %q, want the pages handler", u, accept, res.Status, res.Body)
				}
				if v := res.Header.Values("Vary"); !contains(v, "Accept") {
					t.Errorf("GET %s (Accept %q): Vary %q, want Accept", u, accept, v)
				}
			}
		}
	})
}

func contains(list []string, want string) bool {
	for _, v := range list {
		for _, part := range strings.Split(v, ",") {
			if strings.TrimSpace(part) == want {
				return true
			}
		}
	}
	return false
}

func TestUnknownAndBadRequests(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		s := startReadSite(t, store)
		u := s.urls
		host := strings.TrimPrefix(s.URL, "http://")
		cases := []struct {
			url    string
			status int
		}{
			{u.Impulse("nope"), 404},
			{u.Impulse("nope") + "/replies", 404},
			{u.Note("nope"), 404},
			{u.Note("nope") + "/likes", 404},
			{u.Revision(99), 404},
			{u.Revision(99) + "/replies", 404},
			{u.Base + "/memo/revisions/abc", 404},
			{u.Base + "/memo/revisions/01", 404},
			{u.Base + "/users/someone", 404},
			{u.Base + "/users/someone/outbox", 404},
			{u.Base + "/activities/nope", 404},
			{u.Outbox() + "?before=abc", 400},
			{u.Outbox() + "?after=-3", 400},
			{u.Followers() + "?page=0", 400},
			{u.Followers() + "?page=x", 400},
			{u.Memo() + "/replies?page=-1", 400},
			{s.URL + "/.well-known/webfinger", 400},
			{s.URL + "/.well-known/webfinger?resource=", 400},
			{s.URL + "/.well-known/webfinger?resource=nobody", 400},
			{s.URL + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:someone@"+host), 404},
			{s.URL + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:memo@elsewhere.example"), 404},
			{s.URL + "/.well-known/webfinger?resource=" + url.QueryEscape("https://elsewhere.example/users/memo"), 404},
		}
		for _, c := range cases {
			res := s.get(c.url, rsAcceptAS)
			if res.Status != c.status {
				t.Errorf("GET %s: %d, want %d (%s)", c.url, res.Status, c.status, res.Body)
				continue
			}
			doc := rsDecode(t, c.url, res.Body)
			if reason := rsStr(doc, "error"); reason == "" {
				t.Errorf("GET %s: no reason in %s", c.url, res.Body)
			}
			if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Errorf("GET %s: error Content-Type %q", c.url, res.Header.Get("Content-Type"))
			}
		}
		// A browser asking for an unknown object gets the site, which has its own 404 page.
		if res := s.get(u.Impulse("nope"), rsAcceptBrowser); string(res.Body) != "HTML" {
			t.Errorf("browser on an unknown impulse: %q, want the pages handler", res.Body)
		}
	})
}

func TestWebfingerResources(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		s := startReadSite(t, store)
		host := strings.TrimPrefix(s.URL, "http://")
		for _, resource := range []string{
			"acct:memo@" + host, "acct:MEMO@" + strings.ToUpper(host), "memo@" + host, "@memo@" + host,
			s.urls.Actor(), s.urls.Home(),
		} {
			res := s.get(s.URL+"/.well-known/webfinger?resource="+url.QueryEscape(resource), "")
			if res.Status != 200 {
				t.Errorf("resource %q: %d %s", resource, res.Status, res.Body)
				continue
			}
			doc := rsDecode(t, resource, res.Body)
			if rsStr(doc, "subject") != "acct:memo@"+host {
				t.Errorf("resource %q: subject %q", resource, rsStr(doc, "subject"))
			}
			self := ""
			for _, l := range rsList(doc, "links") {
				if m, _ := l.(map[string]any); m["rel"] == "self" && m["type"] == "application/activity+json" {
					self, _ = m["href"].(string)
				}
			}
			if self != s.urls.Actor() {
				t.Errorf("resource %q: self %q", resource, self)
			}
		}

		hm := s.get(s.URL+"/.well-known/host-meta", "")
		if hm.Status != 200 || hm.Header.Get("Content-Type") != "application/xrd+xml; charset=utf-8" ||
			!rsContainsAll(string(hm.Body), `<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">`, `rel="lrdd"`, `template="`+s.URL+`/.well-known/webfinger?resource={uri}"`) {
			t.Errorf("host-meta: %d %v\n%s", hm.Status, hm.Header, hm.Body)
		}
		hmj := s.get(s.URL+"/.well-known/host-meta.json", "")
		if hmj.Status != 200 || !strings.Contains(string(hmj.Body), s.URL+"/.well-known/webfinger?resource={uri}") {
			t.Errorf("host-meta.json: %d %s", hmj.Status, hmj.Body)
		}
	})
}

func TestRetractedImpulseIsGone(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		s := startReadSite(t, store)
		if err := store.RetractImpulse(context.Background(), "measure-3"); err != nil {
			t.Fatal(err)
		}
		res := s.get(s.urls.Impulse("measure-3"), rsAcceptAS)
		if res.Status != http.StatusGone {
			t.Fatalf("retracted impulse: %d %s", res.Status, res.Body)
		}
		doc := rsDecode(t, "tombstone", res.Body)
		if rsStr(doc, "type") != "Tombstone" || rsStr(doc, "id") != s.urls.Impulse("measure-3") || rsStr(doc, "formerType") != "Note" ||
			rsStr(doc, "deleted") != "2026-11-28T12:00:00Z" || doc["@context"] == nil {
			t.Fatalf("tombstone = %s", res.Body)
		}
		if res.Header.Get("Content-Type") != "application/activity+json; charset=utf-8" {
			t.Errorf("tombstone Content-Type %q", res.Header.Get("Content-Type"))
		}
		if res := s.get(s.urls.Impulse("measure-3")+"/replies", rsAcceptAS); res.Status != 404 {
			t.Errorf("replies of a retracted impulse: %d", res.Status)
		}
		coll := s.getAS(s.urls.Impulses())
		if rsNum(coll, "totalItems") != 12 || len(rsList(coll, "orderedItems")) != 12 {
			t.Fatalf("impulses after retraction: %d items, totalItems %d", len(rsList(coll, "orderedItems")), rsNum(coll, "totalItems"))
		}
		for _, it := range rsList(coll, "orderedItems") {
			if it == s.urls.Impulse("measure-3") {
				t.Fatal("the retracted impulse is still listed")
			}
		}
		ni := rsDecode(t, "nodeinfo", s.get(s.URL+"/nodeinfo/2.1", "").Body)
		if rsNum(ni, "usage", "localPosts") != 14 {
			t.Errorf("localPosts after a retraction = %d, want 14", rsNum(ni, "usage", "localPosts"))
		}
	})
}
