package inbox

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// referencedReply serves a's reply (shaped from an implementation's note fixture) at its id on a's instance and
// returns a Create that names it only by IRI, with the envelope that implementation writes.
func referencedReply(t *testing.T, a *fedtest.Actor, fixture, target, text string) (create []byte, noteID string, served []byte) {
	t.Helper()
	shaped, noteID := shapedReply(t, a, fixture, true, target, text, publicTo(a))
	var m map[string]any
	if err := json.Unmarshal(shaped, &m); err != nil {
		t.Fatal(err)
	}
	served, err := json.Marshal(m["object"])
	if err != nil {
		t.Fatal(err)
	}
	a.Instance.AddDocument(strings.TrimPrefix(noteID, a.Instance.Base), served)
	m["object"] = noteID
	create, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return create, noteID, served
}

// withLDSignature adds a Linked Data signature block, as Mastodon's forwarded activities carry (the value is the
// fixture's: we do not verify it, the object's server decides).
func withLDSignature(t *testing.T, body []byte, creator string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	var fixture map[string]any
	if err := json.Unmarshal(fedtest.Fixture(t, "mastodon/create-note-signed-ldsig.json"), &fixture); err != nil {
		t.Fatal(err)
	}
	sig := fixture["signature"].(map[string]any)
	sig["creator"] = creator
	m["signature"] = sig
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCreateByReference: a reply sent as a Create whose object is only the note's IRI (Misskey's and Pleroma's
// notes, GoToSocial's IRI-only Create) signs once the note is fetched from its server, with the fetched note as
// evidence; a reference to a note that is not the actor's, not on its host, or not served is refused with nothing
// changed.
func TestCreateByReference(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		for _, impl := range []struct{ name, fixture string }{
			{"misskey", "misskey/note-reply-misskey-content.json"},
			{"pleroma", "pleroma/note-reply-litepub-context.json"},
		} {
			t.Run(impl.name, func(t *testing.T) {
				inst := fedtest.NewInstance(t, impl.name)
				a := inst.NewActor("signer")
				create, noteID, served := referencedReply(t, a, impl.fixture, h.urls.Memo(), "<p>Je signe</p>")
				h.send(t, a, fedtest.StyleFor(impl.name), create)
				g := h.signatureOf(t, a)
				if !g.Standing() || g.NoteIRI != noteID {
					t.Fatalf("signature = %+v, want standing for %s", g, noteID)
				}
				ev, err := signing.ParseEvidence(g.Evidence)
				if err != nil {
					t.Fatal(err)
				}
				if ev.Kind != signing.EvidenceFetched || string(ev.Body) != string(served) {
					t.Errorf("evidence kind %q body %s, want the fetched note", ev.Kind, ev.Body)
				}
				if n := h.count(`SELECT COUNT(*) FROM interactions WHERE kind = 'reply' AND note_iri = ?`, noteID); n != 1 {
					t.Errorf("reply in the thread: %d, want 1", n)
				}
			})
		}

		t.Run("gotosocial IRI-only Create", func(t *testing.T) {
			inst := fedtest.NewInstance(t, "gotosocial")
			a := inst.NewActor("gts")
			noteID := inst.NextID("notes")
			served, _ := json.Marshal(noteOf(a, noteID, h.urls.Memo(), "<p>I sign</p>", publicTo(a)))
			inst.AddDocument(strings.TrimPrefix(noteID, inst.Base), served)
			create := a.Shape(t, fedtest.Fixture(t, "gotosocial/create-note-iri-only.json"), fedtest.Target{Object: noteID})
			h.send(t, a, fedtest.GoToSocial, create)
			if g := h.signatureOf(t, a); !g.Standing() || g.NoteIRI != noteID {
				t.Fatalf("signature = %+v", g)
			}
		})

		home := fedtest.NewInstance(t, "mastodon")
		other := fedtest.NewInstance(t, "other")
		alice, mallory := home.NewActor("alice"), home.NewActor("mallory")
		refused := func(name string, body []byte, reason string) {
			t.Run(name, func(t *testing.T) {
				before := h.signingState()
				resp := h.sendRefused(t, alice, body, fedtest.SignOptions{})
				if resp.Status != http.StatusForbidden || !strings.Contains(resp.Body, reason) {
					t.Errorf("status %d %q, want 403 saying %q", resp.Status, strings.TrimSpace(resp.Body), reason)
				}
				sameState(t, name, before, h.signingState())
			})
		}
		// Mallory's note, named by Alice.
		malloryNote := home.NextID("notes")
		b, _ := json.Marshal(noteOf(mallory, malloryNote, h.urls.Memo(), "<p>Je signe</p>", publicTo(mallory)))
		home.AddDocument(strings.TrimPrefix(malloryNote, home.Base), b)
		refused("someone else's note", activityOf(t, alice, "Create", malloryNote), "attributed to")
		// A note on another server.
		elsewhere := other.NextID("notes")
		b, _ = json.Marshal(noteOf(alice, elsewhere, h.urls.Memo(), "<p>Je signe</p>", publicTo(alice)))
		other.AddDocument(strings.TrimPrefix(elsewhere, other.Base), b)
		refused("note on another host", activityOf(t, alice, "Create", elsewhere), "not on the actor's host")
		// A note its server does not have, and one it serves as a plain JSON upload.
		refused("note not served", activityOf(t, alice, "Create", home.NextID("notes")), "HTTP 404")
		upload := home.NextID("notes")
		b, _ = json.Marshal(noteOf(alice, upload, h.urls.Memo(), "<p>Je signe</p>", publicTo(alice)))
		home.ServeAs(strings.TrimPrefix(upload, home.Base), "application/json", b)
		refused("note served as JSON", activityOf(t, alice, "Create", upload), "want application/activity+json")
		if n, err := signatureTotal(ctx, store); err != nil || n != 3 {
			t.Errorf("signatures: %d (%v), want the 3 genuine ones", n, err)
		}

		// An edit named by IRI: the note as its server now serves it decides; the phrase gone, the signature goes.
		t.Run("Update by reference withdraws", func(t *testing.T) {
			id := home.NextID("notes")
			note, _ := json.Marshal(noteOf(alice, id, h.urls.Memo(), "<p>I sign</p>", publicTo(alice)))
			home.AddDocument(strings.TrimPrefix(id, home.Base), note)
			h.send(t, alice, fedtest.Mastodon, activityOf(t, alice, "Create", id))
			if g := h.signatureOf(t, alice); !g.Standing() {
				t.Fatalf("signature before the edit = %+v", g)
			}
			edited, _ := json.Marshal(noteOf(alice, id, h.urls.Memo(), "<p>On second thoughts, no.</p>", publicTo(alice)))
			home.AddDocument(strings.TrimPrefix(id, home.Base), edited)
			h.send(t, alice, fedtest.Mastodon, activityOf(t, alice, "Update", id))
			if g := h.signatureOf(t, alice); g.Standing() {
				t.Fatalf("signature after the edit by reference still stands: %+v", g)
			}
		})
	})
}

