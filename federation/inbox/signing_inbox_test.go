package inbox

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/as"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// replyShapes are the reply fixtures of the implementations whose users sign.
var replyShapes = []struct {
	impl, fixture string
	bareNote      bool
}{
	{"mastodon", "mastodon/create-note-reply.json", false},
	{"misskey", "misskey/note-reply-misskey-content.json", true},
	{"pleroma", "pleroma/create-note-reply-live.json", false},
	{"gotosocial", "gotosocial/create-note.json", false},
}

// TestSignByReplyEachImplementation: for each implementation's reply shape, signed in its style, a public reply
// with a phrase is a listed signature, a direct or followers-only one a counted private signature, a reply without a phrase a
// comment; each signer gets an acknowledgement queued to their inbox; the stored evidence verifies offline.
func TestSignByReplyEachImplementation(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		o := as.New(h.urls, store, nil)
		for _, shape := range replyShapes {
			t.Run(shape.impl, func(t *testing.T) {
				inst := fedtest.NewInstance(t, shape.impl)
				alice, bob, carol, dana := inst.NewActor("alice"), inst.NewActor("bob"), inst.NewActor("carol"), inst.NewActor("dana")
				if shape.impl == "gotosocial" {
					for _, a := range []*fedtest.Actor{alice, bob, carol, dana} {
						a.UseBareKey()
					}
				}
				style := fedtest.StyleFor(shape.impl)
				before, err := signatureTotal(ctx, store)
				if err != nil {
					t.Fatal(err)
				}

				pub, pubNote := shapedReply(t, alice, shape.fixture, shape.bareNote, h.urls.Memo(), `<p><span class="h-card"><a href="x" class="u-url mention">@<span>memo</span></a></span> Je SIGNÉ, avec plaisir ✊</p>`, publicTo(alice))
				h.send(t, alice, style, pub)
				priv, _ := shapedReply(t, bob, shape.fixture, shape.bareNote, h.urls.Impulse("lesson-1"), "<p>I sign. #ISign</p>", directTo(h))
				h.send(t, bob, style, priv)
				followersOnly, _ := shapedReply(t, dana, shape.fixture, shape.bareNote, h.urls.Revision(1), "<p>Ich unterschreibe!</p>", replyAudience{to: []string{dana.IRI + "/followers"}, cc: []string{h.urls.Actor()}})
				h.send(t, dana, style, followersOnly)
				comment, _ := shapedReply(t, carol, shape.fixture, shape.bareNote, h.urls.Note("how-to-sign"), "<p>je ne signe pas</p>", publicTo(carol))
				h.send(t, carol, style, comment)

				after, err := signatureTotal(ctx, store)
				if err != nil {
					t.Fatal(err)
				}
				if after != before+3 {
					t.Errorf("signatures: %d then %d, want 3 more", before, after)
				}
				ga := h.signatureOf(t, alice)
				if !ga.Listed() || !ga.Standing() || ga.NoteIRI != pubNote || ga.Revision != 1 || ga.InReplyTo != h.urls.Memo() {
					t.Errorf("alice's signature = %+v", ga)
				}
				ev, err := signing.ParseEvidence(ga.Evidence)
				if err != nil {
					t.Fatal(err)
				}
				if err := ev.Verify(alice.IRI, pubNote); err != nil {
					t.Errorf("alice's evidence does not verify: %v", err)
				}
				gb := h.signatureOf(t, bob)
				if gb.Listed() || !gb.Standing() || gb.Visibility != "direct" {
					t.Errorf("bob's signature = %+v, want a standing private one", gb)
				}
				if gd := h.signatureOf(t, dana); gd.Listed() || !gd.Standing() || gd.Visibility != "followers" || gd.Revision != 1 {
					t.Errorf("dana's signature = %+v, want a standing followers-only one on revision 1", gd)
				}
				if _, err := storagetest.SignatureByActor(ctx, store, carol.IRI); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("carol's negated reply made a signature (err %v)", err)
				}
				if n := h.count(`SELECT COUNT(*) FROM interactions WHERE kind = 'reply' AND actor_iri = ?`, carol.IRI); n != 1 {
					t.Errorf("carol's comment stored %d times, want 1", n)
				}

				page, err := o.Signatures(ctx, url.Values{"page": {"1"}})
				if err != nil {
					t.Fatal(err)
				}
				var listed []string
				for _, it := range page["orderedItems"].([]any) {
					listed = append(listed, it.(map[string]any)["attributedTo"].(string))
				}
				if !slices.Contains(listed, alice.IRI) || slices.Contains(listed, bob.IRI) || slices.Contains(listed, dana.IRI) {
					t.Errorf("collection page lists %v: want alice, not bob nor dana", listed)
				}
				if page["totalItems"] != after {
					t.Errorf("page totalItems = %v, want %d", page["totalItems"], after)
				}

				if n := h.acksTo(alice.Inbox); n != 1 {
					t.Errorf("acknowledgements to alice: %d, want 1", n)
				}
				if n := h.acksTo(bob.Inbox); n != 1 {
					t.Errorf("acknowledgements to bob: %d, want 1", n)
				}
				if n := h.acksTo(carol.Inbox); n != 0 {
					t.Errorf("acknowledgements to carol, who commented: %d, want 0", n)
				}
			})
		}
	})
}

