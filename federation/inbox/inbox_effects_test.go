package inbox

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// implFixtures names, per implementation, the fixture of each activity; "" where the collection has none.
type implFixtures struct {
	impl                                        string
	follow, undoFollow                          string
	like, undoLike, announce, undoAnnounce      string
	reply, updateNote, deleteNote, updatePerson string
	block, gone                                 string
	replyIsBareNote, followFromUndo             bool
}

var implementations = []implFixtures{
	{impl: "mastodon", follow: "mastodon/follow.json", undoFollow: "mastodon/undo-follow.json",
		like: "mastodon/like.json", undoLike: "mastodon/undo-like.json",
		announce: "mastodon/announce-signed.json", undoAnnounce: "mastodon/undo-announce.json",
		reply: "mastodon/create-note-reply.json", deleteNote: "mastodon/delete-note-tombstone-signed.json",
		updatePerson: "mastodon/update-person.json", block: "mastodon/block.json", gone: "mastodon/delete-actor.json"},
	{impl: "gotosocial", follow: "gotosocial-live/001-Follow.json", undoFollow: "gotosocial-live/018-Undo-Follow.json",
		like: "gotosocial-live/004-Like.json", undoLike: "gotosocial-live/005-Undo-Like.json",
		announce: "gotosocial/announce.json", undoAnnounce: "gotosocial-live/006-Undo-Announce.json",
		reply: "gotosocial/create-note.json", deleteNote: "gotosocial/delete-note-reply.json",
		updatePerson: "gotosocial/update-person.json", block: "gotosocial-live/014-Block.json"},
	{impl: "gotosocial-live", follow: "gotosocial-live/017-Follow.json", undoFollow: "gotosocial-live/015-Undo-Follow.json",
		like: "gotosocial-live/004-Like.json", undoLike: "gotosocial-live/005-Undo-Like.json",
		announce: "gotosocial-live/003-Announce.json", undoAnnounce: "gotosocial-live/006-Undo-Announce.json",
		reply: "gotosocial-live/002-Create-Note.json", updateNote: "gotosocial-live/010-Update-Note.json", deleteNote: "gotosocial-live/007-Delete.json",
		updatePerson: "gotosocial-live/012-Update-Person.json", block: "gotosocial-live/014-Block.json"},
	{impl: "misskey", follow: "misskey/undo-follow.json", followFromUndo: true, undoFollow: "misskey/undo-follow.json",
		like: "misskey/like-misskey-reaction.json", undoLike: "mastodon/undo-like-iri-object.json",
		reply: "misskey/note-reply-misskey-content.json", replyIsBareNote: true, deleteNote: "misskey/delete-note-tombstone.json"},
	{impl: "pleroma", follow: "pleroma/follow-live.json", undoFollow: "mastodon/undo-like-iri-object.json",
		like: "mastodon/like.json", undoLike: "mastodon/undo-like-iri-object.json",
		reply: "pleroma/create-note-reply-live.json", deleteNote: "pleroma/delete-note-live.json"},
}

// TestEffectsOfEachImplementation sends, for each implementation, its own shapes of Follow, Like, Announce, their
// Undo, a reply, its Delete, Update{Person}, Block and Delete{actor}, signed in its style by a simulated
// instance, and checks each effect in the database.
func TestEffectsOfEachImplementation(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		for _, f := range implementations {
			t.Run(f.impl, func(t *testing.T) { h.runImplementation(t, f) })
		}
	})
}

func (h *inboxHarness) send(t *testing.T, a *fedtest.Actor, style fedtest.Style, body []byte) {
	t.Helper()
	resp := a.Post(t, h.sharedInbox(), body, fedtest.SignOptions{Style: style})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("%s: status %d (%s), want 202; body %s", style.Name, resp.Status, strings.TrimSpace(resp.Body), body)
	}
	h.process()
}

