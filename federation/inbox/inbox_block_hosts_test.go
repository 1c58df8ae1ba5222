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

// A domain block holds against every spelling of the host: case, a trailing dot, the default port, IDNA. The
// block is checked before any key is fetched, so each request is refused with 403 and its reason, and nothing but
// the refusal is recorded.
func TestDomainBlockSpellings(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		for _, b := range [][2]string{{"domain", "Evil.Example."}, {"domain", "bücher.example"}, {"actor", "https://troll.example/users/troll"}} {
			if _, err := store.BlockAndHide(ctx, b[0], b[1], "test"); err != nil {
				t.Fatal(err)
			}
		}
		// A live instance reached as LocalHost: its actors are on a host blocked as "LOCALHOST.".
		live := fedtest.NewInstance(t, "live")
		port := live.Host[strings.LastIndexByte(live.Host, ':'):]
		live.Base = "http://LocalHost" + port
		liveActor := live.NewActor("lou")
		if _, err := store.BlockAndHide(ctx, "domain", "LOCALHOST.", "test"); err != nil {
			t.Fatal(err)
		}
		signer := fedtest.NewInstance(t, "keys").NewActor("signer") // its key signs the requests from unreachable hosts

		for _, base := range []string{
			"https://EVIL.example.", "https://evil.example.", "https://evil.example:443", "https://EVIL.example.:443",
			"https://sub.evil.example.", "https://BÜCHER.example", "https://xn--bcher-kva.example.", "https://troll.EXAMPLE.:443",
			live.Base,
		} {
			t.Run(base, func(t *testing.T) {
				actor := base + "/users/troll"
				if base == live.Base {
					actor = liveActor.IRI
				}
				like, err := json.Marshal(map[string]any{
					"@context": "https://www.w3.org/ns/activitystreams", "id": base + "/likes/1", "type": "Like",
					"actor": actor, "object": h.urls.Memo(),
				})
				if err != nil {
					t.Fatal(err)
				}
				before := h.counts()
				// Unreachable hosts sign with another key under their own keyId: the block must refuse them before
				// any fetch. The live actor signs with its own key.
				sender, opts := signer, fedtest.SignOptions{Key: signer.Key, KeyID: actor + "#main-key"}
				if base == live.Base {
					sender, opts = liveActor, fedtest.SignOptions{}
				}
				resp := sender.Post(t, h.sharedInbox(), like, opts)
				h.process()
				if resp.Status != http.StatusForbidden || !strings.Contains(resp.Body, "blocked") {
					t.Fatalf("status %d %q, want 403 blocked", resp.Status, strings.TrimSpace(resp.Body))
				}
				before["refused"]++
				sameState(t, base, before, h.counts())
			})
		}
		if n := h.count(`SELECT COUNT(*) FROM interactions`); n != 0 {
			t.Fatalf("%d interactions stored from blocked hosts", n)
		}
	})
}
