package inbox

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// Only the signer can withdraw a signature: a copy's Remove counts only from the copy that relayed that signature
// and only once the signer's server confirms the reply is gone or no longer signs; a signature made here directly
// is never withdrawn by a Remove. Each refused Remove leaves the count, the public list and the row as they were.
func TestRemoveOnlyByTheRelayingCopy(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{inbox: Config{NoAcknowledgement: true}})
		social := fedtest.NewInstance(t, "social")
		copyInst, otherCopyInst := fedtest.NewInstance(t, "copy"), fedtest.NewInstance(t, "copy2")
		relaying, otherCopy := copyInst.NewActor("memo"), otherCopyInst.NewActor("memo")
		stranger := fedtest.NewInstance(t, "follower").NewActor("mallory")
		for _, a := range []*fedtest.Actor{relaying, otherCopy, stranger} {
			h.follow(t, a)
		}

		// dave signs here directly; his note is not served (as if deleted), which a forged Remove would exploit.
		dave := social.NewActor("dave")
		daveNote := social.NextID("notes")
		fedtest.MustAccept(t, dave.Post(t, h.sharedInbox(), activityOf(t, dave, "Create", noteOf(dave, daveNote, h.urls.Memo(), "<p>Je signe</p>", publicTo(dave))), fedtest.SignOptions{}))
		h.process()
		// alice and bob sign on the copy, which relays their signatures.
		alice, bob := social.NewActor("alice"), social.NewActor("bob")
		aliceNote := servedNote(t, social, alice, copyInst.Base+"/memo", "<p>Je signe</p>")
		bobNote := servedNote(t, social, bob, copyInst.Base+"/memo", "<p>Je signe aussi</p>")
		for _, n := range []string{aliceNote, bobNote} {
			fedtest.MustAccept(t, h.relay(t, relaying, "Add", n))
		}
		h.process()
		everyone := []string{alice.IRI, bob.IRI, dave.IRI}
		h.wantSignatures(t, "after signing", everyone)

		refused := func(name string, from *fedtest.Actor, note string, status int, reason string) {
			t.Helper()
			before := h.signingState()
			resp := h.relay(t, from, "Remove", note)
			h.process()
			if resp.Status != status || !strings.Contains(resp.Body, reason) {
				t.Errorf("%s: %d %q, want %d saying %q", name, resp.Status, strings.TrimSpace(resp.Body), status, reason)
			}
			sameState(t, name, before, h.signingState())
			h.wantSignatures(t, name, everyone)
			if n := h.count(`SELECT COUNT(*) FROM refused WHERE actor_iri = ? AND status = ?`, from.IRI, status); n == 0 {
				t.Errorf("%s: the refusal is not recorded", name)
			}
		}
		refused("a follower removes a direct signature", stranger, daveNote, http.StatusForbidden, "only its author")
		refused("the copy removes a direct signature", relaying, daveNote, http.StatusForbidden, "only its author")
		refused("another copy removes a relayed signature", otherCopy, aliceNote, http.StatusForbidden, "only that copy")
		refused("a follower removes a relayed signature", stranger, aliceNote, http.StatusForbidden, "only that copy")
		refused("the relaying copy, while the reply still signs", relaying, aliceNote, http.StatusConflict, "still stands")

		// Someone else on dave's own server can neither delete nor edit his reply into a withdrawal.
		eve := social.NewActor("eve")
		before := h.signingState()
		fedtest.MustAccept(t, eve.Post(t, h.sharedInbox(), activityOf(t, eve, "Delete", daveNote), fedtest.SignOptions{}))
		h.process()
		h.wantSignatures(t, "a Delete of dave's reply by eve", everyone)
		h.sendRefused(t, eve, activityOf(t, eve, "Update", noteOf(dave, daveNote, h.urls.Memo(), "<p>Non.</p>", publicTo(dave))), fedtest.SignOptions{})
		h.wantSignatures(t, "an Update of dave's reply by eve", everyone)
		if after := h.signingState(); after["signatures"] != before["signatures"] {
			t.Errorf("eve's Delete and Update changed the signatures: %v -> %v", before, after)
		}

		// The signer's server is down: nothing is decided, the copy is told to retry.
		down := func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		}
		social.Handle(strings.TrimPrefix(aliceNote, social.Base), down)
		refused("the signer's server answers 503", relaying, aliceNote, http.StatusServiceUnavailable, "retry later")

		// Confirmed: alice's reply is deleted, bob's is edited into a comment. Both withdrawals count, and only theirs.
		social.Handle(strings.TrimPrefix(aliceNote, social.Base), func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "gone", http.StatusGone)
		})
		edited, _ := json.Marshal(noteOf(bob, bobNote, copyInst.Base+"/memo", "<p>Finalement, non.</p>", publicTo(bob)))
		social.AddDocument(strings.TrimPrefix(bobNote, social.Base), edited)
		fedtest.MustAccept(t, h.relay(t, relaying, "Remove", aliceNote))
		fedtest.MustAccept(t, h.relay(t, relaying, "Remove", bobNote))
		h.process()
		h.wantSignatures(t, "after the confirmed withdrawals", []string{dave.IRI})
		if c, err := store.CountSignatures(ctx); err != nil || c.Withdrawn != 2 || c.Public != 1 {
			t.Fatalf("counts after the withdrawals: %+v, %v", c, err)
		}
		// Received again (a retry): still accepted, nothing more changes.
		fedtest.MustAccept(t, h.relay(t, relaying, "Remove", aliceNote))
		h.wantSignatures(t, "after a repeated Remove", []string{dave.IRI})
	})
}

