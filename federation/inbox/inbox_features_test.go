package inbox

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/delivery"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestInboxSignatureForms: the Authorization header form, hs2019 labels, ld+json with the profile, every
// implementation's header order, and servers in authorized-fetch mode (our key fetch is signed once they refuse it unsigned).
func TestInboxSignatureForms(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "secure")
		inst.AuthorizedFetch.Store(true)
		inst.TrustKey(h.urls.KeyID(), &h.key.PublicKey)
		like := fedtest.Fixture(t, "mastodon/like.json")
		opts := []fedtest.SignOptions{
			{Style: fedtest.Mastodon},
			{Style: fedtest.GoToSocial, ContentType: `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`},
			{Style: fedtest.Misskey},
			{Style: fedtest.Pleroma},
			{Style: fedtest.Mastodon, Authorization: true},
		}
		for i, o := range opts {
			a := inst.NewActor("user" + string(rune('a'+i)))
			fedtest.MustAccept(t, a.Post(t, h.sharedInbox(), a.Shape(t, like, fedtest.Target{Object: h.urls.Memo()}), o))
		}
		// The first key fetch goes unsigned and is refused; every fetch after it is signed, one per actor.
		gets := inst.Gets()
		for i, g := range gets {
			if signed := g.Header.Get("Signature") != ""; signed != (i > 0) || !strings.Contains(g.Header.Get("User-Agent"), "memo/") {
				t.Errorf("GET %d %s: Signature %q, User-Agent %q", i, g.URL.Path, g.Header.Get("Signature"), g.Header.Get("User-Agent"))
			}
		}
		if len(gets) != len(opts)+1 {
			t.Errorf("%d key fetches, want %d (one refused unsigned, then one signed per actor, then the cache)", len(gets), len(opts)+1)
		}
		h.process()
		if n, err := storagetest.CountInteractions(context.Background(), store, h.urls.Memo(), storage.KindLike); err != nil || n != len(opts) {
			t.Errorf("likes: %d, want %d (err %v)", n, len(opts), err)
		}
	})
}

// TestInboxKeyRotation: a signature that fails with the cached key makes one refetch; a second failure soon after
// does not fetch again.
func TestInboxKeyRotation(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "mastodon")
		a := inst.NewActor("alice")
		like := fedtest.Fixture(t, "mastodon/like.json")
		send := func() *fedtest.Response {
			return a.Post(t, h.sharedInbox(), a.Shape(t, like, fedtest.Target{Object: h.urls.Memo()}), fedtest.SignOptions{})
		}
		fedtest.MustAccept(t, send())
		a.RotateKey()
		fedtest.MustAccept(t, send())
		cached, err := store.Actor(context.Background(), a.IRI)
		if err != nil || strings.TrimSpace(a.PublicKeyPEM()) != strings.TrimSpace(cached.PublicKeyPEM) {
			t.Errorf("cache does not hold the new key (err %v)", err)
		}
		gets := len(inst.Gets())
		a.RotateKey()
		h.expectRefused(t, a.NewRequest(t, h.sharedInbox(), a.Shape(t, like, fedtest.Target{Object: h.urls.Memo()}), fedtest.SignOptions{}), http.StatusUnauthorized)
		if len(inst.Gets()) != gets {
			t.Errorf("refetched again within %s", "the limit")
		}
	})
}

// TestInboxDeleteOfGoneActor: Mastodon's account deletion is signed by a key that already answers 410; it is
// accepted and dropped, and nothing is stored.
func TestInboxDeleteOfGoneActor(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "mastodon")
		a := inst.NewActor("gone")
		a.Gone.Store(true)
		before := h.counts()
		fedtest.MustAccept(t, a.Post(t, h.sharedInbox(), a.Shape(t, fedtest.Fixture(t, "mastodon/delete-actor.json"), fedtest.Target{}), fedtest.SignOptions{}))
		if after := h.counts(); after["inbox_activities"] != before["inbox_activities"] || after["actors"] != before["actors"] {
			t.Errorf("counts changed: %v → %v", before, after)
		}
		// Any other activity from a gone key is refused.
		h.expectRefused(t, a.NewRequest(t, h.sharedInbox(), a.Shape(t, fedtest.Fixture(t, "mastodon/like.json"), fedtest.Target{Object: h.urls.Memo()}), fedtest.SignOptions{}), http.StatusUnauthorized)
	})
}

