package fedtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/internal/testwait"
)

func TestInstanceServesActorsAndVerifiesDeliveries(t *testing.T) {
	inst := fedtest.NewInstance(t, "mastodon")
	alice := inst.NewActor("alice")
	sender := fedtest.NewInstance(t, "sender").NewActor("memo")
	inst.TrustKey(sender.KeyID, &sender.Key.PublicKey)
	client := fetch.New(fetch.Config{AllowPrivate: true, UserAgent: "memo/test", Key: sender.Key, KeyID: sender.KeyID, Timeout: 2 * time.Second})
	ctx := context.Background()

	b, err := client.Get(ctx, inst.Base+"/.well-known/webfinger?resource=acct:alice@"+inst.Host)
	if err != nil {
		t.Fatal(err)
	}
	var jrd struct {
		Links []struct{ Rel, Href string }
	}
	json.Unmarshal(b, &jrd)
	if len(jrd.Links) == 0 || jrd.Links[0].Href != alice.IRI {
		t.Errorf("webfinger: %s", b)
	}
	doc, err := client.Get(ctx, alice.IRI)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := fetch.ParseActor(doc)
	if err != nil || parsed.Actor.Inbox != alice.Inbox || parsed.KeyID != alice.KeyID {
		t.Errorf("actor: %+v %v", parsed, err)
	}

	// A signed delivery verifies; one signed with a key the instance does not know for that keyId does not.
	if _, err := client.Post(ctx, alice.Inbox, []byte(`{"type":"Accept"}`)); err != nil {
		t.Fatalf("signed POST: %v", err)
	}
	forger := fetch.New(fetch.Config{AllowPrivate: true, UserAgent: "memo/test", Key: alice.Key, KeyID: sender.KeyID})
	if code, _ := forger.Post(ctx, alice.Inbox, []byte(`{"type":"Accept"}`)); code != http.StatusUnauthorized {
		t.Errorf("forged POST answered %d", code)
	}
	got := inst.Received()
	if len(got) != 2 || got[0].SigErr != nil || got[0].KeyID != sender.KeyID || got[1].SigErr == nil {
		t.Errorf("received: %+v", got)
	}

	// Failures: a status with Retry-After a given number of times, then normal service; a hang ends with the
	// client's timeout.
	inst.SetFailure(fedtest.Failure{Status: http.StatusTooManyRequests, RetryAfter: "30", Times: 1})
	var se *fetch.StatusError
	if _, err := client.Post(ctx, inst.SharedInbox(), []byte(`{}`)); !errors.As(err, &se) || se.Code != 429 || se.RetryAfter != "30" {
		t.Errorf("first POST: %v", err)
	}
	if _, err := client.Post(ctx, inst.SharedInbox(), []byte(`{}`)); err != nil {
		t.Errorf("second POST: %v", err)
	}
	inst.SetFailure(fedtest.Failure{Hang: true})
	if _, err := client.Post(ctx, inst.SharedInbox(), []byte(`{}`)); err == nil {
		t.Errorf("hung POST succeeded")
	}
	alice.Gone.Store(true)
	if _, err := client.Get(ctx, alice.IRI); !fetch.Gone(err) {
		t.Errorf("gone actor: %v", err)
	}
}

func TestAuthorizedFetch(t *testing.T) {
	inst := fedtest.NewInstance(t, "gotosocial")
	inst.AuthorizedFetch.Store(true)
	alice := inst.NewActor("alice")
	me := fedtest.NewInstance(t, "ours").NewActor("memo")
	inst.TrustKey(me.KeyID, &me.Key.PublicKey)
	ctx := context.Background()
	var se *fetch.StatusError
	if _, err := fetch.New(fetch.Config{AllowPrivate: true, UserAgent: "x"}).Get(ctx, alice.IRI); !errors.As(err, &se) || se.Code != 401 {
		t.Errorf("unsigned GET: %v, want 401", err)
	}
	if _, err := fetch.New(fetch.Config{AllowPrivate: true, UserAgent: "x", Key: me.Key, KeyID: me.KeyID}).Get(ctx, alice.IRI); err != nil {
		t.Errorf("signed GET: %v", err)
	}
	if _, err := fetch.New(fetch.Config{AllowPrivate: true}).Get(ctx, inst.Base+"/.well-known/webfinger?resource=acct:alice@"+inst.Host); err != nil {
		t.Errorf("webfinger needs no signature: %v", err)
	}
}

