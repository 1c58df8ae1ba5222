package inbox

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/delivery"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// Helpers of the signing tests: replies built the way each implementation shapes them, and the state they leave.

// replyAudience is a reply's addressing.
type replyAudience struct{ to, cc []string }

func publicTo(a *fedtest.Actor) replyAudience {
	return replyAudience{to: []string{content.PublicAudience}, cc: []string{a.IRI + "/followers"}}
}

func directTo(h *inboxHarness) replyAudience {
	return replyAudience{to: []string{h.urls.Actor()}}
}

// shapedReply turns an implementation's reply fixture into a's Create of a note answering target, with text as
// its content and the given audience (on the activity and its note).
func shapedReply(t *testing.T, a *fedtest.Actor, fixture string, bareNote bool, target, text string, aud replyAudience) (body []byte, noteID string) {
	t.Helper()
	raw := fedtest.Fixture(t, fixture)
	if bareNote {
		raw = wrapInCreate(t, raw)
	}
	shaped := a.Shape(t, raw, fedtest.Target{Object: target})
	var m map[string]any
	if err := json.Unmarshal(shaped, &m); err != nil {
		t.Fatal(err)
	}
	obj := m["object"].(map[string]any)
	obj["content"] = text
	delete(obj, "contentMap")
	delete(obj, "summary")
	obj["to"], obj["cc"] = aud.to, aud.cc
	m["to"], m["cc"] = aud.to, aud.cc
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b, obj["id"].(string)
}

// note builds a Mastodon-shaped note of a.
func noteOf(a *fedtest.Actor, id, inReplyTo, text string, aud replyAudience) map[string]any {
	return map[string]any{
		"id": id, "type": "Note", "attributedTo": a.IRI, "inReplyTo": inReplyTo, "content": text,
		"to": aud.to, "cc": aud.cc, "published": time.Now().UTC().Format(time.RFC3339),
	}
}

// activityOf wraps object in an activity of typ by actor.
func activityOf(t *testing.T, actor *fedtest.Actor, typ string, object any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": actor.Instance.NextID("activities"), "type": typ,
		"actor": actor.IRI, "to": []string{content.PublicAudience}, "object": object,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sendRefused posts body signed by a and requires a 4xx.
func (h *inboxHarness) sendRefused(t *testing.T, a *fedtest.Actor, body []byte, opts fedtest.SignOptions) *fedtest.Response {
	t.Helper()
	resp := a.Post(t, h.sharedInbox(), body, opts)
	if resp.Status < 400 || resp.Status > 499 {
		t.Fatalf("status %d (%s), want a 4xx refusal", resp.Status, strings.TrimSpace(resp.Body))
	}
	h.process()
	return resp
}

// signingState is the number of rows of each table signing may change.
func (h *inboxHarness) signingState() map[string]int {
	h.t.Helper()
	out := map[string]int{}
	for _, table := range []string{"signatures", "notes", "interactions", "inbox_activities", "activities", "deliveries"} {
		var n int
		if err := h.store.DB().Get(&n, `SELECT COUNT(*) FROM `+table); err != nil {
			h.t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

func sameState(t *testing.T, what string, before, after map[string]int) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: %s went from %d to %d rows, want no change", what, k, v, after[k])
		}
	}
}

// signatureOf returns a's signature row, failing the test when there is none.
func (h *inboxHarness) signatureOf(t *testing.T, a *fedtest.Actor) storage.Signature {
	t.Helper()
	g, err := storagetest.SignatureByActor(context.Background(), h.store, a.IRI)
	if err != nil {
		t.Fatalf("signature of %s: %v", a.IRI, err)
	}
	return g
}

// acksTo counts the acknowledgements queued for delivery to inbox.
func (h *inboxHarness) acksTo(inbox string) int {
	return h.count(`SELECT COUNT(*) FROM deliveries d JOIN activities a ON a.iri = d.activity_iri WHERE a.iri LIKE ? AND a.type = 'Create' AND d.inbox = ?`,
		h.urls.Base+"/activities/create-note-ack-%", inbox)
}

// ackDeletesTo returns the objects of the Deletes of acknowledgements queued for inbox.
func (h *inboxHarness) ackDeletesTo(t *testing.T, inbox string) []string {
	t.Helper()
	var objects []string
	rows, err := h.store.DB().Query(h.store.DB().Rebind(`SELECT a.object_iri FROM deliveries d JOIN activities a ON a.iri = d.activity_iri
WHERE a.type = 'Delete' AND a.object_iri LIKE ? AND d.inbox = ? ORDER BY a.object_iri`), h.urls.Base+"/notes/ack-%", inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			t.Fatal(err)
		}
		objects = append(objects, o)
	}
	return objects
}

// runDeliveries runs a delivery worker until the instance has received n requests.
func (h *inboxHarness) runDeliveries(t *testing.T, inst *fedtest.Instance, n int) []fedtest.Received {
	t.Helper()
	inst.TrustKey(h.urls.KeyID(), &h.key.PublicKey)
	w, err := delivery.New(delivery.Config{Store: h.store, Client: h.client.HTTP(), Key: h.key, KeyID: h.urls.KeyID(),
		UserAgent: h.client.UserAgent(), Poll: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	got := inst.WaitReceived(t, n, 10*time.Second)
	cancel()
	<-done
	return got
}

func mustStatus(t *testing.T, resp *fedtest.Response, want int) {
	t.Helper()
	if resp.Status != want {
		t.Fatalf("status %d (%s), want %d", resp.Status, strings.TrimSpace(resp.Body), want)
	}
}

// signatureTotal is the number of standing signatures, the total every collection announces.
func signatureTotal(ctx context.Context, s *storage.Store) (int, error) {
	c, err := s.CountSignatures(ctx)
	return c.Total(), err
}
