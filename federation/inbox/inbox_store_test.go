package inbox

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// flagOf is a Mastodon-shaped Flag by a (an instance's moderation actor) reporting objects, with a comment.
func flagOf(t *testing.T, a *fedtest.Actor, id string, objects []string, comment string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Flag",
		"actor": a.IRI, "content": comment, "object": objects,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestInboxFlagStoredAsReport: a Flag is kept as a report (reporter, reported objects, comment) for `memo
// reports`, its comment clipped; the inbox row keeps no body; the same Flag twice is one report.
func TestInboxFlagStoredAsReport(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		mod := fedtest.NewInstance(t, "mastodon").NewActor("moderation")
		id := mod.Instance.NextID("reports")
		flag := flagOf(t, mod, id, []string{h.urls.Actor(), h.urls.Note("how-to-sign")}, "Spam \x1b[31mrouge\x1b[0m")
		h.send(t, mod, fedtest.Mastodon, flag)
		fedtest.MustAccept(t, mod.Post(t, h.sharedInbox(), flag, fedtest.SignOptions{}))
		h.process()

		// A long one: a megabyte of comment is received, a couple of kilobytes kept.
		long := flagOf(t, mod, mod.Instance.NextID("reports"), []string{h.urls.Memo()}, strings.Repeat("é", 400_000))
		h.send(t, mod, fedtest.Mastodon, long)

		reports, err := store.Reports(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(reports) != 2 {
			t.Fatalf("%d reports, want 2", len(reports))
		}
		r := reports[1]
		if r.ActivityIRI != id || r.ActorIRI != mod.IRI || r.Domain != mod.Instance.Host || strings.Join(r.Objects, " ") != h.urls.Actor()+" "+h.urls.Note("how-to-sign") {
			t.Errorf("report = %+v", r)
		}
		if r.Comment != "Spam  [31mrouge [0m" {
			t.Errorf("comment = %q: want the text with its control characters blanked", r.Comment)
		}
		if got := reports[0].Comment; len(got) > storage.MaxReportComment || !strings.HasPrefix(got, "éé") || strings.ContainsRune(got, '\uFFFD') {
			t.Errorf("long comment kept %d bytes (%q…)", len(got), got[:min(10, len(got))])
		}
		if n := h.count(`SELECT COUNT(*) FROM inbox_activities WHERE type = 'Flag' AND body = '' AND processed_at IS NOT NULL`); n != 2 {
			t.Errorf("%d processed Flags without body, want 2", n)
		}
	})
}

// TestInboxPruneKeepsEvidence: processed inbox rows older than the retention are pruned, pending ones stay; a
// signature's evidence lives in its own row, so it still verifies as `memo signatures verify` checks it; the
// pruned reply received again (its server sending it anew) changes nothing.
func TestInboxPruneKeepsEvidence(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "mastodon")
		alice, bob := inst.NewActor("alice"), inst.NewActor("bob")
		reply, noteIRI := shapedReply(t, alice, "mastodon/create-note-reply.json", false, h.urls.Memo(), "<p>Je signe.</p>", publicTo(alice))
		h.send(t, alice, fedtest.Mastodon, reply)
		like := bob.Shape(t, fedtest.Fixture(t, "mastodon/like.json"), fedtest.Target{Object: h.urls.Memo()})
		h.send(t, bob, fedtest.Mastodon, like)
		stateBefore := h.signingState()
		interactions := h.count(`SELECT COUNT(*) FROM interactions`)

		// One more, left pending: pruning must not touch it.
		pending := bob.Shape(t, fedtest.Fixture(t, "mastodon/like.json"), fedtest.Target{Object: h.urls.Revision(1)})
		fedtest.MustAccept(t, bob.Post(t, h.sharedInbox(), pending, fedtest.SignOptions{}))

		if n, err := store.PruneInboxActivities(ctx, time.Now().Add(-time.Hour), 1); err != nil || n != 0 {
			t.Fatalf("pruning rows processed over an hour ago: %d, %v; want 0", n, err)
		}
		n, err := store.PruneInboxActivities(ctx, time.Now().Add(time.Minute), 1)
		if err != nil || n != 2 {
			t.Fatalf("pruned %d, %v; want the 2 processed rows (in batches of 1)", n, err)
		}
		if left := h.count(`SELECT COUNT(*) FROM inbox_activities WHERE processed_at IS NULL`); left != 1 || h.count(`SELECT COUNT(*) FROM inbox_activities`) != 1 {
			t.Fatalf("after pruning: %d rows, %d pending; want only the pending one", h.count(`SELECT COUNT(*) FROM inbox_activities`), left)
		}

		g := h.signatureOf(t, alice)
		ev, err := signing.ParseEvidence(g.Evidence)
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.Verify(alice.IRI, noteIRI); err != nil {
			t.Errorf("evidence after pruning: %v", err)
		}

		// Received again after pruning, with a fresh signature: stored anew, applied again, nothing changes.
		h.send(t, alice, fedtest.Mastodon, reply)
		h.send(t, bob, fedtest.Mastodon, like)
		after := h.signingState()
		if after["inbox_activities"] != 3 { // the pending one and the two received again
			t.Errorf("inbox rows = %d, want 3", after["inbox_activities"])
		}
		delete(stateBefore, "inbox_activities")
		delete(stateBefore, "interactions")
		sameState(t, "received again after pruning", stateBefore, after)
		if got := h.count(`SELECT COUNT(*) FROM interactions`); got != interactions+1 { // +1: the pending like
			t.Errorf("interactions = %d, want %d", got, interactions+1)
		}
		if g2 := h.signatureOf(t, alice); g2.ID != g.ID || g2.Evidence != g.Evidence {
			t.Errorf("signature changed on replay: %+v → %+v", g, g2)
		}
		resp := alice.Post(t, h.sharedInbox(), reply, fedtest.SignOptions{})
		if resp.Status != http.StatusAccepted || !strings.Contains(resp.Body, "already received") {
			t.Errorf("third copy: %d %q, want already received", resp.Status, resp.Body)
		}
	})
}
