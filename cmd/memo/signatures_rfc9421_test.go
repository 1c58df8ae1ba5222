package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// rfc9421Evidence is the evidence of a signing reply received signed under RFC 9421 with key; tamper may change the
// body after signing.
func rfc9421Evidence(t *testing.T, key crypto.Signer, keyID, alg, actor, noteID string, tamper func([]byte) []byte) string {
	t.Helper()
	body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"` + noteID + `#create","type":"Create","actor":"` + actor +
		`","object":{"id":"` + noteID + `","type":"Note","attributedTo":"` + actor + `","content":"<p>je signe</p>"}}`)
	req, err := http.NewRequest(http.MethodPost, "https://memo.example/inbox", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := httpsign.SignRequest9421(req, body, key, keyID, httpsign.Sign9421Options{Alg: alg}); err != nil {
		t.Fatal(err)
	}
	pemText, err := httpsign.PublicKeyPEM(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		body = tamper(body)
	}
	ev, err := signing.NewEvidence(req, body, keyID, actor, pemText, time.Now()).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestSignaturesVerifyRFC9421: `memo signatures verify` checks evidence of RFC 9421 signatures (RSA and Ed25519) and
// reports one whose body no longer matches its Content-Digest.
func TestSignaturesVerifyRFC9421(t *testing.T) {
	ctx := context.Background()
	store := cliStore(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	add := func(user, evidence string) {
		actor := "https://peer.example/users/" + user
		if _, err := store.AddSignature(ctx, storage.Signature{
			ActorIRI: actor, ActorType: "Person", Handle: "@" + user + "@peer.example", DisplayName: user, Domain: "peer.example",
			ProfileURL: "https://peer.example/@" + user, NoteIRI: actor + "/statuses/1", InReplyTo: "https://memo.example/memo",
			Content: "je signe", Revision: 1, Visibility: "public", Evidence: evidence,
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		user, alg string
		key       crypto.Signer
		tamper    func([]byte) []byte
	}{
		{"rosa", "", rsaKey, nil},
		{"eddie", httpsign.AlgEd25519, edKey, nil},
		{"tampa", "", rsaKey, func(b []byte) []byte { return bytes.Replace(b, []byte("je signe"), []byte("je renie"), 1) }},
	} {
		actor := "https://peer.example/users/" + c.user
		add(c.user, rfc9421Evidence(t, c.key, actor+"#key", c.alg, actor, actor+"/statuses/1", c.tamper))
	}
	code, out, stderr := runCLI(t, "signatures", "verify")
	if code != 1 || !strings.Contains(out, "3 signatures checked: 2 verified, 0 fetched from their server (no HTTP signature), 1 failed") ||
		!strings.Contains(out, "(@tampa@peer.example): ") || !strings.Contains(out, "Content-Digest sha-256 does not match the body") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, stderr)
	}
}
