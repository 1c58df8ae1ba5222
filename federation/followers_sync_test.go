package federation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// xorSHA256 is the FEP's formula written out again, independently of outbox.FollowersDigest.
func xorSHA256(iris ...string) string {
	out := make([]byte, sha256.Size)
	for _, iri := range iris {
		sum := sha256.Sum256([]byte(iri))
		for i, b := range sum {
			out[i] ^= b
		}
	}
	return hex.EncodeToString(out)
}

// syncParams reads a Collection-Synchronization header (the signature-parameters syntax).
func syncParams(t *testing.T, v string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			t.Fatalf("header %q: part %q", v, part)
		}
		out[k] = strings.Trim(val, `"`)
	}
	return out
}

// TestFollowersSynchronization: through the running server, deliveries addressed to our followers carry the
// Collection-Synchronization header with the digest of the followers on the receiving server, other deliveries
// (the Accept of a Follow) carry none, and the partial collection is served to a signed GET from that server only,
// listing only its followers.
func TestFollowersSynchronization(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		urls := startServer(t, store, Config{Version: "test"})

		one, two := fedtest.NewInstance(t, "mastodon"), fedtest.NewInstance(t, "other")
		a1, a2, b1 := one.NewActor("a1"), one.NewActor("a2"), two.NewActor("b1")
		for _, a := range []*fedtest.Actor{a1, a2, b1} {
			follow := a.Shape(t, fedtest.Fixture(t, "mastodon/follow.json"), fedtest.Target{Object: urls.Actor()})
			fedtest.MustAccept(t, a.Post(t, urls.SharedInbox(), follow, fedtest.SignOptions{}))
		}
		accepts := one.WaitReceived(t, 2, 10*time.Second)
		two.WaitReceived(t, 1, 10*time.Second)
		for _, r := range accepts {
			if v := r.Header.Get("Collection-Synchronization"); v != "" {
				t.Errorf("Accept carries Collection-Synchronization %q; it is not addressed to the followers", v)
			}
		}

		// An announcement to the followers, delivered to each server's shared inbox.
		body, _ := json.Marshal(map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": urls.Activity(4242), "type": "Create",
			"actor": urls.Actor(), "to": []string{content.PublicAudience}, "cc": []string{urls.Followers()},
			"object": map[string]any{"id": urls.Note("sync"), "type": "Note", "content": "hello"},
		})
		if err := store.InsertActivity(ctx, storage.Activity{IRI: urls.Activity(4242), Type: "Create", ObjectIRI: urls.Note("sync"), Body: string(body)},
			[]storage.Recipient{{Inbox: one.SharedInbox(), Domain: one.Host}, {Inbox: two.SharedInbox(), Domain: two.Host}}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			inst *fedtest.Instance
			n    int
			want string
		}{{one, 3, xorSHA256(a1.IRI, a2.IRI)}, {two, 2, xorSHA256(b1.IRI)}} {
			got := c.inst.WaitReceived(t, c.n, 10*time.Second)
			last := got[c.n-1]
			if last.SigErr != nil {
				t.Errorf("%s: delivery signature: %v", c.inst.Name, last.SigErr)
			}
			p := syncParams(t, last.Header.Get("Collection-Synchronization"))
			if p["collectionId"] != urls.Followers() || p["url"] != urls.Actor()+"/followers_synchronization" || p["digest"] != c.want {
				t.Errorf("%s: Collection-Synchronization %v, want digest %s", c.inst.Name, p, c.want)
			}
		}

		get := func(a *fedtest.Actor, signed bool) (int, map[string]any) {
			req, _ := http.NewRequest(http.MethodGet, urls.Actor()+"/followers_synchronization", nil)
			req.Header.Set("Accept", "application/activity+json")
			if signed {
				if err := httpsign.SignRequest(req, nil, a.Key, a.KeyID, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m map[string]any
			json.NewDecoder(resp.Body).Decode(&m)
			return resp.StatusCode, m
		}
		if status, _ := get(a1, false); status != http.StatusUnauthorized {
			t.Errorf("unsigned GET of the partial collection: %d, want 401", status)
		}
		// A key on a server with no follower here: an empty list, and its key is never fetched.
		stranger := fedtest.NewInstance(t, "stranger").NewActor("s")
		if status, m := get(stranger, true); status != http.StatusOK || m["totalItems"] != float64(0) {
			t.Errorf("a stranger's signed GET: %d %v, want 200 and an empty collection", status, m)
		}
		if n := len(stranger.Instance.Gets()); n != 0 {
			t.Errorf("a stranger's signed GET made us fetch %d documents from their server", n)
		}
		// A forged signature with a follower's key id is refused.
		forged := fedtest.NewInstance(t, "forger").NewActor("a1")
		forged.KeyID = a1.KeyID
		if status, _ := get(forged, true); status != http.StatusUnauthorized {
			t.Errorf("a signature by another key under a follower's key id: %d, want 401", status)
		}
		for _, c := range []struct {
			a    *fedtest.Actor
			want []string
		}{{a2, []string{a1.IRI, a2.IRI}}, {b1, []string{b1.IRI}}} {
			status, m := get(c.a, true)
			if status != http.StatusOK {
				t.Fatalf("signed GET by %s: %d %v", c.a.IRI, status, m)
			}
			var items []string
			for _, it := range m["orderedItems"].([]any) {
				items = append(items, it.(string))
			}
			sort.Strings(items)
			sort.Strings(c.want)
			if strings.Join(items, " ") != strings.Join(c.want, " ") {
				t.Errorf("partial collection for %s: %v, want %v", c.a.Instance.Name, items, c.want)
			}
		}
	})
}
