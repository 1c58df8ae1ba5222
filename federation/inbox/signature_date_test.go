package inbox

import (
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/as"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestSignatureDateThroughInbox: a reply's published date becomes the signature's date when it is plausible, the
// reception time otherwise (before the revision it signs, or in the future); the reception time is kept in both
// cases, and the collection shows the signature's date.
func TestSignatureDateThroughInbox(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		o := as.New(h.urls, store, nil)
		now := time.Now().UTC().Truncate(time.Second)
		revisionAt := now.Add(-10 * 24 * time.Hour)
		if _, err := store.DB().Exec(store.DB().Rebind(`UPDATE revisions SET published_at = ?`), revisionAt.UnixMilli()); err != nil {
			t.Fatal(err)
		}
		inst := fedtest.NewInstance(t, "mastodon")
		cases := []struct {
			user      string
			published time.Time
			fromNote  bool
		}{
			{"alice", now.Add(-2 * 24 * time.Hour), true},
			{"bob", revisionAt.Add(-24 * time.Hour), false},
			{"carol", now.Add(2 * time.Hour), false},
		}
		for _, c := range cases {
			a := inst.NewActor(c.user)
			note := noteOf(a, inst.NextID("notes"), h.urls.Memo(), "<p>Je signe</p>", publicTo(a))
			note["published"] = c.published.Format(time.RFC3339)
			before := time.Now().Add(-time.Second)
			h.send(t, a, fedtest.Mastodon, activityOf(t, a, "Create", note))
			g := h.signatureOf(t, a)
			if g.ReceivedAt.Before(before) || g.ReceivedAt.After(time.Now().Add(time.Second)) {
				t.Errorf("%s: received at %v, want the reception (%v)", c.user, g.ReceivedAt, before)
			}
			want := g.ReceivedAt
			if c.fromNote {
				want = c.published
			}
			if !g.SignedAt.Equal(want) {
				t.Errorf("%s: signed at %v, want %v (published %v, received %v)", c.user, g.SignedAt, want, c.published, g.ReceivedAt)
			}
			if got := o.SignatureObject(g)["published"]; got != want.Truncate(time.Second).Format(time.RFC3339) {
				t.Errorf("%s: collection item published %v, want %v", c.user, got, want)
			}
		}
	})
}
