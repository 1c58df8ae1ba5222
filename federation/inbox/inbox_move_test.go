package inbox

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/recheck"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// moveOf is a's Move to target, shaped as the fixture's implementation sends it.
func moveOf(t *testing.T, a *fedtest.Actor, fixture, target string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Shape(t, fedtest.Fixture(t, fixture), fedtest.Target{Object: a.IRI}), &m); err != nil {
		t.Fatal(err)
	}
	m["target"] = target
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// alias serves a's actor document with alsoKnownAs naming the old accounts, as the account moved to publishes it.
func alias(t *testing.T, a *fedtest.Actor, old ...string) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(a.Document(), &doc); err != nil {
		t.Fatal(err)
	}
	doc["alsoKnownAs"] = old
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	a.Instance.AddDocument(strings.TrimPrefix(a.IRI, a.Instance.Base), b)
}

// TestMove: a signer's Move carries the signature over to the new account (same number), once; a follower's Move
// replaces the follower by the new account; a Move whose target does not name the old account in alsoKnownAs is
// refused with nothing changed; a Move to an account that signed already keeps the older signature and withdraws
// the newer.
func TestMove(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{inbox: Config{NoAcknowledgement: true}})
		old := fedtest.NewInstance(t, "mastodon")
		nu := fedtest.NewInstance(t, "gotosocial")
		sign := func(a *fedtest.Actor) storage.Signature {
			t.Helper()
			body, noteID := shapedReply(t, a, "mastodon/create-note-reply.json", false, h.urls.Memo(), "<p>Je signe</p>", publicTo(a))
			var m map[string]any
			json.Unmarshal(body, &m)
			note, _ := json.Marshal(m["object"])
			a.Instance.AddDocument(strings.TrimPrefix(noteID, a.Instance.Base), note) // for the re-check
			h.send(t, a, fedtest.Mastodon, body)
			return h.signatureOf(t, a)
		}
		follow := func(a *fedtest.Actor) {
			t.Helper()
			h.send(t, a, fedtest.Mastodon, a.Shape(t, fedtest.Fixture(t, "mastodon/follow.json"), fedtest.Target{Object: h.urls.Actor()}))
		}
		followers := func(iri string) int {
			return h.count(`SELECT COUNT(*) FROM followers WHERE actor_iri = ?`, iri)
		}

		t.Run("signer and follower moves", func(t *testing.T) {
			alice, alice2 := old.NewActor("alice"), nu.NewActor("alice2")
			before := sign(alice)
			follow(alice)
			alias(t, alice2, "https://elsewhere.example/users/x", alice.IRI)
			h.send(t, alice, fedtest.Mastodon, moveOf(t, alice, "mastodon/move.json", alice2.IRI))
			g := h.signatureOf(t, alice2)
			if g.ID != before.ID || g.MovedFrom != alice.IRI || g.NoteIRI != before.NoteIRI || !g.Standing() {
				t.Errorf("carried signature = %+v, want number %d standing, moved from %s", g, before.ID, alice.IRI)
			}
			if !strings.HasPrefix(g.Handle, "@alice2@") || g.Domain != nu.Host {
				t.Errorf("carried signature shows %s on %s, want the new account", g.Handle, g.Domain)
			}
			if _, err := storagetest.SignatureByActor(ctx, store, alice.IRI); err == nil {
				t.Errorf("the old account still has a signature row")
			}
			if n, err := signatureTotal(ctx, store); err != nil || n != 1 {
				t.Errorf("signatures: %d (%v), want 1", n, err)
			}
			// The re-check reads the note as the old account's and the new account as the signer: it stands.
			rc := &recheck.Signatures{Store: store, Client: h.client, Logger: slog.New(slog.DiscardHandler), PerSecond: 1000, PerDomainPerSecond: 1000}
			if o, err := rc.Check(ctx, g); err != nil || o.Verdict != recheck.VerdictStanding {
				t.Errorf("re-check of the carried signature: %+v (%v), want standing", o, err)
			}
			if followers(alice.IRI) != 0 || followers(alice2.IRI) != 1 {
				t.Errorf("followers: old %d, new %d; want 0 and 1", followers(alice.IRI), followers(alice2.IRI))
			}
			if n := h.count(`SELECT COUNT(*) FROM followers WHERE actor_iri = ? AND inbox = ?`, alice2.IRI, alice2.Inbox); n != 1 {
				t.Errorf("the new follower does not deliver to its own inbox")
			}

			// Once: the new account moving on does not carry it further.
			alice3 := old.NewActor("alice3")
			alias(t, alice3, alice2.IRI)
			h.send(t, alice2, fedtest.GoToSocial, moveOf(t, alice2, "gotosocial/move.json", alice3.IRI))
			if g := h.signatureOf(t, alice2); g.ID != before.ID {
				t.Errorf("signature after a second Move: %+v, want it kept on %s", g, alice2.IRI)
			}
			if n := h.count(`SELECT COUNT(*) FROM signatures WHERE actor_iri = ?`, alice3.IRI); n != 0 {
				t.Errorf("signature carried over twice")
			}
		})

		t.Run("follower only", func(t *testing.T) {
			gina, gina2 := old.NewActor("gina"), nu.NewActor("gina2")
			follow(gina)
			alias(t, gina2, gina.IRI)
			h.send(t, gina, fedtest.Mastodon, moveOf(t, gina, "mastodon/move.json", gina2.IRI))
			if followers(gina.IRI) != 0 || followers(gina2.IRI) != 1 {
				t.Errorf("followers: old %d, new %d; want 0 and 1", followers(gina.IRI), followers(gina2.IRI))
			}
		})

		t.Run("target does not name the old account", func(t *testing.T) {
			carol, dave := old.NewActor("carol"), nu.NewActor("dave")
			sign(carol)
			follow(carol)
			before, counts := h.signingState(), h.counts()
			resp := carol.Post(t, h.sharedInbox(), moveOf(t, carol, "mastodon/move.json", dave.IRI), fedtest.SignOptions{})
			h.process()
			if resp.Status != http.StatusForbidden || !strings.Contains(resp.Body, "alsoKnownAs") {
				t.Errorf("status %d %q, want 403 about alsoKnownAs", resp.Status, strings.TrimSpace(resp.Body))
			}
			after := h.counts()
			counts["refused"]++
			sameState(t, "refused Move", before, h.signingState())
			sameState(t, "refused Move", counts, after)
			if g := h.signatureOf(t, carol); !g.Standing() || g.MovedFrom != "" {
				t.Errorf("carol's signature after a refused Move: %+v", g)
			}
			if followers(carol.IRI) != 1 || followers(dave.IRI) != 0 {
				t.Errorf("followers changed by a refused Move")
			}
		})

		t.Run("target signed already", func(t *testing.T) {
			erin, frank := old.NewActor("erin"), nu.NewActor("frank")
			ge, gf := sign(erin), sign(frank)
			alias(t, frank, erin.IRI)
			body := moveOf(t, erin, "mastodon/move.json", frank.IRI)
			h.send(t, erin, fedtest.Mastodon, body)
			// One signer, two signatures: the older number stands, the newer is withdrawn, nothing is carried.
			if g := h.signatureOf(t, erin); g.ID != ge.ID || !g.Standing() {
				t.Errorf("erin's (older) signature = %+v, want kept standing", g)
			}
			if g := h.signatureOf(t, frank); g.ID != gf.ID || g.MovedFrom != "" || g.Standing() {
				t.Errorf("frank's (newer) signature = %+v, want his own, withdrawn", g)
			}
			var id map[string]any
			json.Unmarshal(body, &id)
			var result string
			if err := store.DB().Get(&result, store.DB().Rebind(`SELECT result FROM inbox_activities WHERE iri = ?`), id["id"]); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(result, "signed already") || !strings.Contains(result, "is kept") {
				t.Errorf("result %q does not say the new account signed already and which is kept", result)
			}
		})
	})
}
