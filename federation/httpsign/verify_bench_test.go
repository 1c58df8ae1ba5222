package httpsign_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/httpsign"
)

// BenchmarkVerifyInboxRequest is what the inbox spends on a signature once it has the key: parse the header,
// check Date, Digest and the signed-header set, then the RSA-2048 verification itself.
func BenchmarkVerifyInboxRequest(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "activitypub", "mastodon", "create-note-reply.json"))
	if err != nil {
		b.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "https://memo.example/inbox", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/activity+json")
	if err := httpsign.SignRequest(req, body, key, "https://mastodon.example/users/alice#main-key", time.Now()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		p, err := httpsign.ParseSignatureHeader(httpsign.SignatureHeader(req))
		if err != nil {
			b.Fatal(err)
		}
		if e := p.Request(req, body, "memo.example", time.Now()); e != nil {
			b.Fatal(e)
		}
		if err := httpsign.VerifySignature(req, p, &key.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignDelivery is the cost of signing one outgoing POST, which bounds the fan-out.
func BenchmarkSignDelivery(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 2500)
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "https://mastodon.example/inbox", nil)
		if err := httpsign.SignRequest(req, body, key, "https://memo.example/users/memo#main-key", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
