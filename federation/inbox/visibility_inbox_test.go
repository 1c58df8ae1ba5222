package inbox

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestReplyAudienceOneReading: a signing reply that names no audience (empty to and cc), and a Pleroma reply whose
// Create says directMessage, are private signatures AND stay out of the public replies collection: the thread and
// the signature read the audience the same way.
func TestReplyAudienceOneReading(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		cases := []struct {
			impl, fixture string
			aud           replyAudience
			createDM      bool
		}{
			{"mastodon", "mastodon/create-note-reply.json", replyAudience{}, false},
			{"pleroma", "pleroma/create-note-reply-live.json", replyAudience{to: []string{h.urls.Actor(), "https://pleroma.example/users/alice/followers"}}, true},
		}
		for _, c := range cases {
			t.Run(c.impl, func(t *testing.T) {
				inst := fedtest.NewInstance(t, c.impl)
				alice := inst.NewActor("alice")
				body, noteID := shapedReply(t, alice, c.fixture, false, h.urls.Memo(), "<p>je signe</p>", c.aud)
				var m map[string]any
				if err := json.Unmarshal(body, &m); err != nil {
					t.Fatal(err)
				}
				if c.createDM {
					m["directMessage"] = true
					delete(m["object"].(map[string]any), "directMessage")
				}
				if len(c.aud.to) == 0 {
					obj := m["object"].(map[string]any)
					delete(obj, "to")
					delete(obj, "cc")
					delete(m, "to")
					delete(m, "cc")
				}
				body, err := json.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				h.send(t, alice, fedtest.StyleFor(c.impl), body)

				g := h.signatureOf(t, alice)
				if g.Listed() || !g.Standing() || g.Visibility != "direct" {
					t.Errorf("signature = %+v, want a standing direct one", g)
				}
				replies, err := store.ReplyIRIs(ctx, h.urls.Memo(), 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				if slices.Contains(replies, noteID) {
					t.Errorf("the private reply %s is in the public replies collection %v", noteID, replies)
				}
				var vis string
				if err := store.DB().GetContext(ctx, &vis, store.DB().Rebind(`SELECT visibility FROM interactions WHERE note_iri = ?`), noteID); err != nil {
					t.Fatal(err)
				}
				if vis != "direct" {
					t.Errorf("stored reply visibility %q, want direct like its signature", vis)
				}
			})
		}
	})
}
