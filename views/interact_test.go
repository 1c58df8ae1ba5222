package views

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
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

// TestParseAccount: the user is read from a handle or a profile URL; with the allow-private setting, a loopback
// address with a port works as a domain does, and other IP addresses are still refused.
func TestParseAccount(t *testing.T) {
	for _, c := range []struct {
		in         string
		private    bool
		user, host string
		err        error
	}{
		{"alice@mastodon.example", false, "alice", "mastodon.example", nil},
		{"@Alice.B-c_d@mastodon.example", false, "Alice.B-c_d", "mastodon.example", nil},
		{"https://mastodon.example/@alice", false, "alice", "mastodon.example", nil},
		{"https://mastodon.example/users/alice", false, "", "mastodon.example", nil},
		{"mastodon.example", false, "", "mastodon.example", nil},
		{"alice@127.0.0.5:8081", true, "alice", "127.0.0.5:8081", nil},
		{"127.0.0.5:8081", true, "", "127.0.0.5:8081", nil},
		{"http://127.0.0.5:8081/@alice", true, "alice", "127.0.0.5:8081", nil},
		{"alice@127.0.0.5:8081", false, "", "", errInstanceIP},
		{"alice@10.0.0.1:8081", true, "", "", errInstanceIP},
		{"169.254.169.254", true, "", "", errInstanceIP},
		{"al%ce@mastodon.example", false, "", "", errInstanceInvalid},
		{"al<ce@mastodon.example", false, "", "", errInstanceInvalid},
	} {
		user, host, err := parseAccount(c.in, c.private)
		if user != c.user || host != c.host || err != c.err {
			t.Errorf("parseAccount(%q, %v) = %q, %q, %v; want %q, %q, %v", c.in, c.private, user, host, err, c.user, c.host, c.err)
		}
	}
}

// TestInteractEverySoftware: for an account (user@host) and for a bare host of each software, the follow box
// sends the visitor to the page their own instance offers, found in its WebFinger or from its NodeInfo name; an
// instance without one (GoToSocial) gets the page with the URL to copy and the two steps.
func TestInteractEverySoftware(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newInteractSite(t, store, testBase, time.Second).Handler()
	u := testURLs(testBase)
	memo := url.QueryEscape(u.Memo())

	for _, c := range []struct {
		soft       fedtest.Software
		acct, host string // the target's path for user@host, and for the bare host; empty: the copy page
	}{
		{fedtest.SoftMastodon, "/authorize_interaction?uri=" + memo, "/authorize_interaction?uri=" + memo},
		{fedtest.SoftMisskey, "/authorize-follow?acct=" + memo, "/authorize-follow?acct=" + memo},
		{fedtest.SoftSharkey, "/authorize-follow?acct=" + memo, "/authorize-follow?acct=" + memo},
		{fedtest.SoftPleroma, "/ostatus_subscribe?acct=" + memo, "/ostatus_subscribe?acct=" + memo},
		{fedtest.SoftAkkoma, "/ostatus_subscribe?acct=" + memo, "/ostatus_subscribe?acct=" + memo},
		{fedtest.SoftFriendica, "/contact/follow?url=" + memo, "/contact/follow?url=" + memo},
		{fedtest.SoftPeerTube, "/remote-interaction?uri=" + memo, "/remote-interaction?uri=" + memo},
		{fedtest.SoftLemmy, "/search?q=" + memo + "&type=All", "/search?q=" + memo + "&type=All"},
		{fedtest.SoftGoToSocial, "", ""},
		// An instance that offers only FEP-3b86's Object intent.
		{fedtest.Software{Name: "intents", NodeInfo: "/nodeinfo/2.1", Schema: "2.1",
			Intents: map[string]string{"https://w3id.org/fep/3b86/Object": "/intent/object?object={object}"}},
			"/intent/object?object=" + memo, ""},
	} {
		inst := fedtest.NewInstance(t, c.soft.Name)
		inst.RunAs(c.soft)
		inst.NewActorWithKey("alice", nil)
		for _, in := range []struct{ typed, path string }{{"alice@" + inst.Host, c.acct}, {inst.Host, c.host}, {"@alice@" + inst.Host, c.acct}} {
			r := get(t, h, "/interact?instance="+url.QueryEscape(in.typed), "Sec-Fetch-Site: same-origin")
			if in.path == "" {
				if r.Status != http.StatusOK || r.Header.Get("Location") != "" {
					t.Errorf("%s, %q: %d to %q, want the copy page", c.soft.Name, in.typed, r.Status, r.Header.Get("Location"))
				}
				mustContain(t, c.soft.Name+" copy page", r.Body, `id="object-url"`, `value="`+u.Memo()+`"`, "Collez-la dans la recherche")
				continue
			}
			if want := inst.Base + in.path; r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
				t.Errorf("%s, %q: %d to %q, want 303 to %q", c.soft.Name, in.typed, r.Status, r.Header.Get("Location"), want)
			}
		}
	}

	// GoToSocial is named on the copy page, which says what to do in both languages.
	gts := fedtest.NewInstance(t, "gts")
	gts.RunAs(fedtest.SoftGoToSocial)
	r := get(t, h, "/interact?instance="+url.QueryEscape(gts.Host), "Sec-Fetch-Site: same-origin", "Accept-Language: en")
	mustContain(t, "copy page (en)", r.Body, "runs gotosocial", "Copy this address", "Paste it into the search", `<html lang="en"`)

	// From an impulse's page, the instance opens that impulse.
	masto := fedtest.NewInstance(t, "mastodon")
	masto.RunAs(fedtest.SoftMastodon)
	r = get(t, h, "/interact?instance="+url.QueryEscape(masto.Host)+"&uri="+url.QueryEscape(u.Impulse("measure-2")), "Referer: "+u.Impulse("measure-2"))
	if want := masto.Base + "/authorize_interaction?uri=" + url.QueryEscape(u.Impulse("measure-2")); r.Header.Get("Location") != want {
		t.Errorf("impulse: Location %q, want %q", r.Header.Get("Location"), want)
	}
}

