package views

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// A second revision of the shipped memo: one word replaced, one word removed.
func secondRevision() string {
	md := content.MemoMarkdown()
	md = strings.Replace(md, "La situation exceptionnelle provoquée", "La situation inédite provoquée", 1)
	md = strings.Replace(md, "ont redonné toute son importance", "ont redonné son importance", 1)
	return md
}

var (
	headingRE     = regexp.MustCompile(`<h([1-6])[\s>]`)
	inlineStyleRE = regexp.MustCompile(`(?i)<style|\sstyle=`)
	inlineJSRE    = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>[^<]|<script>|\son[a-z]+=|javascript:`)
)

// checkPage asserts what every HTML page carries.
func checkPage(t *testing.T, path string, r response, lang, canonical, alternate string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	if got := r.Header.Get("Content-Security-Policy"); got != csp {
		t.Errorf("%s: CSP %q, want %q", path, got, csp)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Referrer-Policy") == "" {
		t.Errorf("%s: missing nosniff or Referrer-Policy: %v", path, r.Header)
	}
	if v := r.Header.Get("Vary"); !strings.Contains(v, "Accept-Language") || !strings.Contains(v, "Accept") {
		t.Errorf("%s: Vary %q", path, v)
	}
	ogLocale := map[string]string{"fr": "fr_FR", "en": "en_GB"}[lang]
	canonical = html.EscapeString(canonical)
	mustContain(t, path, r.Body,
		`<html lang="`+lang+`"`,
		`<link rel="canonical" href="`+canonical+`">`,
		`<meta property="og:url" content="`+canonical+`">`,
		`<meta property="og:type" content="article">`,
		`<meta property="og:locale" content="`+ogLocale+`">`,
		`<meta property="og:title" content="`,
		`<meta property="og:description" content="`,
		`<meta name="fediverse:creator" content="@memo@memo.example">`,
		`<link rel="alternate" type="application/atom+xml" href="https://memo.example/feed.atom"`,
		`<a class="skip" href="#main">`,
		`<main id="main"`,
		`<a rel="license" href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>`,
		content.Authors,
	)
	if alternate != "" {
		mustContain(t, path, r.Body, `<link rel="alternate" type="application/activity+json" href="`+alternate+`">`)
	}
	if m := regexp.MustCompile(`<meta property="og:description" content="([^"]*)">`).FindStringSubmatch(r.Body); m == nil || strings.TrimSpace(m[1]) == "" {
		t.Errorf("%s: empty og:description", path)
	}
	// The CSP forbids inline code: none may be in the markup.
	if m := inlineStyleRE.FindString(r.Body); m != "" {
		t.Errorf("%s: inline style %q", path, m)
	}
	if m := inlineJSRE.FindString(r.Body); m != "" {
		t.Errorf("%s: inline script %q", path, m)
	}
	// One h1, and headings never skip a level.
	prev, h1 := 0, 0
	for _, m := range headingRE.FindAllStringSubmatch(r.Body, -1) {
		level := int(m[1][0] - '0')
		if level == 1 {
			h1++
		}
		if level > prev+1 {
			t.Errorf("%s: h%d after h%d", path, level, prev)
		}
		prev = level
	}
	if h1 != 1 {
		t.Errorf("%s: %d h1 elements", path, h1)
	}
}

