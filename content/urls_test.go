package content

import (
	"net/url"
	"strings"
	"testing"
)

// Every address hangs off the base and the actor: the web pages and the federation side link to the same URLs.
func TestURLs(t *testing.T) {
	u := URLs{Base: "https://memo.example", Username: "memo"}
	for _, c := range []struct{ got, want string }{
		{u.Host(), "memo.example"},
		{u.Home(), "https://memo.example/"},
		{u.Actor(), "https://memo.example/users/memo"},
		{u.KeyID(), "https://memo.example/users/memo#main-key"},
		{u.Inbox(), "https://memo.example/users/memo/inbox"},
		{u.SharedInbox(), "https://memo.example/inbox"},
		{u.Outbox(), "https://memo.example/users/memo/outbox"},
		{u.Followers(), "https://memo.example/users/memo/followers"},
		{u.Following(), "https://memo.example/users/memo/following"},
		{u.Featured(), "https://memo.example/users/memo/featured"},
		{u.Memo(), "https://memo.example/memo"},
		{u.Revisions(), "https://memo.example/memo/revisions"},
		{u.Revision(3), "https://memo.example/memo/revisions/3"},
		{u.Diff(1, 3), "https://memo.example/memo/diff?from=1&to=3"},
		{u.Impulses(), "https://memo.example/impulses"},
		{u.Impulse("lesson-2"), "https://memo.example/impulses/lesson-2"},
		{u.Signatures(), "https://memo.example/signatures"},
		{u.Signature(42), "https://memo.example/signatures/42"},
		{u.Note(HowToSignSlug), "https://memo.example/notes/how-to-sign"},
		{u.Activity(7), "https://memo.example/activities/7"},
		{u.About(), "https://memo.example/about"},
		{u.Copies(), "https://memo.example/copies"},
		{u.Feed(), "https://memo.example/feed.atom"},
		{u.Icon(), "https://memo.example/static/icon.png"},
		{Replies(u.Memo()), "https://memo.example/memo/replies"},
		{Likes(u.Impulse("measure-1")), "https://memo.example/impulses/measure-1/likes"},
		{Shares(u.Memo()), "https://memo.example/memo/shares"},
	} {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}

// The host keeps a port that is not the default, as in acct:memo@localhost:8080, and an unparsable base still
// gives its host part.
func TestURLsHost(t *testing.T) {
	for _, c := range []struct{ base, want string }{
		{"http://localhost:8080", "localhost:8080"},
		{"https://memo.example", "memo.example"},
		{"http://127.0.0.1:41234", "127.0.0.1:41234"},
		{"https://memo.example:%zz", "memo.example:%zz"},
	} {
		if got := (URLs{Base: c.base, Username: "memo"}).Host(); got != c.want {
			t.Errorf("Host of %s = %q, want %q", c.base, got, c.want)
		}
	}
}

// Tag pages are lower case, and a tag with spaces or reserved characters stays one path segment.
func TestTagURL(t *testing.T) {
	u := URLs{Base: "https://memo.example", Username: "memo"}
	for _, tag := range Hashtags {
		got := u.Tag(tag)
		if got != "https://memo.example/tags/"+strings.ToLower(tag) {
			t.Errorf("Tag(%q) = %s", tag, got)
		}
	}
	for _, tag := range []string{"Communs Numériques", "a/b", "x?y#z", "..", "100%"} {
		p, err := url.Parse(u.Tag(tag))
		if err != nil {
			t.Errorf("Tag(%q) = %s: %v", tag, u.Tag(tag), err)
			continue
		}
		if p.RawQuery != "" || p.Fragment != "" || !strings.HasPrefix(p.EscapedPath(), "/tags/") || strings.Count(p.EscapedPath(), "/") != 2 {
			t.Errorf("Tag(%q) = %s: not one segment under /tags/", tag, u.Tag(tag))
		}
		if seg := strings.TrimPrefix(p.Path, "/tags/"); seg != strings.ToLower(tag) {
			t.Errorf("Tag(%q) decodes to %q", tag, seg)
		}
	}
}
