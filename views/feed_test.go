package views

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage/storagetest"
)

// What a feed reader needs, decoded independently of the types that write the feed.
type parsedFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string   `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Links   []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Author struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Link    struct {
			Rel  string `xml:"rel,attr"`
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Summary string `xml:"summary"`
		Content struct {
			Type string `xml:"type,attr"`
			Body string `xml:",chardata"`
		} `xml:"content"`
	} `xml:"entry"`
}

func TestAtomFeed(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	second := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	publish(t, store, secondRevision(), "Deux corrections.", second)
	h := newTestSite(t, store, testBase).Handler()
	u := testURLs(testBase)

	r := get(t, h, "/feed.atom")
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/atom+xml; charset=utf-8" {
		t.Fatalf("feed: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	if !strings.HasPrefix(r.Body, `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("feed does not start with an XML declaration: %.60s", r.Body)
	}
	var f parsedFeed
	if err := xml.Unmarshal([]byte(r.Body), &f); err != nil {
		t.Fatalf("feed does not parse: %v", err)
	}
	if f.ID != u.Feed() || f.Lang != "fr" || f.Title == "" || f.Author.Name == "" {
		t.Errorf("feed head: id %q lang %q title %q author %q", f.ID, f.Lang, f.Title, f.Author.Name)
	}
	if up, err := time.Parse(time.RFC3339, f.Updated); err != nil || !up.Equal(second) {
		t.Errorf("feed updated %q (%v), want the newest entry %v", f.Updated, err, second)
	}
	rels := map[string]string{}
	for _, l := range f.Links {
		rels[l.Rel] = l.Href
	}
	if rels["self"] != u.Feed() || rels["alternate"] != u.Home() {
		t.Errorf("feed links %v", rels)
	}
	if len(f.Entries) != 2+13 {
		t.Fatalf("%d entries, want 2 revisions + 13 impulses", len(f.Entries))
	}
	if f.Entries[0].ID != u.Revision(2) || !strings.Contains(f.Entries[0].Summary, "Deux corrections.") {
		t.Errorf("newest entry = %+v, want revision 2", f.Entries[0])
	}
	ids := map[string]bool{}
	for _, e := range f.Entries {
		if e.ID == "" || ids[e.ID] {
			t.Errorf("entry id %q missing or repeated", e.ID)
		}
		ids[e.ID] = true
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
			t.Errorf("entry %s: updated %q: %v", e.ID, e.Updated, err)
		}
		if e.Link.Rel != "alternate" || e.Link.Href != e.ID || e.Title == "" {
			t.Errorf("entry %s: link %+v title %q", e.ID, e.Link, e.Title)
		}
	}
	if !ids[u.Impulse("lesson-1")] || !ids[u.Impulse("measure-7")] || !ids[u.Revision(1)] {
		t.Errorf("missing entries: %v", ids)
	}
	for _, e := range f.Entries {
		if e.ID == u.Impulse("lesson-1") && (e.Content.Type != "html" || !strings.Contains(e.Content.Body, "<p>")) {
			t.Errorf("impulse entry content = %+v", e.Content)
		}
	}
}