func TestPages(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		seedMemo(t, store)
		publish(t, store, secondRevision(), "Deux corrections.", time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC))
		h := newTestSite(t, store, testBase).Handler()
		u := testURLs(testBase)
		doc, _ := content.Parse([]byte(content.MemoMarkdown()))

		for _, c := range []struct {
			path, canonical, alternate string
			status                     int
			wants                      []string
		}{
			{"/", u.Home(), u.Actor(), 200, []string{doc.Title, `<div class="prose memo-body" lang="fr">`, "0 signature", `action="https://memo.example/interact"`, `<label for="instance">`, "je signe", "Révision 2", "inédite", `id="signer"`}},
			{"/?uri=https%3A%2F%2Fsocial.example%2F%40bob", u.Home(), u.Actor(), 200, []string{doc.Title, `id="signer"`}},
			{"/users/memo", u.Actor(), u.Actor(), 200, []string{doc.Title, `id="signer"`}},
			{"/memo", u.Memo(), u.Memo(), 200, []string{doc.Title, `aria-current="page">Le mémo`}},
			{"/impulses", u.Impulses(), u.Impulses(), 200, []string{"Les 6 enseignements", "Les 7 mesures", `id="lesson-1"`, `id="measure-7"`, `href="https://memo.example/impulses/measure-7"`, "Enseignement 1"}},
			{"/impulses/lesson-2", u.Impulse("lesson-2"), u.Impulse("lesson-2"), 200, []string{"Enseignement 2", "communs numériques", `name="uri" value="https://memo.example/impulses/lesson-2"`}},
			{"/memo/revisions", u.Revisions(), u.Revisions(), 200, []string{"Historique des révisions", "Deux corrections.", "Version du 3 mai 2020.", `href="https://memo.example/memo/diff?from=1&amp;to=2"`, `<select id="from" name="from">`}},
			{"/memo/revisions/1", u.Revision(1), u.Revision(1), 200, []string{"Révision 1", "3 mai 2020", "ancienne révision", "exceptionnelle", `rel="next" href="https://memo.example/memo/revisions/2"`}},
			{"/memo/revisions/2", u.Revision(2), u.Revision(2), 200, []string{"Révision 2", "1er février 2026", "inédite"}},
			{"/memo/diff?from=1&to=2", u.Diff(1, 2), u.Revision(2), 200, []string{"<del>exceptionnelle</del>", "<ins>inédite</ins>", "<del>toute </del>"}},
			{"/signatures", u.Signatures(), u.Signatures(), 200, []string{"Aucune signature pour l’instant", "Soyez la première personne à signer"}},
			{"/about", u.About(), u.Actor(), 200, []string{"memo serve", `href="https://github.com/memo-fediverse/memo#running-it-in-production"`, "Creative Commons Attribution 4.0", "@memo@memo.example"}},
			{"/notes/how-to-sign", u.Note(content.HowToSignSlug), u.Note(content.HowToSignSlug), 200, []string{"Comment signer", "ich unterschreibe", "#jesigne"}},
		} {
			r := get(t, h, c.path)
			if r.Status != c.status {
				t.Errorf("%s: status %d, want %d", c.path, r.Status, c.status)
				continue
			}
			checkPage(t, c.path, r, "fr", c.canonical, c.alternate)
			mustContain(t, c.path, r.Body, c.wants...)
		}
	})
}

func TestEnglishWhenTheBrowserPrefersIt(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newTestSite(t, store, testBase).Handler()
	u := testURLs(testBase)

	en := get(t, h, "/", "Accept-Language: en-GB,en;q=0.9,fr;q=0.5")
	checkPage(t, "/ (en)", en, "en", u.Home(), u.Actor())
	mustContain(t, "/ (en)", en.Body, "Sign the memo", "Open on my instance", "0 signatures", `<meta property="og:locale:alternate" content="fr_FR">`,
		// The memo itself stays French, and says so.
		`<h1 lang="fr">`, `<div class="prose memo-body" lang="fr">`)
	mustNotContain(t, "/ (en)", en.Body, "Signer le mémo")

	fr := get(t, h, "/", "Accept-Language: en;q=0.4, fr;q=0.8")
	checkPage(t, "/ (fr by q)", fr, "fr", u.Home(), u.Actor())
	mustContain(t, "/ (fr)", fr.Body, "Signer le mémo")

	// Both languages are cached separately: asking again in English is still English.
	again := get(t, h, "/", "Accept-Language: en")
	mustContain(t, "/ (en again)", again.Body, `<html lang="en"`)

	about := get(t, h, "/about", "Accept-Language: en-US")
	checkPage(t, "/about (en)", about, "en", u.About(), u.Actor())
	mustContain(t, "/about (en)", about.Body, "Hosting a copy", "the README’s production section")
}

