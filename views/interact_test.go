package views

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/storage/storagetest"
)

func TestInstanceHost(t *testing.T) {
	for _, c := range []struct {
		in, host string
		err      error
	}{
		{"mastodon.example", "mastodon.example", nil},
		{"  Mastodon.Example  ", "mastodon.example", nil},
		{"alice@mastodon.example", "mastodon.example", nil},
		{"@alice@mastodon.example", "mastodon.example", nil},
		{"https://mastodon.example/@alice", "mastodon.example", nil},
		{"https://mastodon.example/", "mastodon.example", nil},
		{"mastodon.example/", "mastodon.example", nil},
		{"social.example:8443", "social.example:8443", nil},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", nil},
		{"a.b.c.example.", "a.b.c.example", nil},

		{"", "", errInstanceEmpty},
		{"   ", "", errInstanceEmpty},
		{"javascript:alert(1)", "", errInstanceInvalid},
		{"javascript://mastodon.example/%0aalert(1)", "", errInstanceInvalid},
		{"data:text/html,hi", "", errInstanceInvalid},
		{"127.0.0.1/../", "", errInstanceInvalid},
		{"127.0.0.1", "", errInstanceIP},
		{"alice@10.0.0.1", "", errInstanceIP},
		{"[::1]", "", errInstanceIP},
		{"https://[::1]/", "", errInstanceIP},
		{"localhost", "", errInstanceInvalid},
		{"mastodon.example/../evil", "", errInstanceInvalid},
		{"mastodon.example/path", "", errInstanceInvalid},
		{"mastodon.example?x=1", "", errInstanceInvalid},
		{"mastodon.example#x", "", errInstanceInvalid},
		{"mastodon.example:0", "", errInstanceInvalid},
		{"mastodon.example:99999", "", errInstanceInvalid},
		{"mastodon.example:http", "", errInstanceInvalid},
		{"https://user:pw@mastodon.example/", "", errInstanceInvalid},
		{"evil.example/@alice@mastodon.example", "", errInstanceInvalid},
		{"-bad.example", "", errInstanceInvalid},
		{"bad-.example", "", errInstanceInvalid},
		{"under_score.example", "", errInstanceInvalid},
		{"mastodon.123", "", errInstanceInvalid},
		{"mastodon..example", "", errInstanceInvalid},
		{"évil.example", "", errInstanceASCII},
		{"alice@", "", errInstanceInvalid},
		{"@", "", errInstanceInvalid},
		{"ftp://mastodon.example", "", errInstanceInvalid},
		{"mastodon.example\r\nX-Injected: 1", "", errInstanceInvalid},
	} {
		host, err := instanceHost(c.in)
		if host != c.host || err != c.err {
			t.Errorf("instanceHost(%q) = %q, %v; want %q, %v", c.in, host, err, c.host, c.err)
		}
	}
}

func TestInteractRedirectsToTheInstance(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newTestSite(t, store, testBase).Handler()
	u := testURLs(testBase)
	memoTarget := "https://mastodon.example/authorize_interaction?uri=" + url.QueryEscape(u.Memo())

	for _, in := range []string{"mastodon.example", "alice@mastodon.example", "@alice@mastodon.example", "https://mastodon.example/@alice"} {
		r := get(t, h, "/interact?instance="+url.QueryEscape(in), "Sec-Fetch-Site: same-origin")
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != memoTarget {
			t.Errorf("%q: %d to %q, want 303 to %q", in, r.Status, r.Header.Get("Location"), memoTarget)
		}
	}
	if memoTarget != "https://mastodon.example/authorize_interaction?uri=https%3A%2F%2Fmemo.example%2Fmemo" {
		t.Fatalf("unexpected target %s", memoTarget)
	}

	// From an impulse's page, the instance opens that impulse.
	r := get(t, h, "/interact?instance=social.example&uri="+url.QueryEscape(u.Impulse("measure-2")), "Referer: "+u.Impulse("measure-2"))
	if want := "https://social.example/authorize_interaction?uri=" + url.QueryEscape(u.Impulse("measure-2")); r.Header.Get("Location") != want {
		t.Errorf("impulse: Location %q, want %q", r.Header.Get("Location"), want)
	}
}

