package inbox

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestRFC9421SignedReplies: replies signed under RFC 9421, by an RSA key (Mastodon 4.5's way: @method, @target-uri,
// content-digest, no alg), by the same key under rsa-pss-sha512 with @authority and @path, and by an Ed25519 key
// published as a FEP-521a Multikey, are counted through the real inbox; the evidence records the scheme and
// verifies offline as `memo signatures verify` checks it, and fails once tampered with.
func TestRFC9421SignedReplies(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "mastodon-4.5")
		alice, bob, erin := inst.NewActor("alice"), inst.NewActor("bob"), inst.NewActor("erin")
		erin.UseEd25519()
		cases := []struct {
			a    *fedtest.Actor
			opts fedtest.SignOptions
		}{
			{alice, fedtest.SignOptions{Style: fedtest.RFC9421}},
			{bob, fedtest.SignOptions{Style: fedtest.RFC9421, Alg: httpsign.AlgRSAPSSSHA512, Components: []string{"@method", "@authority", "@path", "content-digest", "content-type"}}},
			{erin, fedtest.SignOptions{Style: fedtest.RFC9421, Ed25519: true, Alg: httpsign.AlgEd25519}},
		}
		for _, c := range cases {
			before, err := signatureTotal(ctx, store)
			if err != nil {
				t.Fatal(err)
			}
			body, noteID := shapedReply(t, c.a, "mastodon/create-note-reply.json", false, h.urls.Memo(), "<p>I sign</p>", publicTo(c.a))
			resp := c.a.Post(t, h.sharedInbox(), body, c.opts)
			mustStatus(t, resp, http.StatusAccepted)
			h.process()
			if after, err := signatureTotal(ctx, store); err != nil || after != before+1 {
				t.Fatalf("%s: signatures %d then %d (%v), want one more", c.a.Username, before, after, err)
			}
			g := h.signatureOf(t, c.a)
			ev, err := signing.ParseEvidence(g.Evidence)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Scheme != httpsign.SchemeRFC9421 {
				t.Errorf("%s: evidence scheme %q, want %s", c.a.Username, ev.Scheme, httpsign.SchemeRFC9421)
			}
			if err := ev.Verify(c.a.IRI, noteID); err != nil {
				t.Errorf("%s: evidence does not verify: %v", c.a.Username, err)
			}
			tampered := ev
			tampered.Body = []byte(strings.Replace(string(ev.Body), "I sign", "I sing", 1))
			if err := tampered.Verify(c.a.IRI, noteID); err == nil {
				t.Errorf("%s: evidence with another body verifies", c.a.Username)
			}
			tampered = ev
			tampered.Scheme = httpsign.SchemeCavage
			if err := tampered.Verify(c.a.IRI, noteID); err == nil {
				t.Errorf("%s: evidence claiming draft-cavage verifies", c.a.Username)
			}
		}
		if got := h.signatureOf(t, erin); !strings.Contains(got.Evidence, "ed25519-key") {
			t.Errorf("erin's evidence does not name her Ed25519 key: %s", got.Evidence)
		}
	})
}