// TestInboxIgnoresUnknownTypes: EmojiReact, a stranger's Move, Dislike, a poll vote… are accepted, recorded by id, and change
// nothing; the types no effect reads are recorded without their body.
func TestInboxIgnoresUnknownTypes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "pleroma")
		a := inst.NewActor("alice")
		for _, f := range []string{"pleroma/emoji-react.json", "mastodon/move.json", "gotosocial/create-note-poll-vote.json", "lemmy/dislike-page.json"} {
			fedtest.MustAccept(t, a.Post(t, h.sharedInbox(), a.Shape(t, fedtest.Fixture(t, f), fedtest.Target{}), fedtest.SignOptions{Style: fedtest.Pleroma}))
		}
		h.process()
		c := h.counts()
		if c["inbox_activities"] != 4 || c["followers"] != 0 || c["interactions"] != 0 || c["activities"] != 0 {
			t.Errorf("counts: %v", c)
		}
		if n := h.count(`SELECT COUNT(*) FROM inbox_activities WHERE processed_at IS NOT NULL AND result LIKE 'ignored%'`); n != 4 {
			t.Errorf("%d activities processed as ignored, want 4", n)
		}
		// EmojiReact and Dislike: no body. The poll vote is a Create and a Move may concern a follower or a signer:
		// both are read before they are found to be none of ours.
		if n := h.count(`SELECT COUNT(*) FROM inbox_activities WHERE body = '' AND type IN ('EmojiReact', 'Dislike')`); n != 2 {
			t.Errorf("%d ignored types stored without body, want 2", n)
		}
		if n := h.count(`SELECT COUNT(*) FROM inbox_activities WHERE body <> '' AND type = 'Create'`); n != 1 {
			t.Errorf("the Create was stored without its body")
		}
		// Received again, an ignored activity is known by its id alone.
		move := a.Shape(t, fedtest.Fixture(t, "mastodon/move.json"), fedtest.Target{})
		fedtest.MustAccept(t, a.Post(t, h.sharedInbox(), move, fedtest.SignOptions{Style: fedtest.Pleroma}))
		again := a.Post(t, h.sharedInbox(), move, fedtest.SignOptions{Style: fedtest.Pleroma})
		if again.Status != http.StatusAccepted || !strings.Contains(again.Body, "already received") {
			t.Errorf("replayed Move: %d %q, want 202 already received", again.Status, again.Body)
		}
		if n := h.count(`SELECT COUNT(*) FROM inbox_activities`); n != 5 {
			t.Errorf("inbox rows = %d, want 5", n)
		}
	})
}

// TestInboxRateLimits: past the burst, a remote IP gets 429 with Retry-After, recorded as a refusal.
func TestInboxRateLimits(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{inbox: Config{PerIP: 0.01, PerIPBurst: 2}})
		inst := fedtest.NewInstance(t, "mastodon")
		a := inst.NewActor("alice")
		like := fedtest.Fixture(t, "mastodon/like.json")
		for i := 0; i < 2; i++ {
			fedtest.MustAccept(t, a.Post(t, h.sharedInbox(), a.Shape(t, like, fedtest.Target{Object: h.urls.Memo()}), fedtest.SignOptions{}))
		}
		req := a.NewRequest(t, h.sharedInbox(), a.Shape(t, like, fedtest.Target{Object: h.urls.Memo()}), fedtest.SignOptions{})
		before := h.counts()
		resp := fedtest.Do(t, req)
		if resp.Status != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("status %d, Retry-After %q; want 429 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
		}
		// A 429 stores nothing, not even a refusal: a flood would otherwise write a row per request.
		if after := h.counts(); after["inbox_activities"] != before["inbox_activities"] || after["refused"] != before["refused"] {
			t.Errorf("counts: %v → %v", before, after)
		}
	})
	t.Run("per host", func(t *testing.T) {
		l := newLimiters(1, 3)
		now := time.Now()
		for i := 0; i < 3; i++ {
			if ok, _ := l.allow("a.example", now); !ok {
				t.Fatalf("request %d refused within the burst", i)
			}
		}
		if ok, after := l.allow("a.example", now); ok || after != "1" {
			t.Errorf("4th request: allowed %v, Retry-After %q; want refused, 1", ok, after)
		}
		if ok, _ := l.allow("b.example", now); !ok {
			t.Errorf("another host shares the bucket")
		}
		if ok, _ := l.allow("a.example", now.Add(time.Second)); !ok {
			t.Errorf("bucket did not refill")
		}
	})
}

