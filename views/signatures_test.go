package views

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

type testSignature struct {
	n                       int
	name, domain, actorType string
	profile, note           string
	visibility              string
}

// addTestSignature writes a signature row as the inbox will; only the columns the pages read matter here.
func addTestSignature(t *testing.T, store *storage.Store, s testSignature) {
	t.Helper()
	if s.actorType == "" {
		s.actorType = "Person"
	}
	if s.visibility == "" {
		s.visibility = "public"
	}
	if s.profile == "" {
		s.profile = fmt.Sprintf("https://%s/@u%d", s.domain, s.n)
	}
	if s.note == "" {
		s.note = fmt.Sprintf("https://%s/statuses/%d", s.domain, s.n)
	}
	_, err := store.DB().Exec(store.DB().Rebind(`INSERT INTO signatures (actor_iri, actor_type, handle, display_name, domain, profile_url, note_iri, in_reply_to, content, revision, visibility, status, signed_at, search_text)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'https://memo.example/memo', 'je signe', 1, ?, 'active', ?, ?)`),
		fmt.Sprintf("https://%s/users/u%d", s.domain, s.n), s.actorType, fmt.Sprintf("u%d@%s", s.n, s.domain), s.name, s.domain,
		s.profile, s.note, s.visibility, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC).Add(time.Duration(s.n)*time.Minute).UnixMilli(),
		storage.SearchTextOf(s.name, fmt.Sprintf("u%d@%s", s.n, s.domain), s.domain, ""))
	if err != nil {
		t.Fatalf("insert signature %d: %v", s.n, err)
	}
}

func TestSignaturesPages(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		seedMemo(t, store)
		h := newTestSite(t, store, testBase).Handler()
		u := testURLs(testBase)

		// The count on the home page is live, even though the page is cached.
		mustContain(t, "home before", get(t, h, "/").Body, "0 signature<")
		addTestSignature(t, store, testSignature{n: 1, name: `Alice <script>alert(1)</script>`, domain: "mastodon.example",
			profile: "javascript:alert(1)", note: "https://mastodon.example/@u1/1"})
		mustContain(t, "home after one", get(t, h, "/").Body, "1 signature<")

		addTestSignature(t, store, testSignature{n: 2, name: "Association Libre", domain: "orga.example", actorType: "Organization"})
		for n := 3; n <= 61; n++ {
			addTestSignature(t, store, testSignature{n: n, name: fmt.Sprintf("Person %d", n), domain: "social.example"})
		}
		addTestSignature(t, store, testSignature{n: 62, name: "Secret Sam", domain: "private.example", visibility: "followers"})
		addTestSignature(t, store, testSignature{n: 63, name: "Direct Dee", domain: "private.example", visibility: "direct"})

		home := get(t, h, "/")
		mustContain(t, "home", home.Body, "63 signatures<")

		page1 := get(t, h, "/signatures")
		checkPage(t, "/signatures", page1, "fr", u.Signatures(), u.Signatures())
		mustContain(t, "page 1", page1.Body, "63 signatures", "(dont 2 privées\u00a0: comptées, jamais nommées)",
			"Alice &lt;script&gt;alert(1)&lt;/script&gt;", "@u1@mastodon.example", "Association Libre", ">organisation<",
			`<label for="q">`, `rel="next" href="https://memo.example/signatures?after=`)
		mustNotContain(t, "page 1", page1.Body, "<script>alert(1)</script>", "Secret Sam", "Direct Dee", "Person 51<", `rel="prev"`)
		if n := strings.Count(page1.Body, `<a class="who"`); n != signaturesPerPage {
			t.Errorf("page 1 lists %d signatures, want %d", n, signaturesPerPage)
		}

		next := between(page1.Body, `rel="next" href="`, `"`)
		page2 := get(t, h, strings.TrimPrefix(strings.ReplaceAll(next, "&amp;", "&"), testBase))
		if page2.Status != 200 {
			t.Fatalf("page 2: status %d", page2.Status)
		}
		if n := strings.Count(page2.Body, `<a class="who"`); n != 61-signaturesPerPage {
			t.Errorf("page 2 lists %d signatures, want %d", n, 61-signaturesPerPage)
		}
		mustContain(t, "page 2", page2.Body, "Person 61<", `rel="prev" href="https://memo.example/signatures?before=`)
		mustNotContain(t, "page 2", page2.Body, `rel="next"`, "Person 50<")
		prev := between(page2.Body, `rel="prev" href="`, `"`)
		back := get(t, h, strings.TrimPrefix(strings.ReplaceAll(prev, "&amp;", "&"), testBase))
		mustContain(t, "back to page 1", back.Body, "Alice &lt;script&gt;", "Person 50<")

		search := get(t, h, "/signatures?q=ORGA")
		mustContain(t, "search", search.Body, "1 signature correspond à la recherche.", "Association Libre", `value="ORGA"`)
		mustNotContain(t, "search", search.Body, "Person 3<")
		none := get(t, h, "/signatures?q=secret")
		mustContain(t, "search private", none.Body, "Aucune signature publique ne correspond")

		for _, bad := range []string{"/signatures?q=" + strings.Repeat("x", maxSearchRunes+1), "/signatures?after=abc", "/signatures?after=-1", "/signatures?after=1&before=9"} {
			if r := get(t, h, bad); r.Status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", bad, r.Status)
			} else if !strings.Contains(r.Body, "<p class=\"lead\">") {
				t.Errorf("%s: the 400 page gives no reason", bad)
			}
		}

		var aliceID, samID int64
		store.DB().Get(&aliceID, `SELECT id FROM signatures WHERE domain = 'mastodon.example'`)
		store.DB().Get(&samID, `SELECT id FROM signatures WHERE display_name = 'Secret Sam'`)
		one := get(t, h, fmt.Sprintf("/signatures/%d", aliceID))
		checkPage(t, "/signatures/ID", one, "fr", u.Signature(aliceID), u.Signature(aliceID))
		mustContain(t, "signature page", one.Body, fmt.Sprintf("Signature nº %d", aliceID), "Alice &lt;script&gt;", `href="https://mastodon.example/@u1/1"`, `href="https://memo.example/memo/revisions/1"`)
		// A profile link that is not http(s) is not a link.
		mustNotContain(t, "signature page", one.Body, "javascript:")
		if r := get(t, h, fmt.Sprintf("/signatures/%d", samID)); r.Status != http.StatusNotFound {
			t.Errorf("private signature page: status %d, want 404", r.Status)
		}
	})
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}
