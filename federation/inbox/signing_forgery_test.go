package inbox

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestSigningForgeries: each forged signature is refused with a 4xx and leaves no row anywhere (only the refused
// table grows), while a genuinely forwarded reply, fetched from its own server and matching, signs.
func TestSigningForgeries(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		home := fedtest.NewInstance(t, "mastodon")
		other := fedtest.NewInstance(t, "elsewhere")
		alice, mallory, relay := home.NewActor("alice"), home.NewActor("mallory"), other.NewActor("relay")
		sign := "<p>Je signe</p>"

		refused := func(name string, sender *fedtest.Actor, body []byte, opts fedtest.SignOptions, reason string) {
			t.Run(name, func(t *testing.T) {
				before := h.signingState()
				resp := h.sendRefused(t, sender, body, opts)
				if !strings.Contains(resp.Body, reason) {
					t.Errorf("refusal %q does not say %q", strings.TrimSpace(resp.Body), reason)
				}
				sameState(t, name, before, h.signingState())
			})
		}

		// Alice's activity, signed with Mallory's key.
		aliceReply := activityOf(t, alice, "Create", noteOf(alice, home.NextID("notes"), h.urls.Memo(), sign, publicTo(alice)))
		refused("another actor's key", alice, aliceReply, fedtest.SignOptions{Key: mallory.Key, KeyID: mallory.KeyID}, "signed by")

		// Relay (on another server) sends a note of its own server attributed to Alice.
		mismatch := noteOf(alice, other.NextID("notes"), h.urls.Memo(), sign, publicTo(alice))
		refused("attributedTo mismatch", relay, activityOf(t, relay, "Create", mismatch), fedtest.SignOptions{}, "is on")

		// Alice's note, but its id is on another server.
		elsewhere := noteOf(alice, other.NextID("notes"), h.urls.Memo(), sign, publicTo(alice))
		refused("note id on another host", alice, activityOf(t, alice, "Create", elsewhere), fedtest.SignOptions{}, "not on the actor's host")

		// A forwarded reply whose note its server does not have.
		missing := noteOf(alice, home.NextID("notes"), h.urls.Memo(), sign, publicTo(alice))
		refused("forwarded, missing at its server", relay, activityOf(t, relay, "Create", missing), fedtest.SignOptions{}, "cannot be fetched")

		// A forwarded reply whose note, at its server, does not sign.
		differsID := home.NextID("notes")
		served, _ := json.Marshal(noteOf(alice, differsID, h.urls.Memo(), "<p>Bof.</p>", publicTo(alice)))
		home.AddDocument(strings.TrimPrefix(differsID, home.Base), served)
		differs := noteOf(alice, differsID, h.urls.Memo(), sign, publicTo(alice))
		refused("forwarded, differs at its server", relay, activityOf(t, relay, "Create", differs), fedtest.SignOptions{}, "differ")

		// A blocked domain: its own replies, and its replies forwarded by someone else.
		blocked := fedtest.NewInstance(t, "blocked")
		bea := blocked.NewActor("bea")
		if _, err := store.BlockAndHide(ctx, "domain", blocked.Host, "test"); err != nil {
			t.Fatal(err)
		}
		beaNote := noteOf(bea, blocked.NextID("notes"), h.urls.Memo(), sign, publicTo(bea))
		refused("blocked domain", bea, activityOf(t, bea, "Create", beaNote), fedtest.SignOptions{}, "blocked")
		beaServed, _ := json.Marshal(beaNote)
		blocked.AddDocument(strings.TrimPrefix(beaNote["id"].(string), blocked.Base), beaServed)
		refused("blocked domain, forwarded", relay, activityOf(t, relay, "Create", beaNote), fedtest.SignOptions{}, "blocked")

		if n, err := signatureTotal(ctx, store); err != nil || n != 0 {
			t.Fatalf("signatures after the forgeries: %d (%v), want 0", n, err)
		}

		// The genuine forward: the note at its server is the one forwarded. Alice signs, with the fetched note as
		// evidence, and gets the acknowledgement.
		t.Run("forwarded and matching", func(t *testing.T) {
			id := home.NextID("notes")
			note := noteOf(alice, id, h.urls.Memo(), sign, publicTo(alice))
			body, _ := json.Marshal(note)
			home.AddDocument(strings.TrimPrefix(id, home.Base), body)
			h.send(t, relay, fedtest.Mastodon, activityOf(t, relay, "Create", note))
			g := h.signatureOf(t, alice)
			if !g.Standing() || g.NoteIRI != id {
				t.Fatalf("forwarded signature = %+v", g)
			}
			ev, err := signing.ParseEvidence(g.Evidence)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind != signing.EvidenceFetched || string(ev.Body) != string(body) {
				t.Errorf("evidence kind %q, body %s", ev.Kind, ev.Body)
			}
			if err := ev.Verify(alice.IRI, id); err != signing.ErrUnsigned {
				t.Errorf("evidence check: %v, want ErrUnsigned (the body matches, no HTTP signature)", err)
			}
			if n := h.acksTo(alice.Inbox); n != 1 {
				t.Errorf("acknowledgements to alice: %d, want 1", n)
			}
			if n := h.count(`SELECT COUNT(*) FROM interactions WHERE kind = 'reply' AND actor_iri = ?`, alice.IRI); n != 1 {
				t.Errorf("forwarded reply in the thread under alice: %d, want 1", n)
			}
		})
	})
}