// TestRFC9421Refusals: each rule of RFC 9421 signatures refuses through the real inbox with a 4xx and its reason,
// and nothing is stored: no signature, note, activity, delivery or cached actor.
func TestRFC9421Refusals(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "mastodon-4.5")
		alice, mallory := inst.NewActor("alice"), inst.NewActor("mallory")
		erin := inst.NewActor("erin")
		erin.UseEd25519()
		now := time.Now()
		body := func(a *fedtest.Actor) []byte {
			b, _ := shapedReply(t, a, "mastodon/create-note-reply.json", false, h.urls.Memo(), "<p>I sign</p>", publicTo(a))
			return b
		}
		rfc := fedtest.RFC9421
		cases := []struct {
			name   string
			req    func() *http.Request
			reason string
		}{
			{"content-digest not covered", func() *http.Request {
				return alice.NewRequest(t, h.sharedInbox(), body(alice), fedtest.SignOptions{Style: rfc, Components: []string{"@method", "@target-uri"}})
			}, "content-digest"},
			{"Content-Digest of another body", func() *http.Request {
				r := alice.NewRequest(t, h.sharedInbox(), body(alice), fedtest.SignOptions{Style: rfc})
				r.Header.Set("Content-Digest", httpsign.ContentDigest([]byte(`{"type":"Create"}`)))
				return r
			}, "does not match the body"},
			{"no Content-Digest field", func() *http.Request {
				return alice.NewRequest(t, h.sharedInbox(), body(alice), fedtest.SignOptions{Style: rfc, OmitDigest: true})
			}, "no Content-Digest field"},
			{"key of another actor", func() *http.Request {
				return alice.NewRequest(t, h.sharedInbox(), body(alice), fedtest.SignOptions{Style: rfc, Key: mallory.Key, KeyID: mallory.KeyID})
			}, "activity's actor is"},
			{"created two hours ago", func() *http.Request {
				return alice.NewRequest(t, h.sharedInbox(), body(alice), fedtest.SignOptions{Style: rfc, Date: now.Add(-2 * time.Hour)})
			}, "too old"},
			{"expired", func() *http.Request {
				return alice.NewRequest(t, h.sharedInbox(), body(alice), fedtest.SignOptions{Style: rfc, Date: now.Add(-time.Minute), Expires: now.Add(-time.Second)})
			}, "expired"},
			{"unknown alg", func() *http.Request {
				return alice.NewRequest(t, h.sharedInbox(), body(alice), fedtest.SignOptions{Style: rfc, Alg: "hmac-sha256"})
			}, "not supported"},
			{"alg that does not fit the key", func() *http.Request {
				return alice.NewRequest(t, h.sharedInbox(), body(alice), fedtest.SignOptions{Style: rfc, Alg: httpsign.AlgEd25519})
			}, "not supported with this key"},
			{"covered field changed", func() *http.Request {
				r := alice.NewRequest(t, h.sharedInbox(), body(alice), fedtest.SignOptions{Style: rfc, Components: []string{"@method", "@target-uri", "content-digest", "content-type"}})
				r.Header.Set("Content-Type", "application/json")
				return r
			}, "bad signature"},
			{"two signatures", func() *http.Request {
				r := alice.NewRequest(t, h.sharedInbox(), body(alice), fedtest.SignOptions{Style: rfc})
				in, sig := r.Header.Get("Signature-Input"), r.Header.Get("Signature")
				r.Header.Set("Signature-Input", in+", "+strings.Replace(in, "sig1=", "sig2=", 1))
				r.Header.Set("Signature", sig+", "+strings.Replace(sig, "sig1=", "sig2=", 1))
				return r
			}, "exactly one"},
			{"Ed25519 key the actor does not publish", func() *http.Request {
				r := erin.NewRequest(t, h.sharedInbox(), body(erin), fedtest.SignOptions{Style: rfc, Ed25519: true})
				erin.EdKey = nil // her document no longer lists it
				return r
			}, "publishes key"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before, actors := h.signingState(), h.count(`SELECT COUNT(*) FROM actors`)
				resp := fedtest.Do(t, c.req())
				if resp.Status < 400 || resp.Status > 499 || !strings.Contains(resp.Body, c.reason) {
					t.Fatalf("status %d (%s), want a 4xx naming %q", resp.Status, strings.TrimSpace(resp.Body), c.reason)
				}
				h.process()
				sameState(t, c.name, before, h.signingState())
				if n := h.count(`SELECT COUNT(*) FROM actors`); n != actors {
					t.Errorf("actors cached: %d then %d", actors, n)
				}
			})
		}
	})
}

