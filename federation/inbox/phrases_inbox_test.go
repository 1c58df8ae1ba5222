package inbox

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/as"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestCustomPhraseSignsAndIsAdvertised: with the phrases replaced by "je soutiens", a reply saying it signs through
// the real inbox, a reply saying « je signe » does not, and the how-to-sign note seeded with those phrases quotes
// the one that signs.
func TestCustomPhraseSignsAndIsAdvertised(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		phrases := []string{"je soutiens"}
		h := newInboxHarness(t, store, inboxHarnessOpts{inbox: Config{Signing: signing.MustMatcher(phrases), NoAcknowledgement: true}})
		inst := fedtest.NewInstance(t, "mastodon")
		alice, bob := inst.NewActor("alice"), inst.NewActor("bob")
		h.send(t, alice, fedtest.Mastodon, activityOf(t, alice, "Create", noteOf(alice, inst.NextID("notes"), h.urls.Memo(), "<p>Je soutiens !</p>", publicTo(alice))))
		h.send(t, bob, fedtest.Mastodon, activityOf(t, bob, "Create", noteOf(bob, inst.NextID("notes"), h.urls.Memo(), "<p>Je signe</p>", publicTo(bob))))
		if g := h.signatureOf(t, alice); !g.Standing() || !g.Listed() {
			t.Errorf("alice's reply with the configured phrase = %+v, want a listed signature", g)
		}
		if _, err := storagetest.SignatureByActor(ctx, store, bob.IRI); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the default phrase signed although the phrases were replaced (err %v)", err)
		}

		n := as.HowToSignNote(h.urls, phrases, store.Now())
		if !strings.Contains(n.Content, "« je soutiens »") || strings.Contains(n.Content, "je signe") {
			t.Errorf("how-to-sign note with custom phrases: %s", n.Content)
		}
		def := as.HowToSignNote(h.urls, nil, store.Now())
		for _, p := range signing.DefaultPhrases {
			if !strings.Contains(def.Content, "« "+p+" »") {
				t.Errorf("the default how-to-sign note does not list %q", p)
			}
		}
	})
}