// TestForwardedActivities: Mastodon's inbox forwarding, where a third server posts an activity of someone else
// (with that author's Linked Data signature) signed with its own key. The object's server decides: a forwarded
// reply signs as its server serves it, a forwarder that changed it is refused, a forwarded Delete stands only if
// the server no longer serves the note, and an activity without an LD signature signed by another host's key is
// refused as before.
func TestForwardedActivities(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		home := fedtest.NewInstance(t, "mastodon")
		third := fedtest.NewInstance(t, "forwarder")
		alice, fwd := home.NewActor("alice"), third.NewActor("fwd")
		serve := func(a *fedtest.Actor, text string) (string, map[string]any) {
			id := home.NextID("notes")
			note := noteOf(a, id, h.urls.Memo(), text, publicTo(a))
			b, _ := json.Marshal(note)
			home.AddDocument(strings.TrimPrefix(id, home.Base), b)
			return id, note
		}
		forward := func(body []byte) *fedtest.Response {
			return fwd.Post(t, h.sharedInbox(), body, fedtest.SignOptions{})
		}
		refused := func(name string, body []byte, status int, reason string) {
			t.Run(name, func(t *testing.T) {
				before := h.signingState()
				resp := forward(body)
				h.process()
				if resp.Status != status || !strings.Contains(resp.Body, reason) {
					t.Errorf("status %d %q, want %d saying %q", resp.Status, strings.TrimSpace(resp.Body), status, reason)
				}
				sameState(t, name, before, h.signingState())
			})
		}

		// The forwarder lies: the note at Alice's server does not sign.
		_, served := serve(alice, "<p>Bof.</p>")
		lie := map[string]any{}
		for k, v := range served {
			lie[k] = v
		}
		lie["content"] = "<p>Je signe</p>"
		refused("forwarder changed the note", withLDSignature(t, activityOf(t, alice, "Create", lie), alice.KeyID), http.StatusForbidden, "differ")
		// Without a Linked Data signature, another host's key signs nothing.
		_, genuine := serve(alice, "<p>Je signe</p>")
		refused("no LD signature", activityOf(t, alice, "Create", genuine), http.StatusUnauthorized, "not on the actor's host")

		var noteID string
		t.Run("forwarded reply signs", func(t *testing.T) {
			var note map[string]any
			noteID, note = serve(alice, "<p>Je signe</p>")
			resp := forward(withLDSignature(t, activityOf(t, alice, "Create", note), alice.KeyID))
			mustStatus(t, resp, http.StatusAccepted)
			h.process()
			g := h.signatureOf(t, alice)
			if !g.Standing() || g.NoteIRI != noteID {
				t.Fatalf("signature = %+v", g)
			}
			ev, err := signing.ParseEvidence(g.Evidence)
			if err != nil || ev.Kind != signing.EvidenceFetched {
				t.Errorf("evidence kind %q (%v), want the fetched note", ev.Kind, err)
			}
		})

		// A forwarded Delete of a note its server still serves changes nothing; once the server answers 404, it
		// withdraws the signature.
		del := withLDSignature(t, activityOf(t, alice, "Delete", map[string]any{"id": noteID, "type": "Tombstone"}), alice.KeyID)
		refused("forwarded Delete, note still served", del, http.StatusForbidden, "still served")
		t.Run("forwarded Delete, note gone", func(t *testing.T) {
			home.Handle(strings.TrimPrefix(noteID, home.Base), func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
			resp := forward(withLDSignature(t, activityOf(t, alice, "Delete", map[string]any{"id": noteID, "type": "Tombstone"}), alice.KeyID))
			mustStatus(t, resp, http.StatusAccepted)
			h.process()
			if g := h.signatureOf(t, alice); g.Standing() {
				t.Errorf("signature after the confirmed Delete: %+v, want withdrawn", g)
			}
		})

		// A forwarded edit: the note as its server serves it decides, not what the forwarder inlined.
		t.Run("forwarded Update, origin decides", func(t *testing.T) {
			bob := home.NewActor("bob")
			id, note := serve(bob, "<p>I sign</p>")
			mustStatus(t, forward(withLDSignature(t, activityOf(t, bob, "Create", note), bob.KeyID)), http.StatusAccepted)
			h.process()
			if g := h.signatureOf(t, bob); !g.Standing() {
				t.Fatalf("bob's signature = %+v", g)
			}
			edited, _ := json.Marshal(noteOf(bob, id, h.urls.Memo(), "<p>No longer.</p>", publicTo(bob)))
			home.AddDocument(strings.TrimPrefix(id, home.Base), edited)
			mustStatus(t, forward(withLDSignature(t, activityOf(t, bob, "Update", note), bob.KeyID)), http.StatusAccepted)
			h.process()
			if g := h.signatureOf(t, bob); g.Standing() {
				t.Errorf("signature after a forwarded edit its server shows without the phrase: %+v, want withdrawn", g)
			}
		})
	})
}

