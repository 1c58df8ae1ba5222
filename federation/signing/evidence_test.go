package signing

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/httpsign"
)

// signedEvidence sends a real signed POST over loopback and returns the evidence the receiving side records.
func signedEvidence(t *testing.T, key *rsa.PrivateKey, actor, noteID string) Evidence {
	t.Helper()
	body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"` + noteID + `/activity","type":"Create","actor":"` + actor +
		`","object":{"id":"` + noteID + `","type":"Note","attributedTo":"` + actor + `","content":"<p>je signe</p>","to":["https://www.w3.org/ns/activitystreams#Public"]},"signature":{"type":"RsaSignature2017","signatureValue":"abc"}}`)
	pemText, err := httpsign.PublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var ev Evidence
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		ev = NewEvidence(r, got, actor+"#main-key", actor, pemText, time.Now())
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/users/memo/inbox", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/activity+json")
	if err := httpsign.SignRequest(req, body, key, actor+"#main-key", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return ev
}

func TestEvidenceVerifies(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	actor, note := "https://a.example/users/ann", "https://a.example/users/ann/statuses/1"
	ev := signedEvidence(t, key, actor, note)
	if len(ev.LDSignature) == 0 {
		t.Fatal("embedded LD signature not kept")
	}
	stored, err := ev.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseEvidence(stored)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Verify(actor, note); err != nil {
		t.Fatalf("genuine evidence does not verify: %v", err)
	}

	otherPEM, _ := httpsign.PublicKeyPEM(&other.PublicKey)
	tamper := map[string]func(e *Evidence){
		"body": func(e *Evidence) { e.Body = bytes.Replace(e.Body, []byte("je signe"), []byte("je refuse"), 1) },
		"body and digest": func(e *Evidence) {
			e.Body = bytes.Replace(e.Body, []byte("je signe"), []byte("je refuse"), 1)
			e.Headers.Set("Digest", digestOf(e.Body))
		},
		"date":             func(e *Evidence) { e.Headers.Set("Date", "Mon, 02 Jan 2006 15:04:05 GMT") },
		"path":             func(e *Evidence) { e.Path = "/inbox" },
		"key":              func(e *Evidence) { e.KeyPEM = otherPEM },
		"key owner":        func(e *Evidence) { e.KeyOwner = "https://a.example/users/bob" },
		"no digest":        func(e *Evidence) { e.Headers.Del("Digest") },
		"no signature":     func(e *Evidence) { e.Headers.Del("Signature") },
		"key on elsewhere": func(e *Evidence) { e.KeyID = "https://b.example/users/ann#main-key" },
	}
	for name, change := range tamper {
		t.Run(name, func(t *testing.T) {
			e, err := ParseEvidence(stored)
			if err != nil {
				t.Fatal(err)
			}
			change(&e)
			if err := e.Verify(actor, note); !errors.Is(err, ErrEvidence) {
				t.Fatalf("tampered evidence: err = %v, want ErrEvidence", err)
			}
		})
	}
	if err := back.Verify("https://a.example/users/bob", note); !errors.Is(err, ErrEvidence) {
		t.Fatalf("evidence checked against another actor: err = %v", err)
	}
	if err := back.Verify(actor, note+"0"); !errors.Is(err, ErrEvidence) {
		t.Fatalf("evidence checked against another note: err = %v", err)
	}
	if _, err := ParseEvidence("{"); !errors.Is(err, ErrEvidence) {
		t.Fatalf("unreadable evidence: err = %v", err)
	}
}

func TestFetchedEvidence(t *testing.T) {
	actor, note := "https://a.example/users/ann", "https://a.example/n/1"
	e := Evidence{Kind: EvidenceFetched, Body: []byte(`{"id":"` + note + `","type":"Note","attributedTo":"` + actor + `"}`)}
	if err := e.Verify(actor, note); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("fetched evidence: err = %v, want ErrUnsigned", err)
	}
	e.Body = []byte(strings.Replace(string(e.Body), "ann", "bob", 1))
	if err := e.Verify(actor, note); errors.Is(err, ErrUnsigned) || err == nil {
		t.Fatalf("fetched evidence of another author: err = %v", err)
	}
}

func digestOf(b []byte) string {
	e := Evidence{Body: b}
	sum := e.bodySum()
	return "SHA-256=" + sum
}