// TestInteractStaysOnTheNamedHost: a template, a NodeInfo link or an HTTP redirect that would lead elsewhere than
// the host the visitor named is not followed: the visitor gets the copy page, and the other host is never asked.
func TestInteractStaysOnTheNamedHost(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newInteractSite(t, store, testBase, time.Second).Handler()
	u := testURLs(testBase)

	elsewhere := fedtest.NewInstance(t, "elsewhere")
	elsewhere.RunAs(fedtest.SoftMastodon)
	elsewhere.NewActorWithKey("alice", nil)
	var asked atomic.Int32
	for _, path := range []string{"/nodeinfo/other", "/authorize_interaction"} {
		elsewhere.Handle(path, func(w http.ResponseWriter, r *http.Request) { asked.Add(1) })
	}

	// The WebFinger template names another host; NodeInfo is not there.
	tmpl := fedtest.NewInstance(t, "template")
	tmpl.RunAs(fedtest.Software{Name: "mastodon", NodeInfo: "/nodeinfo/2.0", Schema: "2.0"})
	tmpl.Handle("/.well-known/nodeinfo", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	tmpl.Handle("/.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jrd+json")
		w.Write([]byte(`{"subject":"acct:alice@` + tmpl.Host + `","links":[{"rel":"http://ostatus.org/schema/1.0/subscribe","template":"` + elsewhere.Base + `/authorize_interaction?uri={uri}"}]}`))
	})
	// The NodeInfo index links a document on another host.
	ni := fedtest.NewInstance(t, "nodeinfo")
	ni.Handle("/.well-known/nodeinfo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"links":[{"rel":"http://nodeinfo.diaspora.software/ns/schema/2.0","href":"` + elsewhere.Base + `/nodeinfo/other"}]}`))
	})
	// WebFinger and NodeInfo answer with a redirect to another host.
	redir := fedtest.NewInstance(t, "redirect")
	redir.Redirect("/.well-known/webfinger", elsewhere.Base+"/.well-known/webfinger?resource=acct:alice@"+elsewhere.Host)
	redir.Redirect("/.well-known/nodeinfo", elsewhere.Base+"/.well-known/nodeinfo")

	for _, typed := range []string{"alice@" + tmpl.Host, ni.Host, "alice@" + redir.Host, redir.Host} {
		r := get(t, h, "/interact?instance="+url.QueryEscape(typed), "Sec-Fetch-Site: same-origin")
		if r.Status != http.StatusOK || r.Header.Get("Location") != "" {
			t.Errorf("%q: %d to %q, want the copy page", typed, r.Status, r.Header.Get("Location"))
		}
		mustContain(t, typed, r.Body, `value="`+u.Memo()+`"`)
		mustNotContain(t, typed, r.Body, elsewhere.Base)
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the other host was asked %d times", n)
	}
	if gets := elsewhere.Gets(); len(gets) != 0 {
		t.Errorf("the other host got %d GETs, first %s", len(gets), gets[0].URL)
	}
}

// TestInteractHostDownOrSlow: a host that refuses connections, or that never answers, gets the copy page within
// the look-up deadline; the failure is kept, so the next visitor naming it does not wait again.
func TestInteractHostDownOrSlow(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newInteractSite(t, store, testBase, 300*time.Millisecond).Handler()
	u := testURLs(testBase)

	down := httptest.NewServer(http.NotFoundHandler())
	downHost := strings.TrimPrefix(down.URL, "http://")
	down.Close()

	slow := fedtest.NewInstance(t, "slow")
	var hits atomic.Int32
	hang := func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-r.Context().Done() // never answers; the client gives up
	}
	slow.Handle("/.well-known/webfinger", hang)
	slow.Handle("/.well-known/nodeinfo", hang)

	for _, typed := range []string{downHost, "alice@" + downHost, "alice@" + slow.Host, slow.Host} {
		start := time.Now()
		r := get(t, h, "/interact?instance="+url.QueryEscape(typed), "Sec-Fetch-Site: same-origin")
		if r.Status != http.StatusOK || r.Header.Get("Location") != "" {
			t.Errorf("%q: %d to %q, want the copy page", typed, r.Status, r.Header.Get("Location"))
		}
		mustContain(t, typed, r.Body, `value="`+u.Memo()+`"`)
		// Not a measure of speed: a look-up that ignored its deadline would hang here for ever.
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%q: answered after %s", typed, d)
		}
	}
	before := hits.Load()
	if before == 0 {
		t.Fatal("the slow host was never asked")
	}
	get(t, h, "/interact?instance="+url.QueryEscape(slow.Host), "Sec-Fetch-Site: same-origin")
	if hits.Load() != before {
		t.Errorf("the slow host was asked again (%d, then %d)", before, hits.Load())
	}
}