// TestInboxAcceptIsDeliveredSigned runs the delivery worker on the Accept the Follow queued: the simulated
// instance receives it signed with our key, Digest and Date checked, with the Follow embedded as received.
func TestInboxAcceptIsDeliveredSigned(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "mastodon")
		inst.TrustKey(h.urls.KeyID(), &h.key.PublicKey)
		a := inst.NewActor("alice")
		follow := a.Shape(t, fedtest.Fixture(t, "mastodon/follow.json"), fedtest.Target{Object: h.urls.Actor()})
		fedtest.MustAccept(t, a.Post(t, h.actorInbox(), follow, fedtest.SignOptions{}))
		h.process()

		w, err := delivery.New(delivery.Config{Store: store, Client: h.client.HTTP(), Key: h.key, KeyID: h.urls.KeyID(),
			UserAgent: h.client.UserAgent(), Poll: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		got := inst.WaitReceived(t, 1, 10*time.Second)
		cancel()
		<-done
		r := got[0]
		if r.SigErr != nil || r.KeyID != h.urls.KeyID() || r.Path != "/users/alice/inbox" {
			t.Fatalf("delivery: path %s, key %s, signature: %v", r.Path, r.KeyID, r.SigErr)
		}
		var accept struct {
			Type   string          `json:"type"`
			Actor  string          `json:"actor"`
			Object json.RawMessage `json:"object"`
		}
		json.Unmarshal(r.Body, &accept)
		if accept.Type != "Accept" || accept.Actor != h.urls.Actor() || jsonID(t, accept.Object) != jsonID(t, follow) {
			t.Errorf("Accept = %s", r.Body)
		}
	})
}

// TestInboxPendingAfterRestart: activities stored but not processed (a crash after the 202) are processed by the
// next worker that starts.
func TestInboxPendingAfterRestart(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "mastodon")
		a := inst.NewActor("alice")
		fedtest.MustAccept(t, a.Post(t, h.sharedInbox(), a.Shape(t, fedtest.Fixture(t, "mastodon/like.json"), fedtest.Target{Object: h.urls.Memo()}), fedtest.SignOptions{}))
		if n := h.count(`SELECT COUNT(*) FROM inbox_activities WHERE processed_at IS NULL`); n != 1 {
			t.Fatalf("pending: %d, want 1", n)
		}
		restarted := New(Config{URLs: h.urls, Store: store, Actors: h.inbox.cfg.Actors, Logger: slog.New(slog.DiscardHandler)})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { restarted.Run(ctx); close(done) }()
		deadline := time.Now().Add(10 * time.Second)
		for h.count(`SELECT COUNT(*) FROM interactions`) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		<-done
		if n := h.count(`SELECT COUNT(*) FROM interactions WHERE kind = 'like'`); n != 1 {
			t.Errorf("likes after restart: %d, want 1", n)
		}
		if n := h.count(`SELECT COUNT(*) FROM inbox_activities WHERE processed_at IS NULL`); n != 0 {
			t.Errorf("still pending: %d", n)
		}
	})
}
