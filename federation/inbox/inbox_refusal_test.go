package inbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// expectRefused sends req and checks the status, that the answer says why, that a refusal was recorded and
// that nothing else changed. It returns the recorded reason.
func (h *inboxHarness) expectRefused(t *testing.T, req *http.Request, status int) string {
	t.Helper()
	h.process() // what earlier requests left pending is not this request's doing
	before := h.counts()
	resp := fedtest.Do(t, req)
	if resp.Status != status {
		t.Fatalf("status %d (%s), want %d", resp.Status, strings.TrimSpace(resp.Body), status)
	}
	if strings.TrimSpace(resp.Body) == "" {
		t.Errorf("refusal without a reason")
	}
	h.process()
	after := h.counts()
	for table, n := range before {
		want := n
		if table == "refused" {
			want = n + 1
		}
		if after[table] != want {
			t.Errorf("%s: %d rows after the refusal, want %d", table, after[table], want)
		}
	}
	refusals, err := h.store.Refusals(context.Background(), 1)
	if err != nil || len(refusals) != 1 || refusals[0].Status != status {
		t.Fatalf("recorded refusal: %+v, %v", refusals, err)
	}
	return refusals[0].Reason
}

var sigValue = regexp.MustCompile(`signature="[^"]*"`)

func TestInboxRefusals(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "mastodon")
		inst2 := fedtest.NewInstance(t, "elsewhere")
		alice, bob, carol := inst.NewActor("alice"), inst.NewActor("bob"), inst2.NewActor("carol")
		followFix := fedtest.Fixture(t, "mastodon/follow.json")
		follow := alice.Shape(t, followFix, fedtest.Target{Object: h.urls.Actor()})
		signed := func(body []byte, o fedtest.SignOptions) *http.Request {
			return alice.NewRequest(t, h.sharedInbox(), body, o)
		}

		// Bob follows, so that there is something for alice to try to undo.
		bobFollow := bob.Shape(t, followFix, fedtest.Target{Object: h.urls.Actor()})
		if resp := bob.Post(t, h.sharedInbox(), bobFollow, fedtest.SignOptions{}); resp.Status != http.StatusAccepted {
			t.Fatalf("bob's Follow: %d %s", resp.Status, resp.Body)
		}
		h.process()
		// Blocked domain.
		blocked := fedtest.NewInstance(t, "blocked")
		dave := blocked.NewActor("dave")
		if _, err := store.BlockAndHide(context.Background(), storage.BlockDomain, blocked.Host, "spam"); err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name   string
			req    func() *http.Request
			status int
		}{
			{"unsigned", func() *http.Request {
				r := signed(follow, fedtest.SignOptions{})
				r.Header.Del("Signature")
				return r
			}, 401},
			{"bad signature", func() *http.Request {
				r := signed(follow, fedtest.SignOptions{})
				forged := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 256))
				r.Header.Set("Signature", sigValue.ReplaceAllString(r.Header.Get("Signature"), `signature="`+forged+`"`))
				return r
			}, 401},
			{"signed with another actor's key under the actor's keyId", func() *http.Request {
				return signed(follow, fedtest.SignOptions{Key: bob.Key})
			}, 401},
			{"signed by another actor of the same host", func() *http.Request {
				return bob.NewRequest(t, h.sharedInbox(), follow, fedtest.SignOptions{})
			}, 401},
			{"keyId on another host than the actor", func() *http.Request {
				return carol.NewRequest(t, h.sharedInbox(), follow, fedtest.SignOptions{})
			}, 401},
			{"Digest mismatch", func() *http.Request {
				r := signed(follow, fedtest.SignOptions{})
				other := bytes.Replace(follow, []byte(`"Follow"`), []byte(`"Block" `), 1)
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(other)), int64(len(other))
				return r
			}, 401},
			{"missing Digest", func() *http.Request { return signed(follow, fedtest.SignOptions{OmitDigest: true}) }, 401},
			{"Date too old", func() *http.Request {
				return signed(follow, fedtest.SignOptions{Date: time.Now().Add(-2 * time.Hour)})
			}, 401},
			{"Date too far ahead", func() *http.Request {
				return signed(follow, fedtest.SignOptions{Date: time.Now().Add(2 * time.Hour)})
			}, 401},
			{"signed headers without digest", func() *http.Request {
				return signed(follow, fedtest.SignOptions{Headers: []string{"(request-target)", "host", "date"}})
			}, 401},
			{"signed headers without host", func() *http.Request {
				return signed(follow, fedtest.SignOptions{Headers: []string{"(request-target)", "date", "digest"}})
			}, 401},
			{"Host of another server", func() *http.Request {
				r := signed(follow, fedtest.SignOptions{})
				r.Host = "memo.example"
				return r
			}, 400},
			{"body over the limit", func() *http.Request {
				big := append([]byte(`{"id":"`+alice.IRI+`/x","pad":"`), bytes.Repeat([]byte("a"), DefaultInboxMaxBody)...)
				return signed(append(big, `"}`...), fedtest.SignOptions{})
			}, 413},
			{"invalid JSON", func() *http.Request { return signed([]byte(`{"id": "x", "type": `), fedtest.SignOptions{}) }, 400},
			{"JSON nested 10,000 deep", func() *http.Request {
				deep := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
				return signed([]byte(deep), fedtest.SignOptions{})
			}, 400},
			{"wrong content type", func() *http.Request {
				return signed(follow, fedtest.SignOptions{ContentType: "text/plain"})
			}, 415},
			{"Follow of another actor", func() *http.Request {
				return signed(alice.Shape(t, followFix, fedtest.Target{Object: inst.Base + "/users/someone"}), fedtest.SignOptions{})
			}, 400},
			{"Follow of another actor here", func() *http.Request {
				return signed(alice.Shape(t, followFix, fedtest.Target{Object: h.urls.Base + "/users/other"}), fedtest.SignOptions{})
			}, 400},
			{"Undo of someone else's Follow (inline)", func() *http.Request {
				return signed(alice.Shape(t, fedtest.Fixture(t, "mastodon/undo-follow.json"), fedtest.Target{Undone: bobFollow}), fedtest.SignOptions{})
			}, 403},
			{"Undo of someone else's Follow (by id)", func() *http.Request {
				return signed(alice.Shape(t, fedtest.Fixture(t, "mastodon/undo-like-iri-object.json"), fedtest.Target{Undone: bobFollow}), fedtest.SignOptions{})
			}, 403},
			{"Like of an object not ours", func() *http.Request {
				return signed(alice.Shape(t, fedtest.Fixture(t, "mastodon/like.json"), fedtest.Target{Object: inst.Base + "/notes/1"}), fedtest.SignOptions{})
			}, 400},
			{"Like of one of our addresses that does not exist", func() *http.Request {
				return signed(alice.Shape(t, fedtest.Fixture(t, "mastodon/like.json"), fedtest.Target{Object: h.urls.Note("nope")}), fedtest.SignOptions{})
			}, 400},
			{"Announce of a revision that does not exist", func() *http.Request {
				return signed(alice.Shape(t, fedtest.Fixture(t, "mastodon/announce-signed.json"), fedtest.Target{Object: h.urls.Revision(99)}), fedtest.SignOptions{})
			}, 400},
			{"Delete of another host's object", func() *http.Request {
				return signed(alice.Shape(t, fedtest.Fixture(t, "mastodon/delete-note-tombstone-signed.json"), fedtest.Target{Object: inst2.Base + "/notes/1"}), fedtest.SignOptions{})
			}, 403},
			{"blocked domain", func() *http.Request {
				return dave.NewRequest(t, h.sharedInbox(), dave.Shape(t, followFix, fedtest.Target{Object: h.urls.Actor()}), fedtest.SignOptions{})
			}, 403},
			{"inbox of another actor", func() *http.Request {
				return alice.NewRequest(t, h.urls.Base+"/users/other/inbox", follow, fedtest.SignOptions{})
			}, 404},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if c.status == 404 {
					// Not an inbox at all: answered before any check, nothing recorded.
					before := h.counts()
					if resp := fedtest.Do(t, c.req()); resp.Status != 404 {
						t.Fatalf("status %d, want 404", resp.Status)
					}
					if after := h.counts(); after["refused"] != before["refused"] || after["inbox_activities"] != before["inbox_activities"] {
						t.Errorf("counts changed: %v → %v", before, after)
					}
					return
				}
				h.expectRefused(t, c.req(), c.status)
			})
		}

		// After all that, the genuine request is accepted: the refusals were not caused by the fixture itself.
		if resp := alice.Post(t, h.actorInbox(), follow, fedtest.SignOptions{}); resp.Status != http.StatusAccepted {
			t.Fatalf("genuine Follow: %d %s", resp.Status, resp.Body)
		}
	})
}