// TestInteractRemembersTheInstance: the follow box is filled in on the next visit from a first-party cookie
// (HttpOnly, SameSite=Lax, Secure on HTTPS), without script; a cookie that is not an account is ignored.
func TestInteractRemembersTheInstance(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newInteractSite(t, store, testBase, time.Second).Handler()
	masto := fedtest.NewInstance(t, "mastodon")
	masto.RunAs(fedtest.SoftMastodon)
	masto.NewActorWithKey("alice", nil)

	r := get(t, h, "/interact?instance="+url.QueryEscape("@alice@"+masto.Host), "Sec-Fetch-Site: same-origin")
	if r.Status != http.StatusSeeOther {
		t.Fatalf("status %d", r.Status)
	}
	resp := http.Response{Header: r.Header}
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == instanceCookie {
			c = k
		}
	}
	if c == nil || c.Value != "alice@"+masto.Host || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || !c.Secure || c.Path != "/" || c.MaxAge <= 0 {
		t.Fatalf("cookie %+v", c)
	}

	for _, path := range []string{"/", testURLs(testBase).Impulse("measure-2"), "/"} {
		p := get(t, h, strings.TrimPrefix(path, testBase), "Cookie: "+instanceCookie+"="+c.Value)
		mustContain(t, "prefilled "+path, p.Body, `name="instance" value="alice@`+masto.Host+`"`)
		if p.Header.Get("Cache-Control") != "private" {
			t.Errorf("%s: Cache-Control %q", path, p.Header.Get("Cache-Control"))
		}
	}
	// Without the cookie, the (cached) page is not filled in.
	p := get(t, h, "/")
	mustContain(t, "not prefilled", p.Body, `name="instance" value=""`)
	mustNotContain(t, "not prefilled", p.Body, masto.Host)

	// A refused or hostile cookie fills nothing in.
	for _, v := range []string{`"><script>alert(1)</script>`, "10.0.0.1", "javascript:alert(1)"} {
		p := get(t, h, "/", "Cookie: "+instanceCookie+"="+url.QueryEscape(v))
		mustContain(t, "hostile cookie "+v, p.Body, `name="instance" value=""`)
		mustNotContain(t, "hostile cookie "+v, p.Body, "<script>alert(1)")
	}

	// On plain HTTP the cookie is not marked Secure (it would never come back).
	plain := newInteractSite(t, store, "http://memo.example", time.Second).Handler()
	r = get(t, plain, "/interact?instance="+url.QueryEscape(masto.Host), "Sec-Fetch-Site: same-origin")
	resp = http.Response{Header: r.Header}
	if cs := resp.Cookies(); len(cs) != 1 || cs[0].Secure || cs[0].Value != masto.Host {
		t.Errorf("plain HTTP cookie %+v", cs)
	}
}

// TestInteractIsNoOpenRedirect: /interact redirects only the follow box submitted from one of our pages, to the
// host typed into it. The same URL reached from elsewhere (a link on another site, a server fetching a keyId or a
// note id an attacker named) gets the form again, 403, without a Location: our host cannot be made to redirect to
// another host by a URL alone.
func TestInteractIsNoOpenRedirect(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newInteractSite(t, store, testBase, time.Second).Handler()
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
	masto := fedtest.NewInstance(t, "mastodon")
	masto.RunAs(fedtest.SoftMastodon)
	ours := "/interact?instance=" + url.QueryEscape(masto.Host) + "&uri=" + url.QueryEscape(u.Memo())
	for _, hv := range []string{"Sec-Fetch-Site: same-origin", "Referer: " + u.Memo()} {
		r := get(t, h, ours, hv)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != masto.Base+"/authorize_interaction?uri="+url.QueryEscape(u.Memo()) {
			t.Errorf("%s: %d to %q", hv, r.Status, r.Header.Get("Location"))
		}
	}
	// An instance we could not look up is not redirected to either: its page shows the URL to copy.
	r = get(t, h, target, "Sec-Fetch-Site: same-origin")
	if r.Status != http.StatusOK || r.Header.Get("Location") != "" {
		t.Errorf("unknown instance: %d to %q", r.Status, r.Header.Get("Location"))
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
