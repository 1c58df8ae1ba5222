package inbox

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// An actor's Update cannot take another actor's key id: a key is accepted only on the actor's host, as the
// actor's own, and one actor holds a key id. The victim's cached profile and key stay as they were, and the
// victim's next signed request is still accepted.
func TestActorUpdateCannotTakeAnotherKey(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		home, evil := fedtest.NewInstance(t, "home"), fedtest.NewInstance(t, "evil")
		victim, neighbour, stranger := home.NewActor("victim"), home.NewActor("neighbour"), evil.NewActor("mallory")
		like := func(a *fedtest.Actor) []byte {
			return a.Shape(t, fedtest.Fixture(t, "mastodon/like.json"), fedtest.Target{Object: h.urls.Memo()})
		}
		for _, a := range []*fedtest.Actor{victim, neighbour, stranger} {
			fedtest.MustAccept(t, a.Post(t, h.sharedInbox(), like(a), fedtest.SignOptions{}))
		}
		h.process()
		cachedVictim, err := store.Actor(ctx, victim.IRI)
		if err != nil || cachedVictim.KeyID != victim.KeyID {
			t.Fatalf("victim not cached with its key: %+v, %v", cachedVictim, err)
		}

		// takeover is a's Update of itself publishing key (a's own PEM) under keyID with owner.
		takeover := func(a *fedtest.Actor, keyID, owner string) []byte {
			var doc map[string]any
			if err := json.Unmarshal(a.Document(), &doc); err != nil {
				t.Fatal(err)
			}
			pem, err := httpsign.PublicKeyPEM(&a.Key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			doc["publicKey"] = map[string]any{"id": keyID, "owner": owner, "publicKeyPem": pem}
			doc["name"] = "Taken over"
			return activityOf(t, a, "Update", doc)
		}
		cases := []struct {
			name   string
			sender *fedtest.Actor
			body   []byte
			reason string
		}{
			{"a stranger names the victim's key", stranger, takeover(stranger, victim.KeyID, stranger.IRI), "not on the actor's host"},
			{"a stranger names the victim's key and owner", stranger, takeover(stranger, victim.KeyID, victim.IRI), "not on the actor's host"},
			{"a neighbour names the victim's key", neighbour, takeover(neighbour, victim.KeyID, neighbour.IRI), "belongs to " + victim.IRI},
			{"a neighbour names the victim as the owner", neighbour, takeover(neighbour, victim.KeyID, victim.IRI), "owned by " + victim.IRI},
			{"a key without owner outside the actor's IRI", neighbour, takeover(neighbour, home.Base+"/keys/1", ""), "names no owner"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := h.counts()
				beforeSender, err := store.Actor(ctx, c.sender.IRI)
				if err != nil {
					t.Fatal(err)
				}
				resp := c.sender.Post(t, h.sharedInbox(), c.body, fedtest.SignOptions{})
				h.process()
				if resp.Status != http.StatusForbidden || !strings.Contains(resp.Body, c.reason) {
					t.Fatalf("status %d %q, want 403 saying %q", resp.Status, strings.TrimSpace(resp.Body), c.reason)
				}
				after := h.counts()
				before["refused"]++
				sameState(t, c.name, before, after)
				if got, err := store.Actor(ctx, c.sender.IRI); err != nil || got.KeyID != beforeSender.KeyID || got.PublicKeyPEM != beforeSender.PublicKeyPEM || got.DisplayName != beforeSender.DisplayName {
					t.Errorf("the sender's cached profile changed: %+v, %v", got, err)
				}
				got, err := store.Actor(ctx, victim.IRI)
				if err != nil || got.KeyID != cachedVictim.KeyID || got.PublicKeyPEM != cachedVictim.PublicKeyPEM || got.Raw != cachedVictim.Raw {
					t.Errorf("the victim's cached profile or key changed: %+v, %v", got, err)
				}
				if holder, err := store.ActorByKeyID(ctx, victim.KeyID); err != nil || holder.IRI != victim.IRI {
					t.Errorf("key %s now resolves to %s, %v", victim.KeyID, holder.IRI, err)
				}
			})
		}
		// The victim still verifies: its next signed request is accepted with the cached key.
		fedtest.MustAccept(t, victim.Post(t, h.sharedInbox(), activityOf(t, victim, "Announce", h.urls.Memo()), fedtest.SignOptions{}))

		// An honest Update (own key, own host) still goes through.
		honest := takeover(neighbour, neighbour.KeyID, neighbour.IRI)
		fedtest.MustAccept(t, neighbour.Post(t, h.sharedInbox(), honest, fedtest.SignOptions{}))
		h.process()
		if got, err := store.Actor(ctx, neighbour.IRI); err != nil || got.DisplayName != "Taken over" || got.KeyID != neighbour.KeyID {
			t.Fatalf("an honest Update was not applied: %+v, %v", got, err)
		}
	})
}
