package inbox

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

const (
	apType = "application/activity+json"
	ldType = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
)

// forgedActor is an actor document with id and the key keyID, whose public key is signer's.
func forgedActor(t *testing.T, id, keyID string, signer *fedtest.Actor) []byte {
	return fedtest.MustJSON(t, map[string]any{
		"@context": []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":       id, "type": "Person", "preferredUsername": "victim", "name": "Not the victim", "inbox": id + "/inbox",
		"publicKey": map[string]any{"id": keyID, "owner": id, "publicKeyPem": signer.PublicKeyPEM()},
	})
}

// TestInboxRefusesKeysServedElsewhere: a key document anywhere on a host (a user upload, a redirect, a document
// served as text/plain, a document claiming another actor's id) cannot speak for an actor of that host. Each
// forged request through the real inbox is refused with 401, and nothing changes: counts, and the victim's cached
// profile and key. The genuine shapes (Mastodon's #main-key, a bare key, GoToSocial's minimal actor at /main-key)
// still sign.
func TestInboxRefusesKeysServedElsewhere(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		big := fedtest.NewInstance(t, "big")
		evil := fedtest.NewInstance(t, "evil")
		victim := big.NewActor("victim")
		attacker := evil.NewActor("attacker") // signs every forged request with its own key
		like := func(actor string) []byte {
			return fedtest.MustJSON(t, map[string]any{
				"@context": "https://www.w3.org/ns/activitystreams", "id": big.NextID("likes"), "type": "Like",
				"actor": actor, "object": h.urls.Memo(),
			})
		}

		// The victim has interacted before: their profile and key are cached.
		h.send(t, victim, fedtest.Mastodon, like(victim.IRI))
		cached, err := store.Actor(ctx, victim.IRI)
		if err != nil || cached.PublicKeyPEM != victim.PublicKeyPEM() {
			t.Fatalf("victim not cached: %+v, %v", cached, err)
		}

		// What the attacker gets a big instance to serve.
		big.ServeAs("/uploads/actor.json", apType, forgedActor(t, victim.IRI, big.Base+"/uploads/actor.json", attacker))
		big.ServeAs("/uploads/key.json", apType, fedtest.MustJSON(t, map[string]any{
			"id": big.Base + "/uploads/key.json", "owner": victim.IRI, "publicKeyPem": attacker.PublicKeyPEM()}))
		big.ServeAs("/uploads/impostor", apType, forgedActor(t, victim.IRI, big.Base+"/uploads/impostor#main-key", attacker))
		big.ServeAs("/uploads/plain", "text/plain; charset=utf-8", forgedActor(t, big.Base+"/uploads/plain", big.Base+"/uploads/plain#main-key", attacker))
		big.ServeAs("/uploads/json", "application/json", forgedActor(t, big.Base+"/uploads/json", big.Base+"/uploads/json#main-key", attacker))
		big.Redirect("/redirect", evil.Base+"/victim.json")
		evil.ServeAs("/victim.json", apType, forgedActor(t, victim.IRI, big.Base+"/redirect", attacker))
		big.Redirect("/go", evil.Base+"/someone.json")
		evil.ServeAs("/someone.json", apType, forgedActor(t, big.Base+"/go", big.Base+"/go#main-key", attacker))

		cases := []struct{ name, actor, keyID, reason string }{
			{"a key document at another path of the victim's host, claiming the victim", victim.IRI, big.Base + "/uploads/actor.json", "publishes key"},
			{"a bare key at another path naming the victim as owner", victim.IRI, big.Base + "/uploads/key.json", "publishes key"},
			{"an actor whose id differs from its URL", victim.IRI, big.Base + "/uploads/impostor#main-key", "has id"},
			{"a key URL that redirects to another host, claiming the victim", victim.IRI, big.Base + "/redirect", "leaves the origin"},
			{"a #main-key URL that redirects to another host", big.Base + "/go", big.Base + "/go#main-key", "leaves the origin"},
			{"an actor served as text/plain", big.Base + "/uploads/plain", big.Base + "/uploads/plain#main-key", "application/ld+json with the ActivityStreams profile"},
			{"an actor served as application/json", big.Base + "/uploads/json", big.Base + "/uploads/json#main-key", "application/ld+json with the ActivityStreams profile"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				req := attacker.NewRequest(t, h.sharedInbox(), like(c.actor), fedtest.SignOptions{KeyID: c.keyID})
				reason := h.expectRefused(t, req, http.StatusUnauthorized)
				if !strings.Contains(reason, c.reason) {
					t.Errorf("reason %q does not say %q", reason, c.reason)
				}
				now, err := store.Actor(ctx, victim.IRI)
				if err != nil || now.PublicKeyPEM != cached.PublicKeyPEM || now.KeyID != cached.KeyID || now.DisplayName != cached.DisplayName || now.Raw != cached.Raw {
					t.Errorf("the victim's cached actor changed: %+v, %v", now, err)
				}
				if _, err := store.ActorByKeyID(ctx, c.keyID); err == nil {
					t.Errorf("key %s cached", c.keyID)
				}
			})
		}
		if n := h.count(`SELECT COUNT(*) FROM interactions WHERE actor_iri = ?`, victim.IRI); n != 1 {
			t.Errorf("interactions in the victim's name: %d, want their own 1", n)
		}

		// The genuine shapes still sign.
		masto := big.NewActor("mastodon")
		h.send(t, masto, fedtest.Mastodon, like(masto.IRI))
		bare := big.NewActor("bare")
		bare.UseBareKey()
		h.send(t, bare, fedtest.GoToSocial, like(bare.IRI))
		gts := big.NewActor("gts")
		gts.UseBareKey()
		big.ServeAs("/users/gts/main-key", ldType, fedtest.MustJSON(t, map[string]any{
			"@context": []string{"https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"},
			"id":       gts.IRI, "type": "Person", "preferredUsername": "gts",
			"publicKey": map[string]string{"id": gts.KeyID, "owner": gts.IRI, "publicKeyPem": gts.PublicKeyPEM()},
		}))
		h.send(t, gts, fedtest.GoToSocial, like(gts.IRI))
		for _, a := range []string{masto.IRI, bare.IRI, gts.IRI} {
			if got, err := store.Actor(ctx, a); err != nil || got.Inbox != a+"/inbox" {
				t.Errorf("genuine actor %s: %+v, %v", a, got, err)
			}
		}
	})
}