// follow makes a follow us, as a copy does before relaying.
func (h *inboxHarness) follow(t *testing.T, a *fedtest.Actor) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": a.Instance.NextID("follows"), "type": "Follow",
		"actor": a.IRI, "object": h.urls.Actor(),
	})
	if err != nil {
		t.Fatal(err)
	}
	fedtest.MustAccept(t, a.Post(t, h.sharedInbox(), body, fedtest.SignOptions{}))
	h.process()
	if _, err := h.store.Follower(context.Background(), a.IRI); err != nil {
		t.Fatalf("%s does not follow after its Follow: %v", a.IRI, err)
	}
}

// relay posts from's Add or Remove of a reply to our signatures collection.
func (h *inboxHarness) relay(t *testing.T, from *fedtest.Actor, typ, noteIRI string) *fedtest.Response {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": from.Instance.NextID("relays"), "type": typ,
		"actor": from.IRI, "object": noteIRI, "target": h.urls.Signatures(), "to": []string{h.urls.Actor()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return from.Post(t, h.sharedInbox(), body, fedtest.SignOptions{})
}

// servedNote publishes a public reply of author on inst and returns its IRI.
func servedNote(t *testing.T, inst *fedtest.Instance, author *fedtest.Actor, inReplyTo, content string) string {
	t.Helper()
	id := inst.NextID("notes")
	b, err := json.Marshal(noteOf(author, id, inReplyTo, content, publicTo(author)))
	if err != nil {
		t.Fatal(err)
	}
	inst.AddDocument(strings.TrimPrefix(id, inst.Base), b)
	return id
}

// wantSignatures requires the public list to name exactly these actors, and the count to agree.
func (h *inboxHarness) wantSignatures(t *testing.T, what string, actors []string) {
	t.Helper()
	ctx := context.Background()
	list, err := h.store.Signatures(ctx, storage.SignatureFilter{Limit: 100})
	if err != nil {
		t.Fatalf("%s: list: %v", what, err)
	}
	var got []string
	for _, g := range list {
		got = append(got, g.ActorIRI)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(actors))
	if !slices.Equal(got, want) {
		t.Errorf("%s: public list %v, want %v", what, got, want)
	}
	c, err := h.store.CountSignatures(ctx)
	if err != nil {
		t.Fatalf("%s: count: %v", what, err)
	}
	if c.Public != len(actors) {
		t.Errorf("%s: public count %d, want %d", what, c.Public, len(actors))
	}
}
