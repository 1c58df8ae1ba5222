package delivery

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/outbox"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func TestRetractQueuesDeleteTombstone(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		clk := newClock()
		s.SetClock(clk.Now)
		urls := content.URLs{Base: "http://memo.test", Username: "memo"}
		if err := s.PutImpulse(ctx, storage.Impulse{Slug: "lecon-1", Kind: "lesson", Position: 1, Markdown: "x", HTML: "<p>x</p>", PublishedAt: clk.Now(), UpdatedAt: clk.Now()}); err != nil {
			t.Fatal(err)
		}
		shared := newInstance(t, fedtest.Failure{})
		personal := newInstance(t, fedtest.Failure{})
		follow(t, s, shared, 3, true)
		follow(t, s, personal, 2, false)

		if _, err := outbox.Retract(ctx, s, urls, "nope"); err == nil || !strings.Contains(err.Error(), "no impulse") {
			t.Fatalf("unknown slug: %v", err)
		}
		r, err := outbox.Retract(ctx, s, urls, "lecon-1")
		if err != nil || r.Recipients != 3 || r.Already || r.ActivityIRI != urls.Impulse("lecon-1")+"#delete" {
			t.Fatalf("Retract = %+v, %v", r, err)
		}
		imp, err := s.Impulse(ctx, "lecon-1")
		if err != nil || !imp.Retracted() || !imp.RetractedAt.Equal(clk.Now()) {
			t.Fatalf("impulse after retract: %+v, %v", imp, err)
		}
		a, err := s.ActivityByIRI(ctx, r.ActivityIRI)
		if err != nil || a.Type != "Delete" || a.ObjectIRI != urls.Impulse("lecon-1") {
			t.Fatalf("stored Delete: %+v, %v", a, err)
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(a.Body), &body); err != nil {
			t.Fatal(err)
		}
		obj, _ := body["object"].(map[string]any)
		if body["type"] != "Delete" || body["actor"] != urls.Actor() || obj["type"] != "Tombstone" || obj["id"] != urls.Impulse("lecon-1") ||
			obj["formerType"] != "Note" || obj["deleted"] != clk.Now().Format(time.RFC3339) {
			t.Fatalf("Delete body: %s", a.Body)
		}
		// Again: nothing new.
		again, err := outbox.Retract(ctx, s, urls, "lecon-1")
		if err != nil || !again.Already {
			t.Fatalf("second Retract = %+v, %v", again, err)
		}

		startWorker(t, Config{Store: s, Clock: clk.Now, Lease: 10 * time.Second})
		waitIdle(t, s, clk)
		if arrived(shared, "/inbox") != 1 || total(shared) != 1 || arrived(personal, pathOf(0)) != 1 || arrived(personal, pathOf(1)) != 1 {
			t.Fatalf("Delete deliveries: shared %v, personal %v", shared.Tally().Arrived, personal.Tally().Arrived)
		}
		rows, err := storagetest.DeliveriesOf(ctx, s, r.ActivityIRI)
		if err != nil || len(rows) == 0 {
			t.Fatalf("deliveries of %s: %d rows, %v", r.ActivityIRI, len(rows), err)
		}
		for _, d := range rows {
			if d.State != storage.DeliveryDelivered {
				t.Fatalf("delivery %+v", d)
			}
		}
		if shared.Tally().Kinds["Delete Tombstone"] != 1 || personal.Tally().Kinds["Delete Tombstone"] != 2 {
			t.Fatalf("received %v and %v, want Delete{Tombstone} only", shared.Tally().Kinds, personal.Tally().Kinds)
		}
	})
}