// TestInteractIsNoOpenRedirect: /interact redirects only the follow box submitted from one of our pages, to the
// host typed into it. The same URL reached from elsewhere (a link on another site, a server fetching a keyId or a
// note id an attacker named) gets the form again, 403, without a Location: our host cannot be made to redirect to
// another host by a URL alone.
func TestInteractIsNoOpenRedirect(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newTestSite(t, store, testBase).Handler()
	u := testURLs(testBase)
	target := "/interact?instance=" + url.QueryEscape("evil.example") + "&uri=" + url.QueryEscape(u.Memo())

	for _, c := range []struct {
		name    string
		headers []string
	}{
		{"no header at all (a server following a URL)", nil},
		{"an ActivityPub fetch", []string{"Accept: application/activity+json"}},
		{"a link on another site", []string{"Sec-Fetch-Site: cross-site", "Referer: https://evil.example/page"}},
		{"a link on a sibling site", []string{"Sec-Fetch-Site: same-site"}},
		{"typed in the address bar", []string{"Sec-Fetch-Site: none"}},
		{"a Referer from another site", []string{"Referer: https://evil.example/"}},
		{"a Referer that only starts like our host", []string{"Referer: " + testBase + ".evil.example/"}},
		{"Sec-Fetch-Site says cross-site even with our Referer", []string{"Sec-Fetch-Site: cross-site", "Referer: " + u.Memo()}},
	} {
		r := get(t, h, target, c.headers...)
		if r.Status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", c.name, r.Status)
		}
		if loc := r.Header.Get("Location"); loc != "" {
			t.Errorf("%s: redirected to %q", c.name, loc)
		}
		if strings.Contains(r.Body, "https://evil.example/authorize_interaction") {
			t.Errorf("%s: the page links to the target", c.name)
		}
	}
	// The page offers the form again with the instance typed, so that one click from our page goes on.
	r := get(t, h, target)
	mustContain(t, "the form again", r.Body, `<form class="signbox"`, `value="evil.example"`, `name="uri" value="`+u.Memo()+`"`, "Par sécurité")

	// From our own pages: the redirect goes to the host typed, and nowhere else.
	for _, hv := range []string{"Sec-Fetch-Site: same-origin", "Referer: " + u.Memo()} {
		r := get(t, h, target, hv)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "https://evil.example/authorize_interaction?uri="+url.QueryEscape(u.Memo()) {
			t.Errorf("%s: %d to %q", hv, r.Status, r.Header.Get("Location"))
		}
	}
}

func TestInteractRefusesJunk(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newTestSite(t, store, testBase).Handler()
	u := testURLs(testBase)

	for _, c := range []struct{ query, reason string }{
		{"instance=javascript%3Aalert(1)", "Ce n’est pas un nom d’instance valide"},
		{"instance=" + url.QueryEscape("127.0.0.1/../"), "Ce n’est pas un nom d’instance valide"},
		{"instance=127.0.0.1", "pas une adresse IP"},
		{"instance=", "Indiquez votre compte"},
		{"", "Indiquez votre compte"},
		{"instance=%C3%A9vil.example", "forme ASCII"},
		{"instance=mastodon.example&uri=" + url.QueryEscape("https://evil.example/memo"), "n’est pas celle d’un objet publié ici"},
		{"instance=mastodon.example&uri=" + url.QueryEscape(u.Base+"/memo/../../x"), "n’est pas celle d’un objet publié ici"},
		{"instance=mastodon.example&uri=" + url.QueryEscape("javascript:alert(1)"), "n’est pas celle d’un objet publié ici"},
	} {
		r := get(t, h, "/interact?"+c.query)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", c.query, r.Status)
			continue
		}
		if loc := r.Header.Get("Location"); loc != "" {
			t.Errorf("%s: redirected to %q", c.query, loc)
		}
		if r.Header.Get("Content-Security-Policy") != csp {
			t.Errorf("%s: no CSP", c.query)
		}
		// The page says why and offers the form again, with what was typed, escaped.
		mustContain(t, c.query, r.Body, c.reason, `<form class="signbox"`, `aria-invalid="true"`, `role="alert"`)
	}

	r := get(t, h, "/interact?instance="+url.QueryEscape(`"><script>alert(1)</script>`))
	mustNotContain(t, "escaped input", r.Body, "<script>alert(1)</script>")
	mustContain(t, "escaped input", r.Body, "&lt;script&gt;")

	en := get(t, h, "/interact?instance=127.0.0.1", "Accept-Language: en")
	mustContain(t, "refusal (en)", en.Body, "not an IP address", `<html lang="en"`)
}