func TestShapeKeepsTheImplementationsShape(t *testing.T) {
	inst := fedtest.NewInstance(t, "pleroma")
	a := inst.NewActor("alice")
	like := a.Shape(t, fedtest.Fixture(t, "misskey/like-misskey-reaction.json"), fedtest.Target{Object: "https://memo.example/memo"})
	var m map[string]any
	json.Unmarshal(like, &m)
	if m["actor"] != a.IRI || m["object"] != "https://memo.example/memo" || m["_misskey_reaction"] != "pudding" {
		t.Errorf("like: %s", like)
	}
	undo := a.Shape(t, fedtest.Fixture(t, "mastodon/undo-like-iri-object.json"), fedtest.Target{Undone: like})
	json.Unmarshal(undo, &m)
	if m["object"] != jsonString(like, "id") || m["signature"] != nil {
		t.Errorf("undo by IRI: %s", undo)
	}
	undo = a.Shape(t, fedtest.Fixture(t, "mastodon/undo-like.json"), fedtest.Target{Undone: like})
	json.Unmarshal(undo, &m)
	if inner, ok := m["object"].(map[string]any); !ok || inner["id"] != jsonString(like, "id") {
		t.Errorf("inline undo: %s", undo)
	}
}

func jsonString(b []byte, key string) string {
	var m map[string]any
	json.Unmarshal(b, &m)
	s, _ := m[key].(string)
	return s
}