// TestAcknowledgementDelivered runs the delivery worker: each signer's inbox receives a Create of a Note replying
// to their reply, with a Mention of them and them in to; the private signer's is addressed to them alone.
func TestAcknowledgementDelivered(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "mastodon")
		alice, bob := inst.NewActor("alice"), inst.NewActor("bob")
		pubID, privID := inst.NextID("notes"), inst.NextID("notes")
		h.send(t, alice, fedtest.Mastodon, activityOf(t, alice, "Create", noteOf(alice, pubID, h.urls.Memo(), "<p>Je signe</p>", publicTo(alice))))
		h.send(t, bob, fedtest.Mastodon, activityOf(t, bob, "Create", noteOf(bob, privID, h.urls.Memo(), "<p>je signe</p>", directTo(h))))

		got := h.runDeliveries(t, inst, 2)
		byPath := map[string]map[string]any{}
		for _, r := range got {
			if r.SigErr != nil {
				t.Errorf("delivery to %s: signature: %v", r.Path, r.SigErr)
			}
			byPath[r.Path] = r.Activity()
		}
		for _, c := range []struct {
			who    *fedtest.Actor
			note   string
			public bool
		}{{alice, pubID, true}, {bob, privID, false}} {
			act := byPath["/users/"+c.who.Username+"/inbox"]
			if act == nil {
				t.Fatalf("%s received nothing; got %v", c.who.Username, byPath)
			}
			obj, _ := act["object"].(map[string]any)
			if act["type"] != "Create" || act["actor"] != h.urls.Actor() || obj == nil {
				t.Fatalf("acknowledgement to %s = %v", c.who.Username, act)
			}
			if obj["type"] != "Note" || obj["inReplyTo"] != c.note {
				t.Errorf("acknowledgement note to %s = %v", c.who.Username, obj)
			}
			if !slices.Contains(strs(obj["to"]), c.who.IRI) || !slices.Contains(strs(act["to"]), c.who.IRI) {
				t.Errorf("%s not in to: note %v, activity %v", c.who.Username, obj["to"], act["to"])
			}
			mention := false
			for _, tag := range obj["tag"].([]any) {
				m := tag.(map[string]any)
				if m["type"] == "Mention" && m["href"] == c.who.IRI {
					mention = true
				}
			}
			if !mention {
				t.Errorf("no Mention of %s in %v", c.who.Username, obj["tag"])
			}
			all := append(append(strs(obj["to"]), strs(obj["cc"])...), append(strs(act["to"]), strs(act["cc"])...)...)
			if slices.Contains(all, content.PublicAudience) != c.public {
				t.Errorf("acknowledgement to %s addressed %v: public collection present = %v, want %v", c.who.Username, all, !c.public, c.public)
			}
		}
	})
}

