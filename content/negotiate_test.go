package content

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// capturedAccept reads the Accept header of a request GoToSocial sent to a peer (testdata/activitypub/
// gotosocial-live, captured on loopback).
func capturedAccept(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "activitypub", "gotosocial-live", "gets", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Accept: "); ok {
			return v
		}
	}
	t.Fatalf("%s has no Accept header", name)
	return ""
}

func accepting(values ...string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "https://memo.example/memo", nil)
	for _, v := range values {
		r.Header.Add("Accept", v)
	}
	return r
}

// What peers and browsers really send: every fediverse server gets the JSON, every browser and a bare */* the page.
func TestWantsActivityJSONWithRealAcceptHeaders(t *testing.T) {
	json := []struct{ who, accept string }{
		{"GoToSocial, an actor (captured)", capturedAccept(t, "GET_users_alice.headers")},
		{"GoToSocial, a status (captured)", capturedAccept(t, "GET_users_alice_statuses_1.headers")},
		// Mastodon app/helpers/jsonld_helper.rb build_request.
		{"Mastodon", "application/activity+json, application/ld+json"},
		// Misskey packages/backend/src/core/HttpRequestService.ts getActivityJson.
		{"Misskey", `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`},
		{"Pleroma", "application/activity+json"},
		{"the ActivityPub profile alone", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`},
		{"JSON with HTML far behind", "application/activity+json, text/html;q=0.1"},
		{"upper case", "Application/Activity+JSON"},
		{"plain JSON", "application/json"},
	}
	for _, c := range json {
		if !WantsActivityJSON(accepting(c.accept)) {
			t.Errorf("%s (%q) got the page, want the JSON", c.who, c.accept)
		}
	}
	page := []struct{ who, accept string }{
		{"Firefox", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		{"Chrome", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"},
		{"curl", "*/*"},
		{"no Accept header", ""},
		{"HTML first on a tie", "text/html, application/activity+json"},
		{"HTML preferred by weight", "application/activity+json;q=0.5, text/html"},
		{"nonsense", ";;;,=="},
	}
	for _, c := range page {
		if WantsActivityJSON(accepting(c.accept)) {
			t.Errorf("%s (%q) got the JSON, want the page", c.who, c.accept)
		}
	}
}

// q=0 means "not acceptable" (RFC 9110, 12.4.2): a client that refuses JSON never gets it, even when it names
// nothing else.
func TestWantsActivityJSONRefusedWithQZero(t *testing.T) {
	for _, accept := range []string{"application/activity+json;q=0", "application/activity+json;q=0.0, */*", "application/json;q=0, text/plain", "application/activity+json;q=bogus"} {
		if WantsActivityJSON(accepting(accept)) {
			t.Errorf("%q got the JSON", accept)
		}
	}
}

// A client may send Accept as several header lines; they are one list (RFC 9110, 5.3).
func TestWantsActivityJSONReadsEveryAcceptLine(t *testing.T) {
	if !WantsActivityJSON(accepting("text/html;q=0.1", "application/activity+json")) {
		t.Error("JSON on a second Accept line, preferred, was not seen")
	}
	if WantsActivityJSON(accepting("text/html", "application/activity+json")) {
		t.Error("a tie across lines goes to the first listed, the page")
	}
}