// TestForwardedNoteServedElsewhereRefused: a reply forwarded by a third party counts only as the document at its
// own URL on its own server. A note URL that redirects to another host, a note served as text/plain and a URL
// whose document has another id are refused at reception, and nothing is stored; a same-origin redirect to a
// document that is the note still signs.
func TestForwardedNoteServedElsewhereRefused(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		home := fedtest.NewInstance(t, "home")
		other := fedtest.NewInstance(t, "other")
		alice, relay := home.NewActor("alice"), other.NewActor("relay")
		sign := "<p>Je signe</p>"
		path := func(iri string) string { return strings.TrimPrefix(iri, home.Base) }

		cases := []struct {
			name, reason string
			serve        func(id string, note []byte)
		}{
			{"its URL redirects to another host", "leaves the origin", func(id string, note []byte) {
				other.ServeAs("/copy-of"+path(id), apType, note)
				home.Redirect(path(id), other.Base+"/copy-of"+path(id))
			}},
			{"served as text/plain", "application/ld+json with the ActivityStreams profile", func(id string, note []byte) { home.ServeAs(path(id), "text/plain", note) }},
			{"served as text/html", "application/ld+json with the ActivityStreams profile", func(id string, note []byte) { home.ServeAs(path(id), "text/html; charset=utf-8", note) }},
			{"its URL serves a document with another id", "has id", func(id string, note []byte) {
				var m map[string]any
				json.Unmarshal(note, &m)
				m["id"] = id + "-original"
				home.ServeAs(path(id), apType, fedtest.MustJSON(t, m))
			}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				id := home.NextID("notes")
				note := noteOf(alice, id, h.urls.Memo(), sign, publicTo(alice))
				c.serve(id, fedtest.MustJSON(t, note))
				before := h.signingState()
				resp := h.sendRefused(t, relay, activityOf(t, relay, "Create", note), fedtest.SignOptions{})
				if !strings.Contains(resp.Body, c.reason) {
					t.Errorf("refusal %q does not say %q", strings.TrimSpace(resp.Body), c.reason)
				}
				sameState(t, c.name, before, h.signingState())
			})
		}
		if n, err := signatureTotal(context.Background(), store); err != nil || n != 0 {
			t.Fatalf("signatures after the refusals: %d, %v", n, err)
		}

		// A redirect within the note's own origin, to a document that is the note: signs.
		id := home.NextID("notes")
		note := noteOf(alice, id, h.urls.Memo(), sign, publicTo(alice))
		home.ServeAs("/canonical"+path(id), ldType, fedtest.MustJSON(t, note))
		home.Redirect(path(id), home.Base+"/canonical"+path(id))
		h.send(t, relay, fedtest.Mastodon, activityOf(t, relay, "Create", note))
		if g := h.signatureOf(t, alice); !g.Standing() || g.NoteIRI != id {
			t.Fatalf("forwarded signature = %+v", g)
		}
	})
}