// A withdrawn signature takes its acknowledgement with it: the note becomes a tombstone and its Delete reaches the
// signer, whether the reply was deleted or edited without the phrase; signing again brings a new one.
func TestWithdrawalDeletesTheAcknowledgement(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "mastodon")
		alice, carol := inst.NewActor("alice"), inst.NewActor("carol")
		n1, c1 := inst.NextID("notes"), inst.NextID("notes")
		h.send(t, alice, fedtest.Mastodon, activityOf(t, alice, "Create", noteOf(alice, n1, h.urls.Memo(), "<p>Je signe.</p>", publicTo(alice))))
		h.send(t, carol, fedtest.Mastodon, activityOf(t, carol, "Create", noteOf(carol, c1, h.urls.Memo(), "<p>Je signe.</p>", directTo(h))))
		if got := h.ackDeletesTo(t, alice.Inbox); len(got) != 0 {
			t.Fatalf("Deletes queued before any withdrawal: %v", got)
		}

		// A stranger on an instance of their own deletes and edits alice's reply: whether refused or ignored, the
		// signature and its acknowledgement stand.
		mallory := fedtest.NewInstance(t, "hostile").NewActor("mallory")
		for _, body := range [][]byte{
			activityOf(t, mallory, "Delete", map[string]any{"id": n1, "type": "Tombstone"}),
			activityOf(t, mallory, "Update", noteOf(alice, n1, h.urls.Memo(), "<p>Plus rien.</p>", publicTo(alice))),
		} {
			mallory.Post(t, h.sharedInbox(), body, fedtest.SignOptions{})
			h.process()
		}
		if g := h.signatureOf(t, alice); !g.Standing() {
			t.Fatal("a stranger's Delete or Update withdrew alice's signature")
		}
		if got := h.ackDeletesTo(t, alice.Inbox); len(got) != 0 || h.count(`SELECT COUNT(*) FROM notes WHERE in_reply_to = ? AND deleted_at IS NOT NULL`, n1) != 0 {
			t.Fatalf("a stranger's Delete or Update took alice's acknowledgement: Deletes %v", got)
		}

		h.send(t, alice, fedtest.Mastodon, activityOf(t, alice, "Delete", map[string]any{"id": n1, "type": "Tombstone"}))
		h.send(t, carol, fedtest.Mastodon, activityOf(t, carol, "Update", noteOf(carol, c1, h.urls.Memo(), "<p>Finalement non.</p>", directTo(h))))
		for _, who := range []*fedtest.Actor{alice, carol} {
			if got := h.ackDeletesTo(t, who.Inbox); len(got) != 1 {
				t.Fatalf("Deletes of acknowledgements queued for %s: %v, want one", who.Username, got)
			}
		}
		slug := strings.TrimPrefix(h.ackDeletesTo(t, alice.Inbox)[0], h.urls.Base+"/notes/")
		if n, err := store.NoteBySlug(ctx, slug); err != nil || !n.Deleted() || n.InReplyTo != n1 {
			t.Fatalf("alice's acknowledgement %s after withdrawal: %+v, %v; want it deleted", slug, n, err)
		}

		// Delivered: two Creates, then two Deletes whose Tombstone is the acknowledgement, addressed as it was.
		got := h.runDeliveries(t, inst, 4)
		deletes := map[string]map[string]any{}
		for _, r := range got {
			if r.SigErr != nil {
				t.Errorf("delivery to %s: signature: %v", r.Path, r.SigErr)
			}
			if act := r.Activity(); act["type"] == "Delete" {
				deletes[r.Path] = act
			}
		}
		for _, c := range []struct {
			who    *fedtest.Actor
			public bool
		}{{alice, true}, {carol, false}} {
			act := deletes["/users/"+c.who.Username+"/inbox"]
			obj, _ := act["object"].(map[string]any)
			if act == nil || act["actor"] != h.urls.Actor() || obj["type"] != "Tombstone" || !strings.HasPrefix(fmt.Sprint(obj["id"]), h.urls.Base+"/notes/ack-") {
				t.Fatalf("Delete delivered to %s: %v", c.who.Username, act)
			}
			all := append(strs(act["to"]), strs(act["cc"])...)
			if !slices.Contains(all, c.who.IRI) || slices.Contains(all, content.PublicAudience) != c.public {
				t.Errorf("Delete to %s addressed %v, want the signer, public = %v as the acknowledgement", c.who.Username, all, c.public)
			}
		}

		// Signing again: a new acknowledgement, the old one stays deleted, nothing more is deleted.
		n2 := inst.NextID("notes")
		h.send(t, alice, fedtest.Mastodon, activityOf(t, alice, "Create", noteOf(alice, n2, h.urls.Memo(), "<p>Je signe à nouveau.</p>", publicTo(alice))))
		if acks, dels := h.acksTo(alice.Inbox), h.ackDeletesTo(t, alice.Inbox); acks != 2 || len(dels) != 1 {
			t.Errorf("after signing again: %d acknowledgements, Deletes %v; want 2 and the first one", acks, dels)
		}
	})
}