// TestInboxKeyFetchPolicy runs with private addresses refused, except the one simulated instance whose actors
// sign: a key fetch that redirects to loopback or to the metadata address must be refused (the redirect leaves
// the key's origin), as must an oversized actor document and a server that never answers (within the client's
// timeout).
func TestInboxKeyFetchPolicy(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		inst := fedtest.NewInstance(t, "mastodon")
		target := fedtest.NewInstance(t, "loopback-target")
		h := newInboxHarness(t, store, inboxHarnessOpts{private: true, fetch: fetch.Config{Allow: allowExactly(t, inst.Server), Timeout: time.Second}})
		followFix := fedtest.Fixture(t, "mastodon/follow.json")

		redirect := func(to string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusFound) }
		}
		cases := []struct {
			name, want string
			handler    http.HandlerFunc
		}{
			{"key fetch redirects to another loopback port", "leaves the origin", redirect(target.Base + "/users/x")},
			{"key fetch redirects to 169.254.169.254", "leaves the origin", redirect("http://169.254.169.254/latest/meta-data/")},
			{"actor document over the size limit", "too large", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/activity+json")
				w.Write([]byte(`{"id":"x","pad":"`))
				w.Write(bytes.Repeat([]byte("a"), fetch.DefaultMaxBody))
				w.Write([]byte(`"}`))
			}},
			{"actor host never answers", "Timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a := inst.NewActor("a" + string(rune('a'+i)))
				inst.Handle("/users/"+a.Username, c.handler)
				req := a.NewRequest(t, h.sharedInbox(), a.Shape(t, followFix, fedtest.Target{Object: h.urls.Actor()}), fedtest.SignOptions{})
				start := time.Now()
				reason := h.expectRefused(t, req, http.StatusUnauthorized)
				if !strings.Contains(reason, c.want) {
					t.Errorf("reason %q does not say %q", reason, c.want)
				}
				if took := time.Since(start); took > 15*time.Second {
					t.Errorf("refusal took %s; the fetch timeout is 1 s", took)
				}
			})
		}
		// The same instance, with a well-behaved actor, is reachable: only the bad hops were refused.
		ok := inst.NewActor("fine")
		if resp := ok.Post(t, h.sharedInbox(), ok.Shape(t, followFix, fedtest.Target{Object: h.urls.Actor()}), fedtest.SignOptions{}); resp.Status != http.StatusAccepted {
			t.Fatalf("allowed instance: %d %s", resp.Status, resp.Body)
		}
	})
}