// TestInteractionsEmbeddedOrReferenced: Like and Announce with their object embedded or named by IRI, and Undo with
// the undone activity embedded or named by IRI, all count and uncount.
func TestInteractionsEmbeddedOrReferenced(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "mastodon")
		a := inst.NewActor("fan")
		interactions := func(kind string) int {
			return h.count(`SELECT COUNT(*) FROM interactions WHERE kind = ? AND actor_iri = ? AND object_iri = ?`, kind, a.IRI, h.urls.Memo())
		}
		embedded := map[string]any{"id": h.urls.Memo(), "type": "Article", "attributedTo": h.urls.Actor()}
		for _, c := range []struct {
			name, typ, kind string
			object          any
			undoByIRI       bool
		}{
			{"Like embedded, Undo embedded", "Like", storage.KindLike, embedded, false},
			{"Like by IRI, Undo by IRI", "Like", storage.KindLike, h.urls.Memo(), true},
			{"Announce embedded, Undo by IRI", "Announce", storage.KindAnnounce, embedded, true},
			{"Announce by IRI, Undo embedded", "Announce", storage.KindAnnounce, h.urls.Memo(), false},
		} {
			t.Run(c.name, func(t *testing.T) {
				act := activityOf(t, a, c.typ, c.object)
				h.send(t, a, fedtest.Mastodon, act)
				if n := interactions(c.kind); n != 1 {
					t.Fatalf("%s counted %d times, want 1", c.typ, n)
				}
				var undone any = json.RawMessage(act)
				if c.undoByIRI {
					var m map[string]any
					json.Unmarshal(act, &m)
					undone = m["id"]
				}
				h.send(t, a, fedtest.Mastodon, activityOf(t, a, "Undo", undone))
				if n := interactions(c.kind); n != 0 {
					t.Errorf("after Undo, %s counted %d times, want 0", c.typ, n)
				}
			})
		}
	})
}