func strs(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = append(out, x...)
	}
	return out
}

// TestSigningLifecycle: signing twice, a comment edited into a signature, withdrawal by Delete of the reply, by an
// Update without the phrase and by Delete of the actor, and signing again after a withdrawal.
func TestSigningLifecycle(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "mastodon")
		alice, carol := inst.NewActor("alice"), inst.NewActor("carol")
		total := func() int {
			t.Helper()
			n, err := signatureTotal(ctx, store)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		create := func(a *fedtest.Actor, text string) string {
			id := inst.NextID("notes")
			h.send(t, a, fedtest.Mastodon, activityOf(t, a, "Create", noteOf(a, id, h.urls.Memo(), text, publicTo(a))))
			return id
		}

		n1 := create(alice, "<p>Je signe.</p>")
		first := h.signatureOf(t, alice)
		if total() != 1 || h.acksTo(alice.Inbox) != 1 {
			t.Fatalf("after signing: total %d, acks %d", total(), h.acksTo(alice.Inbox))
		}

		// Signing twice: the second reply is a comment; the first signature and its number stay.
		n2 := create(alice, "<p>Je signe encore !</p>")
		if g := h.signatureOf(t, alice); g.ID != first.ID || g.NoteIRI != n1 || total() != 1 || h.acksTo(alice.Inbox) != 1 {
			t.Errorf("after a second signing reply: %+v, total %d, acks %d", g, total(), h.acksTo(alice.Inbox))
		}
		if n := h.count(`SELECT COUNT(*) FROM interactions WHERE kind = 'reply' AND actor_iri = ?`, alice.IRI); n != 2 {
			t.Errorf("alice's replies in the thread: %d, want 2", n)
		}

		// A comment edited into a signature signs.
		c1 := create(carol, "<p>Intéressant.</p>")
		if total() != 1 {
			t.Fatalf("a comment counted")
		}
		h.send(t, carol, fedtest.Mastodon, activityOf(t, carol, "Update", noteOf(carol, c1, h.urls.Memo(), "<p>Intéressant. Je signe !</p>", publicTo(carol))))
		if g := h.signatureOf(t, carol); !g.Standing() || g.NoteIRI != c1 || total() != 2 || h.acksTo(carol.Inbox) != 1 {
			t.Errorf("after the edit: %+v, total %d, acks %d", g, total(), h.acksTo(carol.Inbox))
		}

		// Deleting the comment (n2) leaves the signature; deleting the signing reply (n1) withdraws it.
		h.send(t, alice, fedtest.Mastodon, activityOf(t, alice, "Delete", map[string]any{"id": n2, "type": "Tombstone"}))
		if g := h.signatureOf(t, alice); !g.Standing() {
			t.Errorf("deleting a comment withdrew the signature")
		}
		h.send(t, alice, fedtest.Mastodon, activityOf(t, alice, "Delete", map[string]any{"id": n1, "type": "Tombstone"}))
		if g := h.signatureOf(t, alice); g.Standing() || total() != 1 {
			t.Errorf("after Delete of the reply: standing %v, total %d", g.Standing(), total())
		}

		// Signing again later: the same number, the new reply, a new acknowledgement.
		n3 := create(alice, "<p>I sign, again.</p>")
		if g := h.signatureOf(t, alice); !g.Standing() || g.ID != first.ID || g.NoteIRI != n3 || total() != 2 || h.acksTo(alice.Inbox) != 2 {
			t.Errorf("after signing again: %+v, total %d, acks %d", g, total(), h.acksTo(alice.Inbox))
		}

		// An Update without the phrase withdraws.
		h.send(t, carol, fedtest.Mastodon, activityOf(t, carol, "Update", noteOf(carol, c1, h.urls.Memo(), "<p>Intéressant.</p>", publicTo(carol))))
		if g := h.signatureOf(t, carol); g.Standing() || total() != 1 {
			t.Errorf("after the Update without phrase: standing %v, total %d", g.Standing(), total())
		}

		// Delete of the actor by anyone else changes nothing; by the actor, it erases the row and takes the
		// acknowledgement of the standing reply with it, without a Delete sent to the gone account.
		standingAcks := func() int {
			return h.count(`SELECT COUNT(*) FROM notes WHERE in_reply_to = ? AND deleted_at IS NULL`, n3)
		}
		if standingAcks() != 1 {
			t.Fatalf("acknowledgements of alice's standing reply: %d, want 1", standingAcks())
		}
		mallory := fedtest.NewInstance(t, "hostile").NewActor("mallory")
		mallory.Post(t, h.sharedInbox(), activityOf(t, mallory, "Delete", alice.IRI), fedtest.SignOptions{})
		h.process()
		if g := h.signatureOf(t, alice); !g.Standing() || standingAcks() != 1 {
			t.Fatalf("a stranger's Delete of alice: signature standing %v, acknowledgements %d", g.Standing(), standingAcks())
		}
		deletesBefore := len(h.ackDeletesTo(t, alice.Inbox))
		h.send(t, alice, fedtest.Mastodon, activityOf(t, alice, "Delete", alice.IRI))
		if _, err := storagetest.SignatureByActor(ctx, store, alice.IRI); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("after Delete of the actor: err %v, want the row erased", err)
		}
		if standingAcks() != 0 {
			t.Errorf("after Delete of the actor: %d acknowledgements of the reply still standing", standingAcks())
		}
		if got := h.ackDeletesTo(t, alice.Inbox); len(got) != deletesBefore {
			t.Errorf("Deletes queued for the deleted actor: %v, want none more than the %d before", got, deletesBefore)
		}
		if total() != 0 {
			t.Errorf("total after everything: %d, want 0", total())
		}
	})
}

