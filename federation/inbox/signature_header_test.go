package inbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/go-fed/httpsig"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// headerVariants rewrite a Signature header whose signature covers only `date` so that a reader matching names
// without case, keeping the first of two parameters or honouring quoted commas sees the four headers an inbox
// requires, while go-fed/httpsig reads `date` alone and verifies it. want is a word of our refusal.
var headerVariants = []struct {
	name, want string
	rewrite    func(sig string) string
}{
	{"header-case", `must be written "headers"`, func(sig string) string {
		return strings.Replace(sig, `headers="date"`, `Headers="(request-target) host date digest"`, 1)
	}},
	{"duplicate parameter", "headers given twice", func(sig string) string {
		return strings.Replace(sig, `headers="date"`, `headers="(request-target) host date digest"`, 1) + `,headers="date"`
	}},
	{"quoted comma", `comma inside the quoted value of "x"`, func(sig string) string {
		return strings.Replace(sig, `headers="date"`, `headers="(request-target) host date digest"`, 1) + `,x="1,headers=date"`
	}},
}

// TestInboxSignatureHeaderVariants: a request Alice signed over its Date alone is replayed with a signing reply as
// its body, its Signature header rewritten three ways. httpsig alone would verify each one; the inbox refuses them
// with 401 and a reason, and nothing is stored.
func TestInboxSignatureHeaderVariants(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		h := newInboxHarness(t, store, inboxHarnessOpts{})
		home := fedtest.NewInstance(t, "mastodon")
		alice := home.NewActor("alice")
		// What was captured: any request of Alice's signed over `date` only.
		captured := alice.NewRequest(t, h.sharedInbox(), []byte(`{}`), fedtest.SignOptions{Headers: []string{"date"}})
		sig := captured.Header.Get("Signature")
		if !strings.Contains(sig, `headers="date"`) {
			t.Fatalf("captured header %q does not cover date alone", sig)
		}
		reply := func() []byte {
			return activityOf(t, alice, "Create", noteOf(alice, home.NextID("notes"), h.urls.Memo(), "<p>Je signe</p>", publicTo(alice)))
		}
		build := func(header string, forged []byte) *http.Request {
			sum := sha256.Sum256(forged)
			req, err := http.NewRequest(http.MethodPost, h.sharedInbox(), bytes.NewReader(forged))
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"Date", "Host", "Content-Type", "User-Agent"} {
				req.Header.Set(k, captured.Header.Get(k))
			}
			req.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
			req.Header.Set("Signature", header)
			return req
		}
		for _, v := range headerVariants {
			t.Run(v.name, func(t *testing.T) {
				header, forged := v.rewrite(sig), reply()
				// The attack is real: httpsig, reading the header its own way, verifies it with Alice's key.
				probe := build(header, forged)
				probe.Header.Set("Host", probe.URL.Host)
				hv, err := httpsig.NewVerifier(probe)
				if err != nil {
					t.Fatalf("httpsig cannot read %q: %v", header, err)
				}
				if err := hv.Verify(&alice.Key.PublicKey, httpsig.RSA_SHA256); err != nil {
					t.Fatalf("httpsig does not verify the forged request, the test proves nothing: %v", err)
				}
				before := h.signingState()
				resp := fedtest.Do(t, build(header, forged))
				h.process()
				if resp.Status != http.StatusUnauthorized || !strings.Contains(resp.Body, v.want) {
					t.Errorf("status %d (%s), want 401 saying %q", resp.Status, strings.TrimSpace(resp.Body), v.want)
				}
				sameState(t, v.name, before, h.signingState())
			})
		}
		if n, err := signatureTotal(ctx, store); err != nil || n != 0 {
			t.Fatalf("signatures after the forgeries: %d (%v), want 0", n, err)
		}
		if _, err := store.Actor(ctx, alice.IRI); err == nil {
			t.Errorf("alice's key was cached by a refused request")
		}

		// The same reply, signed as Mastodon signs, stands.
		before := h.signingState()
		fedtest.MustAccept(t, alice.Post(t, h.sharedInbox(), reply(), fedtest.SignOptions{}))
		h.process()
		if g := h.signatureOf(t, alice); !g.Standing() {
			t.Fatalf("genuine signature = %+v", g)
		}
		if after := h.signingState(); after["signatures"] != before["signatures"]+1 {
			t.Errorf("signatures went from %d to %d, want one more", before["signatures"], after["signatures"])
		}
	})
}
