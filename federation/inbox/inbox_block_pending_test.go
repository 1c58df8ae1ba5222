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

// An activity accepted before a block but not applied yet (a burst leaves thousands waiting for seconds) gets no
// effect once the block is made: no follower, like, boost or signature appears after the moderator blocked its
// author. The apply checks the blocks again in the transaction that would record the effects and records why it
// recorded none; activities of others waiting alongside are applied as usual.
func TestBlockCoversActivitiesWaiting(t *testing.T) {
	for _, kind := range []string{storage.BlockDomain, storage.BlockActor} {
		t.Run(kind, func(t *testing.T) {
			storagetest.Each(t, func(t *testing.T, store *storage.Store) {
				ctx := context.Background()
				h := newInboxHarness(t, store, inboxHarnessOpts{})
				// The blocked instance is reached as LocalHost, so that a block of its domain leaves the other
				// instance, on 127.0.0.1, alone.
				spam := fedtest.NewInstance(t, "spam")
				spam.Base = "http://LocalHost" + spam.Host[strings.LastIndexByte(spam.Host, ':'):]
				troll, mate := spam.NewActor("troll"), spam.NewActor("mate")
				fine := fedtest.NewInstance(t, "fine").NewActor("fine")

				send := func(a *fedtest.Actor, body []byte) {
					t.Helper()
					mustStatus(t, a.Post(t, h.sharedInbox(), body, fedtest.SignOptions{}), http.StatusAccepted)
				}
				reply := func(a *fedtest.Actor) []byte {
					body, _ := shapedReply(t, a, "mastodon/create-note-reply.json", false, h.urls.Memo(), "<p>Je signe.</p>", publicTo(a))
					return body
				}
				send(troll, activityOf(t, troll, "Follow", h.urls.Actor()))
				send(troll, activityOf(t, troll, "Like", h.urls.Memo()))
				send(troll, activityOf(t, troll, "Announce", h.urls.Memo()))
				send(troll, reply(troll))
				send(mate, activityOf(t, mate, "Like", h.urls.Memo()))
				send(fine, activityOf(t, fine, "Like", h.urls.Memo()))
				send(fine, reply(fine))

				value, covered := "localhost", []*fedtest.Actor{troll, mate}
				if kind == storage.BlockActor {
					value, covered = troll.IRI, []*fedtest.Actor{troll}
				}
				if _, err := store.BlockAndHide(ctx, kind, value, "spam"); err != nil {
					t.Fatal(err)
				}
				wantBlocked := 4
				if kind == storage.BlockDomain {
					wantBlocked = 5
				}
				h.process()
				for _, a := range covered {
					for _, q := range []string{
						`SELECT COUNT(*) FROM followers WHERE actor_iri = ?`,
						`SELECT COUNT(*) FROM interactions WHERE actor_iri = ?`,
						`SELECT COUNT(*) FROM signatures WHERE actor_iri = ?`,
					} {
						if n := h.count(q, a.IRI); n != 0 {
							t.Errorf("%s for %s = %d after the block, want 0", q, a.Username, n)
						}
					}
				}
				if n := h.count(`SELECT COUNT(*) FROM signatures WHERE actor_iri = ? AND status <> 'hidden'`, fine.IRI); n != 1 {
					t.Errorf("the other instance's signature: %d rows, want 1", n)
				}
				if n := h.count(`SELECT COUNT(*) FROM interactions WHERE actor_iri = ? AND kind = 'like'`, fine.IRI); n != 1 {
					t.Errorf("the other instance's like: %d rows, want 1", n)
				}
				if kind == storage.BlockActor {
					if n := h.count(`SELECT COUNT(*) FROM interactions WHERE actor_iri = ?`, mate.IRI); n != 1 {
						t.Errorf("an actor block held back %s's like on the same instance", mate.Username)
					}
				}

				if n := h.count(`SELECT COUNT(*) FROM inbox_activities WHERE result = ?`, storage.BlockedResult); n != wantBlocked {
					t.Errorf("the apply recorded %d activities as blocked, want %d", n, wantBlocked)
				}
			})
		})
	}
}

// The same holds for a reply forwarded by a server blocked after it arrived (Mastodon's inbox forwarding: the key
// is the forwarder's, the activity its author's).
func TestBlockOfForwarderCoversWaiting(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{inbox: Config{NoAcknowledgement: true}})
		social := fedtest.NewInstance(t, "social")
		forwarder := fedtest.NewInstance(t, "forwarder")
		forwarder.Base = "http://LocalHost" + forwarder.Host[strings.LastIndexByte(forwarder.Host, ':'):]
		fwd, carol := forwarder.NewActor("fwd"), social.NewActor("carol")
		id := social.NextID("notes")
		note := noteOf(carol, id, h.urls.Memo(), "<p>Je signe</p>", publicTo(carol))
		b, err := json.Marshal(note)
		if err != nil {
			t.Fatal(err)
		}
		social.AddDocument(strings.TrimPrefix(id, social.Base), b)
		fedtest.MustAccept(t, fwd.Post(t, h.sharedInbox(), withLDSignature(t, activityOf(t, carol, "Create", note), carol.KeyID), fedtest.SignOptions{}))
		if _, err := store.BlockAndHide(context.Background(), storage.BlockDomain, "localhost", "spam"); err != nil {
			t.Fatal(err)
		}
		h.process()
		h.wantSignatures(t, "after the forwarder's block", nil)
		if n := h.count(`SELECT COUNT(*) FROM inbox_activities WHERE result = ?`, storage.BlockedResult); n != 1 {
			t.Errorf("%d activities recorded as blocked, want carol's forwarded reply", n)
		}
	})
}