// TestSigningSettings: the inbox recognises the phrases it is given instead of the defaults, and sends no
// acknowledgement when told not to.
func TestSigningSettings(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{inbox: Config{
			Signing: signing.MustMatcher([]string{"count me in"}), NoAcknowledgement: true,
		}})
		inst := fedtest.NewInstance(t, "mastodon")
		alice, bob := inst.NewActor("alice"), inst.NewActor("bob")
		h.send(t, alice, fedtest.Mastodon, activityOf(t, alice, "Create", noteOf(alice, inst.NextID("notes"), h.urls.Memo(), "<p>Count me in!</p>", publicTo(alice))))
		h.send(t, bob, fedtest.Mastodon, activityOf(t, bob, "Create", noteOf(bob, inst.NextID("notes"), h.urls.Memo(), "<p>Je signe</p>", publicTo(bob))))
		if g := h.signatureOf(t, alice); !g.Standing() {
			t.Errorf("alice's signature with the configured phrase = %+v", g)
		}
		if _, err := storagetest.SignatureByActor(context.Background(), store, bob.IRI); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a default phrase signed although the phrases were replaced (err %v)", err)
		}
		if n := h.acksTo(alice.Inbox); n != 0 {
			t.Errorf("acknowledgements with NoAcknowledgement: %d, want 0", n)
		}
	})
}