func TestNotFound(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newTestSite(t, store, testBase).Handler()

	for _, path := range []string{"/nope", "/impulses/lesson-99", "/impulses/Lesson-1", "/memo/revisions/9", "/memo/revisions/01", "/memo/revisions/x", "/signatures/5", "/signatures/0", "/notes/nothing", "/static/nope.css", "/activities/42", "/memo/revisions/1/nope"} {
		r := get(t, h, path)
		if r.Status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, r.Status)
			continue
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		if r.Header.Get("Content-Security-Policy") != csp {
			t.Errorf("%s: no CSP on the 404 page", path)
		}
		mustContain(t, path, r.Body, `<html lang="fr"`, "Page introuvable", "Retour à l’accueil")

		en := get(t, h, path, "Accept-Language: en")
		mustContain(t, path+" (en)", en.Body, `<html lang="en"`, "Page not found")

		for _, accept := range []string{"application/activity+json", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`} {
			j := get(t, h, path, "Accept: "+accept)
			if j.Status != http.StatusNotFound || !strings.HasPrefix(j.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%s as JSON: %d %q", path, j.Status, j.Header.Get("Content-Type"))
			}
			if strings.TrimSpace(j.Body) != `{"error":"not found"}` {
				t.Errorf("%s as JSON: body %q", path, j.Body)
			}
		}
	}

	// Other methods than GET are not pages.
	req := httptestRequest(http.MethodPost, "/about")
	if r := serve(h, req); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /about: status %d, Allow %q; want 405", r.Status, r.Header.Get("Allow"))
	}
	if r := serve(h, httptestRequest(http.MethodHead, "/about")); r.Status != http.StatusOK {
		t.Errorf("HEAD /about: status %d, want 200", r.Status)
	}
}

func TestRetractedImpulseIsShownAsWithdrawn(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	store.SetClock(func() time.Time { return time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC) })
	if err := store.RetractImpulse(context.Background(), "measure-7"); err != nil {
		t.Fatal(err)
	}
	h := newTestSite(t, store, testBase).Handler()

	list := get(t, h, "/impulses")
	mustContain(t, "/impulses", list.Body, `<li id="measure-7" class="impulse withdrawn">`, "Retiré le 4 mars 2026", `<li id="measure-6" class="impulse">`)

	one := get(t, h, "/impulses/measure-7")
	if one.Status != http.StatusGone {
		t.Fatalf("retracted impulse: status %d, want 410", one.Status)
	}
	mustContain(t, "/impulses/measure-7", one.Body, "Retiré le 4 mars 2026", "Mesure 7")
	mustNotContain(t, "/impulses/measure-7", one.Body, `name="uri"`)

	feed := get(t, h, "/feed.atom")
	mustNotContain(t, "feed", feed.Body, "https://memo.example/impulses/measure-7<")
}

func TestCollectionsAndActivitiesLeadToTheirPages(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		seedMemo(t, store)
		u := testURLs(testBase)
		if err := store.InsertActivity(context.Background(), storage.Activity{IRI: u.Activity(1), Type: "Create", ObjectIRI: u.Impulse("lesson-3"), Body: "{}", InOutbox: true}, nil); err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := store.DB().Get(&id, `SELECT id FROM activities`); err != nil {
			t.Fatal(err)
		}
		if err := store.InsertActivity(context.Background(), storage.Activity{IRI: u.Activity(id + 1), Type: "Create", ObjectIRI: u.Note("ack-1"), Body: "{}", InOutbox: false}, nil); err != nil {
			t.Fatal(err)
		}
		h := newTestSite(t, store, testBase).Handler()
		for path, want := range map[string]string{
			"/memo/replies":                u.Memo(),
			"/memo/likes":                  u.Memo(),
			"/impulses/lesson-1/shares":    u.Impulse("lesson-1"),
			"/memo/revisions/1/replies":    u.Revision(1),
			"/notes/how-to-sign/replies":   u.Note("how-to-sign"),
			"/users/memo/outbox":           u.Home(),
			"/users/memo/followers":        u.Home(),
			"/users/memo/featured":         u.Home(),
			"/tags/libreetopen":            u.Home(),
			"/activities/" + itoa(int(id)): u.Impulse("lesson-3"),
		} {
			r := get(t, h, path)
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
				t.Errorf("%s: %d to %q, want 303 to %q", path, r.Status, r.Header.Get("Location"), want)
			}
		}
		// An activity that is not public has no page.
		if r := get(t, h, "/activities/"+itoa(int(id+1))); r.Status != http.StatusNotFound {
			t.Errorf("private activity: status %d, want 404", r.Status)
		}
	})
}

func TestNotes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		seedMemo(t, store)
		ins := store.DB().Rebind(`INSERT INTO notes (slug, kind, content, public, published_at, deleted_at) VALUES (?, 'revision', ?, ?, ?, ?)`)
		at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
		for _, row := range []struct {
			slug    string
			public  bool
			deleted any
		}{{"revision-2", true, nil}, {"ack-1", false, nil}, {"revision-3", true, at + 1}} {
			if _, err := store.DB().Exec(ins, row.slug, "<p>La révision 2 est publiée.</p>", row.public, at, row.deleted); err != nil {
				t.Fatal(err)
			}
		}
		h := newTestSite(t, store, testBase).Handler()
		u := testURLs(testBase)
		r := get(t, h, "/notes/revision-2")
		if r.Status != 200 {
			t.Fatalf("public note: status %d", r.Status)
		}
		checkPage(t, "/notes/revision-2", r, "fr", u.Note("revision-2"), u.Note("revision-2"))
		mustContain(t, "note", r.Body, "<p>La révision 2 est publiée.</p>", "1er février 2026")
		if r := get(t, h, "/notes/ack-1"); r.Status != http.StatusNotFound {
			t.Errorf("non-public note: status %d, want 404", r.Status)
		}
		if r := get(t, h, "/notes/revision-3"); r.Status != http.StatusGone {
			t.Errorf("deleted note: status %d, want 410", r.Status)
		}
	})
}

func TestNoRevisionYet(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	h := newTestSite(t, store, testBase).Handler()
	r := get(t, h, "/")
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("home without a revision: status %d, want 503", r.Status)
	}
	mustContain(t, "home", r.Body, "Aucune révision du mémo")
}

func TestPrepareRevision(t *testing.T) {
	rev := prepareRevision(storage.Revision{Number: 3, Title: "T", HTML: "<h1>T</h1>\n<p>a <a href=\"www.example.org/x\">x</a></p>\n<h2><em>Open</em> <a href=\"https://e.example\">b</a></h2>\n<h2>c</h2>"})
	body := string(rev.Body)
	if strings.Contains(body, "<h1") {
		t.Errorf("leading h1 kept: %s", body)
	}
	mustContain(t, "prepared", body, `<h2 id="section-1"><em>Open</em> <a href="https://e.example">b</a></h2>`, `<h2 id="section-2">c</h2>`, `href="https://www.example.org/x"`)
	if len(rev.TOC) != 2 || string(rev.TOC[0].HTML) != "<em>Open</em> b" || rev.TOC[1].ID != "section-2" {
		t.Errorf("toc = %+v", rev.TOC)
	}
}

// Readers in parallel with new signatures and a new revision: every page is whole and its count is live.
func TestHomeUnderConcurrentChanges(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newTestSite(t, store, testBase).Handler()
	countRE := regexp.MustCompile(`<strong>(\d+) signatures?</strong>`)

	done := make(chan struct{})
	errs := make(chan string, 64)
	var readers sync.WaitGroup
	for i := 0; i < 4; i++ {
		readers.Add(1)
		go func(lang string) {
			defer readers.Done()
			last := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				r := get(t, h, "/", "Accept-Language: "+lang)
				m := countRE.FindStringSubmatch(r.Body)
				if r.Status != 200 || m == nil || !strings.HasSuffix(strings.TrimSpace(r.Body), "</html>") {
					errs <- fmt.Sprintf("status %d, count %v", r.Status, m)
					return
				}
				n, _ := strconv.Atoi(m[1])
				if n < last {
					errs <- fmt.Sprintf("count went back from %d to %d", last, n)
					return
				}
				last = n
			}
		}([]string{"fr", "en"}[i%2])
	}
	for n := 1; n <= 20; n++ {
		addTestSignature(t, store, testSignature{n: n, name: "P", domain: "social.example"})
		if n == 10 {
			publish(t, store, secondRevision(), "", time.Now())
		}
	}
	close(done)
	readers.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	mustContain(t, "final home", get(t, h, "/").Body, "<strong>20 signatures</strong>", "Révision 2")
}
