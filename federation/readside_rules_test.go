package federation

import (
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/as"
	"github.com/memo-fediverse/memo/storage"
)

func TestResolveWebfingerRules(t *testing.T) {
	wf, err := newWebfinger(content.URLs{Base: "https://memo.example", Username: "memo"})
	if err != nil {
		t.Fatal(err)
	}
	if wf.subject != "acct:memo@memo.example" {
		t.Fatalf("subject %q", wf.subject)
	}
	for _, c := range []struct {
		resource string
		status   int // 0: found
	}{
		{"acct:memo@memo.example", 0},
		{"acct:Memo@MEMO.example", 0},
		{"memo@memo.example", 0},
		{"@memo@memo.example", 0},
		{"https://memo.example/users/memo", 0},
		{"https://memo.example/", 0},
		{"https://memo.example", 0},
		{"", 400},
		{"   ", 400},
		{"acct:memo", 400},
		{"acct:@memo.example", 400},
		{"acct:other@memo.example", 404},
		{"acct:memo@other.example", 404},
		{"https://memo.example/users/other", 404},
		{"https://other.example/users/memo", 404},
	} {
		err := wf.resolve(c.resource)
		switch {
		case c.status == 0 && err != nil:
			t.Errorf("%q: %v", c.resource, err)
		case c.status != 0:
			p, ok := err.(*as.Problem)
			if !ok || p.Status != c.status || p.Reason == "" {
				t.Errorf("%q: err %v, want %d with a reason", c.resource, err, c.status)
			}
		}
	}
}

func TestRevisionNoteEscapesTheChangelog(t *testing.T) {
	urls := content.URLs{Base: "https://memo.example", Username: "memo"}
	n := as.RevisionNote(urls, revisionFixture(3, `<script>alert(1)</script> & "quotes"`), rsRulesClock)
	if n.Slug != "revision-3" || !n.Public || len(n.To) != 1 || n.To[0] != content.PublicAudience {
		t.Fatalf("note = %+v", n)
	}
	for _, bad := range []string{"<script>", `"quotes"`} {
		if rsHas(n.Content, bad) {
			t.Errorf("content keeps %q unescaped: %s", bad, n.Content)
		}
	}
	if !rsHas(n.Content, "&lt;script&gt;") || !rsHas(n.Content, urls.Revisions()) {
		t.Errorf("content = %s", n.Content)
	}
}

var rsRulesClock = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func revisionFixture(n int, changelog string) storage.Revision {
	return storage.Revision{Number: n, Title: "Titre <i>", Changelog: changelog, PublishedAt: rsRulesClock}
}

func rsHas(s, sub string) bool { return strings.Contains(s, sub) }