// TestRelayedReplyServedElsewhereRefused: a copy's relay counts a signature only from the reply at its own URL on
// the signer's server. A reply URL that redirects to another host, or a reply served as text/plain, is refused with
// 400 and nothing is recorded; the same reply served properly is counted.
func TestRelayedReplyServedElsewhereRefused(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		copyInst := fedtest.NewInstance(t, "copy")
		copyActor := copyInst.NewActor("memo")
		social := fedtest.NewInstance(t, "social")
		other := fedtest.NewInstance(t, "other")
		alice := social.NewActor("alice")
		h.send(t, copyActor, fedtest.Mastodon, copyActor.Shape(t, fedtest.Fixture(t, "mastodon/follow.json"), fedtest.Target{Object: h.urls.Actor()}))
		if _, err := store.Follower(ctx, copyActor.IRI); err != nil {
			t.Fatalf("the copy does not follow: %v", err)
		}
		relay := func(noteIRI string) *fedtest.Response {
			return copyActor.Post(t, h.sharedInbox(), fedtest.MustJSON(t, map[string]any{
				"@context": "https://www.w3.org/ns/activitystreams", "id": copyInst.NextID("relays"), "type": "Add",
				"actor": copyActor.IRI, "object": noteIRI, "target": h.urls.Signatures(), "to": []string{h.urls.Actor()},
			}), fedtest.SignOptions{})
		}
		reply := func() (string, []byte) {
			id := social.NextID("notes")
			return id, fedtest.MustJSON(t, noteOf(alice, id, copyInst.Base+"/memo", "<p>Je signe</p>", publicTo(alice)))
		}
		path := func(iri string) string { return strings.TrimPrefix(iri, social.Base) }

		redirected, body := reply()
		other.ServeAs(path(redirected), apType, body)
		social.Redirect(path(redirected), other.Base+path(redirected))
		plain, body := reply()
		social.ServeAs(path(plain), "text/plain", body)
		for _, c := range []struct{ name, note, reason string }{
			{"a reply URL that redirects to another host", redirected, "leaves the origin"},
			{"a reply served as text/plain", plain, "application/ld+json with the ActivityStreams profile"},
		} {
			before := h.signingState()
			resp := relay(c.note)
			if resp.Status != http.StatusBadRequest || !strings.Contains(resp.Body, c.reason) {
				t.Errorf("%s: %d %q, want 400 saying %q", c.name, resp.Status, strings.TrimSpace(resp.Body), c.reason)
			}
			h.process()
			sameState(t, c.name, before, h.signingState())
		}

		good, body := reply()
		social.AddDocument(path(good), body)
		if resp := relay(good); resp.Status != http.StatusAccepted {
			t.Fatalf("genuine relay: %d %s", resp.Status, resp.Body)
		}
		if g, err := store.SignatureByNote(ctx, good); err != nil || g.ActorIRI != alice.IRI || g.ViaCopy != copyActor.IRI {
			t.Fatalf("relayed signature = %+v, %v", g, err)
		}
	})
}