func (h *inboxHarness) runImplementation(t *testing.T, f implFixtures) {
	ctx := context.Background()
	inst := fedtest.NewInstance(t, f.impl)
	a := inst.NewActor("alice")
	if f.impl == "gotosocial" {
		a.UseBareKey()
	}
	style := fedtest.StyleFor(f.impl)
	memo := h.urls.Memo()
	fix := func(rel string) []byte { return fedtest.Fixture(t, rel) }

	// Follow, then the same Follow again: one follower, one Accept queued to the follower's inbox.
	followFix := fix(f.follow)
	if f.followFromUndo {
		var undo map[string]json.RawMessage
		json.Unmarshal(followFix, &undo)
		followFix = undo["object"]
	}
	follow := a.Shape(t, followFix, fedtest.Target{Object: h.urls.Actor()})
	h.send(t, a, style, follow)
	h.send(t, a, style, follow)
	fl, err := h.store.Follower(ctx, a.IRI)
	if err != nil {
		t.Fatalf("follower after Follow: %v", err)
	}
	if fl.Inbox != a.Inbox || fl.SharedInbox != inst.SharedInbox() || fl.Domain != inst.Host {
		t.Errorf("follower = %+v", fl)
	}
	followID := jsonID(t, follow)
	if n := h.count(`SELECT COUNT(*) FROM activities WHERE type = 'Accept' AND object_iri = ?`, followID); n != 1 {
		t.Errorf("Accepts of %s: %d, want 1", followID, n)
	}
	if n := h.count(`SELECT COUNT(*) FROM deliveries d JOIN activities a ON a.iri = d.activity_iri WHERE a.object_iri = ? AND d.inbox = ?`, followID, a.Inbox); n != 1 {
		t.Errorf("deliveries of the Accept to %s: %d, want 1", a.Inbox, n)
	}

	// Like and Announce of the memo, and their Undo.
	for _, c := range []struct{ kind, do, undo string }{{storage.KindLike, f.like, f.undoLike}, {storage.KindAnnounce, f.announce, f.undoAnnounce}} {
		if c.do == "" {
			continue
		}
		act := a.Shape(t, fix(c.do), fedtest.Target{Object: memo})
		h.send(t, a, style, act)
		h.send(t, a, style, act) // replay
		if n, err := storagetest.CountInteractions(ctx, h.store, memo, c.kind); err != nil || n != 1 {
			t.Fatalf("%s count after %s: %d, want 1 (err %v)", c.kind, c.do, n, err)
		}
		if c.undo == "" {
			continue
		}
		h.send(t, a, style, a.Shape(t, fix(c.undo), fedtest.Target{Undone: act}))
		if n, err := storagetest.CountInteractions(ctx, h.store, memo, c.kind); err != nil || n != 0 {
			t.Fatalf("%s count after %s: %d, want 0 (err %v)", c.kind, c.undo, n, err)
		}
	}

	// A reply to the memo, then its Delete.
	if f.reply != "" {
		replyFix := fix(f.reply)
		if f.replyIsBareNote {
			replyFix = wrapInCreate(t, replyFix)
		}
		create := a.Shape(t, replyFix, fedtest.Target{Object: memo})
		h.send(t, a, style, create)
		var reply storage.Interaction
		if err := h.store.DB().Get(&reply, h.store.DB().Rebind(`SELECT `+interactionColsForTest+` FROM interactions WHERE kind = 'reply' AND actor_iri = ?`), a.IRI); err != nil {
			t.Fatalf("reply stored: %v", err)
		}
		if reply.ObjectIRI != memo || reply.NoteIRI == "" || strings.Contains(reply.Content, "<script") {
			t.Errorf("reply = %+v", reply)
		}
		if f.updateNote != "" {
			upd := a.Shape(t, fix(f.updateNote), fedtest.Target{Object: reply.NoteIRI})
			var m struct {
				Object struct {
					Content string `json:"content"`
				} `json:"object"`
			}
			json.Unmarshal(upd, &m)
			h.send(t, a, style, upd)
			var stored string
			h.store.DB().Get(&stored, h.store.DB().Rebind(`SELECT content FROM interactions WHERE note_iri = ?`), reply.NoteIRI)
			if stored == reply.Content || stored != content.SanitizeHTML(m.Object.Content) {
				t.Errorf("reply after Update{Note}: %q, want %q", stored, content.SanitizeHTML(m.Object.Content))
			}
		}
		if f.deleteNote != "" {
			h.send(t, a, style, a.Shape(t, fix(f.deleteNote), fedtest.Target{Object: reply.NoteIRI}))
			if n, err := storagetest.CountInteractions(ctx, h.store, memo, storage.KindReply); err != nil || n != 0 {
				t.Errorf("replies after Delete: %d, want 0 (err %v)", n, err)
			}
		}
	}

	// Update{Person} refreshes the cached profile.
	if f.updatePerson != "" {
		upd := a.Shape(t, fix(f.updatePerson), fedtest.Target{})
		var m struct {
			Object struct {
				Name string `json:"name"`
			} `json:"object"`
		}
		json.Unmarshal(upd, &m)
		h.send(t, a, style, upd)
		cached, err := h.store.Actor(ctx, a.IRI)
		if err != nil || cached.DisplayName != m.Object.Name || cached.PublicKeyPEM == "" {
			t.Errorf("actor after Update: %+v (%v), want name %q and a key", cached.DisplayName, err, m.Object.Name)
		}
	}

	// Undo{Follow}: no longer a follower.
	if f.undoFollow != "" {
		h.send(t, a, style, a.Shape(t, fix(f.undoFollow), fedtest.Target{Undone: follow}))
		if _, err := h.store.Follower(ctx, a.IRI); err != storage.ErrNotFound {
			t.Errorf("follower after Undo{Follow}: err %v, want not found", err)
		}
	}

	// Block of our actor removes the follower.
	if f.block != "" {
		h.send(t, a, style, a.Shape(t, follow, fedtest.Target{Object: h.urls.Actor()}))
		if _, err := h.store.Follower(ctx, a.IRI); err != nil {
			t.Fatalf("re-follow: %v", err)
		}
		h.send(t, a, style, a.Shape(t, fix(f.block), fedtest.Target{Object: h.urls.Actor()}))
		if _, err := h.store.Follower(ctx, a.IRI); err != storage.ErrNotFound {
			t.Errorf("follower after Block: err %v, want not found", err)
		}
	}

	// Delete{actor}: the account is gone from the cache and the followers.
	if f.gone != "" {
		h.send(t, a, style, a.Shape(t, follow, fedtest.Target{Object: h.urls.Actor()}))
		h.send(t, a, style, a.Shape(t, fix(f.gone), fedtest.Target{}))
		cached, err := h.store.Actor(ctx, a.IRI)
		if err != nil || !cached.Deleted() {
			t.Errorf("actor after Delete: deleted=%v err=%v", cached.Deleted(), err)
		}
		if _, err := h.store.Follower(ctx, a.IRI); err != storage.ErrNotFound {
			t.Errorf("follower after Delete{actor}: err %v, want not found", err)
		}
	}
}

const interactionColsForTest = `activity_iri, kind, actor_iri, object_iri, note_iri, content, visibility, created_at`

func jsonID(t *testing.T, body []byte) string {
	t.Helper()
	var m struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.ID == "" {
		t.Fatalf("no id in %s", body)
	}
	return m.ID
}

// wrapInCreate wraps a bare Note fixture the way Misskey delivers it.
func wrapInCreate(t *testing.T, note []byte) []byte {
	t.Helper()
	var n map[string]any
	if err := json.Unmarshal(note, &n); err != nil {
		t.Fatalf("note: %v", err)
	}
	b, _ := json.Marshal(map[string]any{
		"@context": n["@context"], "type": "Create", "id": "x", "actor": n["attributedTo"],
		"to": n["to"], "cc": n["cc"], "object": n,
	})
	return b
}