// TestRFC9421DoubleKnock: an inbox that accepts only RFC 9421 answers our draft-cavage acknowledgement with 401; the
// worker knocks again at once under RFC 9421, which is accepted, and remembers the host, so that the next delivery
// there goes under RFC 9421 straight away; when the host refuses RFC 9421 later, draft-cavage is tried again and
// the host forgotten.
func TestRFC9421DoubleKnock(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "rfc9421-only")
		inst.Only9421.Store(true)
		alice, bob := inst.NewActor("alice"), inst.NewActor("bob")

		b, _ := shapedReply(t, alice, "mastodon/create-note-reply.json", false, h.urls.Memo(), "<p>I sign</p>", publicTo(alice))
		mustStatus(t, alice.Post(t, h.sharedInbox(), b, fedtest.SignOptions{Style: fedtest.RFC9421}), http.StatusAccepted)
		h.process()
		if n := h.acksTo(alice.Inbox); n != 1 {
			t.Fatalf("acknowledgements queued to alice: %d", n)
		}
		got := h.runDeliveries(t, inst, 2)
		if len(got) != 2 || got[0].Scheme != httpsign.SchemeCavage || got[0].Status != http.StatusUnauthorized ||
			got[1].Scheme != httpsign.SchemeRFC9421 || got[1].Status != http.StatusAccepted || got[1].SigErr != nil {
			t.Fatalf("received %s", describeReceived(got))
		}
		// Signed as Mastodon documents it (testdata/activitypub/httpsig/mastodon-docs-rfc9421-headers.json).
		if in := got[1].Header.Get("Signature-Input"); !strings.HasPrefix(in, `sig1=("@method" "@target-uri" "content-digest");created=`) ||
			!strings.HasSuffix(in, `;keyid="`+h.urls.KeyID()+`"`) || !strings.HasPrefix(got[1].Header.Get("Content-Digest"), "sha-256=:") {
			t.Errorf("RFC 9421 request: Signature-Input %q, Content-Digest %q", in, got[1].Header.Get("Content-Digest"))
		}
		if s, err := store.SignatureScheme(ctx, inst.Host, time.Now()); err != nil || s != httpsign.SchemeRFC9421 {
			t.Fatalf("remembered scheme of %s: %q, %v", inst.Host, s, err)
		}
		if c, err := store.DeliveryCounts(ctx); err != nil || c["delivered"] != 1 {
			t.Errorf("delivery counts %v, %v: want the acknowledgement delivered", c, err)
		}

		b, _ = shapedReply(t, bob, "mastodon/create-note-reply.json", false, h.urls.Memo(), "<p>I sign too</p>", publicTo(bob))
		mustStatus(t, bob.Post(t, h.sharedInbox(), b, fedtest.SignOptions{Style: fedtest.RFC9421}), http.StatusAccepted)
		h.process()
		got = h.runDeliveries(t, inst, 3)
		if len(got) != 3 || got[2].Scheme != httpsign.SchemeRFC9421 || got[2].Status != http.StatusAccepted {
			t.Fatalf("second delivery: received %s, want one RFC 9421 request", describeReceived(got))
		}
		if s, err := store.SignatureScheme(ctx, inst.Host, time.Now().Add(31*24*time.Hour)); err != nil || s != "" {
			t.Errorf("remembered for more than a month: %q, %v", s, err)
		}

		// The host goes back to draft-cavage only: the remembered RFC 9421 is refused, draft-cavage is tried once
		// more and accepted, and the host is forgotten.
		inst.Only9421.Store(false)
		inst.RefuseRFC9421.Store(true)
		carol := inst.NewActor("carol")
		b, _ = shapedReply(t, carol, "mastodon/create-note-reply.json", false, h.urls.Memo(), "<p>I sign as well</p>", publicTo(carol))
		mustStatus(t, carol.Post(t, h.sharedInbox(), b, fedtest.SignOptions{}), http.StatusAccepted)
		h.process()
		got = h.runDeliveries(t, inst, 5)
		if len(got) != 5 || got[3].Scheme != httpsign.SchemeRFC9421 || got[3].Status != http.StatusUnauthorized ||
			got[4].Scheme != httpsign.SchemeCavage || got[4].Status != http.StatusAccepted {
			t.Fatalf("back to draft-cavage: received %s", describeReceived(got))
		}
		if s, err := store.SignatureScheme(ctx, inst.Host, time.Now()); err != nil || s != "" {
			t.Errorf("scheme still remembered: %q, %v", s, err)
		}
	})
}

func describeReceived(got []fedtest.Received) string {
	var parts []string
	for _, r := range got {
		e := ""
		if r.SigErr != nil {
			e = " " + r.SigErr.Error()
		}
		parts = append(parts, r.Scheme+" "+http.StatusText(r.Status)+e)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}
