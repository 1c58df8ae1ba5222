package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-fed/httpsig"

	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// dateOnlyEvidence is the evidence of a signing reply whose HTTP signature covers only its Date, its Signature
// header rewritten by rewrite. httpsig alone verifies it (checked here), so only the header's reading can refuse it.
func dateOnlyEvidence(t *testing.T, key *rsa.PrivateKey, actor, noteID string, rewrite func(string) string) string {
	t.Helper()
	body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"` + noteID + `#create","type":"Create","actor":"` + actor +
		`","object":{"id":"` + noteID + `","type":"Note","attributedTo":"` + actor + `","content":"<p>je signe</p>"}}`)
	req, err := http.NewRequest(http.MethodPost, "https://memo.example/inbox", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("Host", "memo.example")
	req.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, []string{"date"}, httpsig.Signature, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := signer.SignRequest(key, actor+"#main-key", req, nil); err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Signature", rewrite(req.Header.Get("Signature")))
	if v, err := httpsig.NewVerifier(req); err != nil {
		t.Fatalf("httpsig cannot read %q: %v", req.Header.Get("Signature"), err)
	} else if err := v.Verify(&key.PublicKey, httpsig.RSA_SHA256); err != nil {
		t.Fatalf("httpsig does not verify the rewritten header, the test proves nothing: %v", err)
	}
	pemText, err := httpsign.PublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "memo.example"
	req.URL.Host = "memo.example"
	ev, err := signing.NewEvidence(req, body, actor+"#main-key", actor, pemText, time.Now()).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestSignaturesVerifyHeaderVariants: `memo signatures verify` reads the Signature header of stored evidence as the
// inbox does, so the header-case, duplicate-parameter and quoted-comma rewritings of a Date-only signature fail
// there too, each with its reason, while genuine evidence beside them verifies.
func TestSignaturesVerifyHeaderVariants(t *testing.T) {
	ctx := context.Background()
	store := cliStore(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	variants := []struct {
		user, want string
		rewrite    func(string) string
	}{
		{"casey", `must be written "headers"`, func(sig string) string {
			return strings.Replace(sig, `headers="date"`, `Headers="(request-target) host date digest"`, 1)
		}},
		{"dupont", "headers given twice", func(sig string) string {
			return strings.Replace(sig, `headers="date"`, `headers="(request-target) host date digest"`, 1) + `,headers="date"`
		}},
		{"comma", `comma inside the quoted value of "x"`, func(sig string) string {
			return strings.Replace(sig, `headers="date"`, `headers="(request-target) host date digest"`, 1) + `,x="1,headers=date"`
		}},
	}
	store1 := func(user, evidence string) storage.Signature {
		actor := "https://peer.example/users/" + user
		g, err := store.AddSignature(ctx, storage.Signature{
			ActorIRI: actor, ActorType: "Person", Handle: "@" + user + "@peer.example", DisplayName: user, Domain: "peer.example",
			ProfileURL: "https://peer.example/@" + user, NoteIRI: actor + "/statuses/1", InReplyTo: "https://memo.example/memo",
			Content: "je signe", Revision: 1, Visibility: "public", Evidence: evidence,
		})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	genuineActor := "https://peer.example/users/gene"
	store1("gene", receivedEvidence(t, key, genuineActor, genuineActor+"/statuses/1"))
	var forged []storage.Signature
	for _, v := range variants {
		actor := "https://peer.example/users/" + v.user
		forged = append(forged, store1(v.user, dateOnlyEvidence(t, key, actor, actor+"/statuses/1", v.rewrite)))
	}

	code, out, stderr := runCLI(t, "signatures", "verify")
	if code != 1 || !strings.Contains(out, "4 signatures checked: 1 verified, 0 fetched from their server (no HTTP signature), 3 failed") ||
		!strings.Contains(stderr, "3 signatures do not verify") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, stderr)
	}
	lines := strings.Split(out, "\n")
	for i, v := range variants {
		prefix := fmt.Sprintf("FAILED signature %d (@%s@peer.example): ", forged[i].ID, v.user)
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				found = true
				if !strings.Contains(l, v.want) {
					t.Errorf("%s: reported %q, want the reason %q", v.user, l, v.want)
				}
			}
		}
		if !found {
			t.Errorf("%s: no FAILED line in\n%s", v.user, out)
		}
	}
}