// ServeAs serves a document with the Content-Type given; Redirect answers with a redirect to any URL.
func TestServeAsAndRedirect(t *testing.T) {
	inst := fedtest.NewInstance(t, "big")
	other := fedtest.NewInstance(t, "other")
	inst.ServeAs("/uploads/a.json", "text/plain; charset=utf-8", []byte(`{"id":"x"}`))
	inst.Redirect("/go", other.Base+"/there")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(url string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("User-Agent", "memo/test")
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(inst.Base + "/uploads/a.json"); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("ServeAs: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp := get(inst.Base + "/go"); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != other.Base+"/there" {
		t.Errorf("Redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Failures on one path, extra headers, a hold the test releases, and the tally counted on arrival and on answer;
// a further check refuses as a bad signature does, before any failure applies.
func TestFailuresTallyAndCheck(t *testing.T) {
	inst := fedtest.NewInstance(t, "remote")
	sender := fedtest.NewInstance(t, "sender").NewActor("memo")
	inst.TrustKey(sender.KeyID, &sender.Key.PublicKey)
	client := fetch.New(fetch.Config{AllowPrivate: true, UserAgent: "memo/test", Key: sender.Key, KeyID: sender.KeyID, Timeout: 5 * time.Second})
	ctx := context.Background()
	post := func(path, body string) (int, error) {
		return client.Post(ctx, inst.Base+path, []byte(body))
	}

	inst.SetFailure(fedtest.Failure{Status: http.StatusGone, Path: "/users/a/inbox"})
	if code, _ := post("/users/a/inbox", `{"id":"x/1","type":"Update","object":{"type":"Article"}}`); code != http.StatusGone {
		t.Errorf("failing path answered %d, want 410", code)
	}
	if code, err := post("/inbox", `{"id":"x/1","type":"Update","object":{"type":"Article"}}`); code != http.StatusAccepted || err != nil {
		t.Errorf("other path answered %d, %v; want 202", code, err)
	}

	inst.SetFailure(fedtest.Failure{Status: http.StatusFound, Header: http.Header{"Location": {"http://elsewhere.example/inbox"}}, Times: 1})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(sender.NewRequest(t, inst.SharedInbox(), []byte(`{"id":"x/2","type":"Delete","object":"x/0"}`), fedtest.SignOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://elsewhere.example/inbox" {
		t.Errorf("redirect: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	release := make(chan struct{})
	inst.SetFailure(fedtest.Failure{Hold: func(ctx context.Context) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}})
	answered := make(chan int)
	go func() {
		code, _ := post("/inbox", `{"id":"x/3","type":"Create","object":{"type":"Note"}}`)
		answered <- code
	}()
	testwait.Until(t, "the held request to arrive", func() bool { return inst.Tally().Arrived["/inbox"] == 3 })
	held := inst.Tally()
	if held.Arrived["/inbox"] != 3 || held.Answered["/inbox"] != 2 {
		t.Errorf("while held: arrived %v answered %v; want 3 arrived, 2 answered on /inbox", held.Arrived, held.Answered)
	}
	close(release)
	if code := <-answered; code != http.StatusAccepted {
		t.Errorf("released request answered %d", code)
	}

	// A request the check refuses gets 401 at once, though the inboxes are set to answer 500, and is not counted.
	inst.SetFailure(fedtest.Failure{Status: http.StatusInternalServerError})
	inst.SetCheck(func(_ *http.Request, body []byte) error {
		if strings.Contains(string(body), "forbidden") {
			return errors.New("forbidden word")
		}
		return nil
	})
	if code, _ := post("/inbox", `{"id":"x/4","type":"Create","object":{"type":"Note","content":"forbidden"}}`); code != http.StatusUnauthorized {
		t.Errorf("refused by the check: %d, want 401", code)
	}
	if got := inst.Refused(); len(got) != 1 || !strings.Contains(got[0], "/inbox: forbidden word") {
		t.Errorf("refused: %q", got)
	}
	tally := inst.Tally()
	if tally.Total() != 4 || tally.Activities["x/1 /inbox"] != 1 || tally.Activities["x/1 /users/a/inbox"] != 1 ||
		tally.IDs()["x/1"] != 2 || tally.Kinds["Update Article"] != 2 || tally.Kinds["Delete "] != 1 || tally.Kinds["Create Note"] != 1 {
		t.Errorf("tally: %+v", tally)
	}
}

// MemoDelivery holds a request to what our worker sends: a request signed over other headers is refused.
func TestMemoDeliveryCheck(t *testing.T) {
	inst := fedtest.NewInstance(t, "remote")
	sender := fedtest.NewInstance(t, "sender").NewActor("memo")
	inst.TrustKey(sender.KeyID, &sender.Key.PublicKey)
	inst.SetCheck(fedtest.MemoDelivery(sender.KeyID))
	body := []byte(`{"id":"x/1","type":"Update"}`)
	ours := fetch.New(fetch.Config{AllowPrivate: true, UserAgent: "memo/test", Key: sender.Key, KeyID: sender.KeyID})
	if code, err := ours.Post(context.Background(), inst.SharedInbox(), body); code != http.StatusAccepted || err != nil {
		t.Fatalf("our delivery: %d, %v (%v)", code, err, inst.Refused())
	}
	// Mastodon signs content-type too: a valid signature, but not what our worker sends.
	req := sender.NewRequest(t, inst.SharedInbox(), body, fedtest.SignOptions{})
	req.Header.Set("User-Agent", "memo/test")
	if resp := fedtest.Do(t, req); resp.Status != http.StatusUnauthorized {
		t.Errorf("a Mastodon-signed request answered %d, want 401", resp.Status)
	}
	if got := inst.Refused(); len(got) != 1 || !strings.Contains(got[0], `signed headers "(request-target) host date digest content-type"`) {
		t.Errorf("refused: %q", got)
	}
}
