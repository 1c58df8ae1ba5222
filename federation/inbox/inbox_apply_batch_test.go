package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestApplyBatchIsolatesFailures: follows and likes pending together are applied in one batch; while the likes
// cannot be stored (their table is away) the follows still are, the likes stay pending, and they are applied once
// the table is back, each exactly once.
func TestApplyBatchIsolatesFailures(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		inst := fedtest.NewInstance(t, "batch")
		post := func(a *fedtest.Actor, m map[string]any) {
			m["@context"], m["actor"] = "https://www.w3.org/ns/activitystreams", a.IRI
			body, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			fedtest.MustAccept(t, a.Post(t, h.sharedInbox(), body, fedtest.SignOptions{}))
		}
		for i := range 6 {
			a := inst.NewActor(fmt.Sprintf("user%d", i))
			post(a, map[string]any{"id": inst.NextID("follows"), "type": "Follow", "object": h.urls.Actor()})
			post(a, map[string]any{"id": inst.NextID("likes"), "type": "Like", "object": h.urls.Memo()})
		}
		ctx := context.Background()
		if _, err := store.DB().ExecContext(ctx, `ALTER TABLE interactions RENAME TO interactions_away`); err != nil {
			t.Fatal(err)
		}
		if _, err := h.inbox.ProcessPending(ctx); err != nil {
			t.Fatalf("process: %v", err)
		}
		if got := h.count(`SELECT COUNT(*) FROM followers`); got != 6 {
			t.Errorf("%d followers after the batch, want the 6 follows applied beside the failing likes", got)
		}
		if got := h.count(`SELECT COUNT(*) FROM inbox_activities WHERE processed_at IS NULL`); got != 6 {
			t.Errorf("%d activities pending, want the 6 likes", got)
		}
		if _, err := store.DB().ExecContext(ctx, `ALTER TABLE interactions_away RENAME TO interactions`); err != nil {
			t.Fatal(err)
		}
		h.process()
		if got := h.count(`SELECT COUNT(*) FROM interactions`); got != 6 {
			t.Errorf("%d likes stored once the table is back, want 6", got)
		}
		if got := h.count(`SELECT COUNT(*) FROM inbox_activities WHERE processed_at IS NULL`); got != 0 {
			t.Errorf("%d activities still pending", got)
		}
	})
}

// BenchmarkApplyLikes is the background apply of stored Likes, 50 to a batch (what a burst leaves behind) on
// SQLite; the figure is per activity.
func BenchmarkApplyLikes(b *testing.B) {
	store, urls, in := applyOnly(b)
	ctx := context.Background()
	const batch = 50
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pendingLikes(b, store, urls, i*batch, (i+1)*batch)
		b.StartTimer()
		done, err := in.ProcessPending(ctx)
		if err != nil || done != batch {
			b.Fatalf("processed %d of %d: %v", done, batch, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/activity")
}
