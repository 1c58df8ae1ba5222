package outbox

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// TestFollowersDigestFEPExample: the digest of FEP-8fcf's own example (its "Partial follower collection digest"
// section), each SHA-256 and their XOR.
func TestFollowersDigestFEPExample(t *testing.T) {
	if got := FollowersDigest([]string{"https://testing.example.org/users/1"}); got != "3a06e99569547f444c352ab7f52e4bab207abec5ca6f07b0045cfdc9723f8fa9" {
		t.Errorf("digest of users/1 = %s", got)
	}
	if got := FollowersDigest([]string{"https://testing.example.org/users/2"}); got != "f939a1585d4a8f02ee339210dbe7315d7003476663d6095f7d996fc4bc7a49b6" {
		t.Errorf("digest of users/2 = %s", got)
	}
	want := "c33f48cd341ef046a206b8a72ec97af65079f9a3a9b90eef79c5920dce45c61f"
	for _, order := range [][]string{
		{"https://testing.example.org/users/1", "https://testing.example.org/users/2"},
		{"https://testing.example.org/users/2", "https://testing.example.org/users/1"},
	} {
		if got := FollowersDigest(order); got != want {
			t.Errorf("digest of %v = %s, want %s", order, got, want)
		}
	}
	if got := FollowersDigest(nil); got != strings.Repeat("0", 64) {
		t.Errorf("digest of nobody = %s", got)
	}
	three := []string{"https://a.example/users/x", "https://b.example/users/y", "https://a.example/users/z"}
	if got, want := FollowersDigest(three), xorSHA256(three...); got != want {
		t.Errorf("digest of %v = %s, the FEP's formula gives %s", three, got, want)
	}
}

// xorSHA256 is the FEP's formula written out again, independently of FollowersDigest.
func xorSHA256(iris ...string) string {
	out := make([]byte, sha256.Size)
	for _, iri := range iris {
		sum := sha256.Sum256([]byte(iri))
		for i, b := range sum {
			out[i] ^= b
		}
	}
	return hex.EncodeToString(out)
}

// TestAddressedToMemo: the remembered answer is addressedTo's, for bodies that differ only where it matters.
func TestAddressedToMemo(t *testing.T) {
	const followers = "https://memo.example/users/memo/followers"
	to := []byte(`{"type":"Update","to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["` + followers + `"]}`)
	notTo := []byte(`{"type":"Update","to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["` + followers + `x"]}`)
	for range 2 { // the second time from the memo
		if !addressedToMemo(to, followers) {
			t.Error("an activity with the followers in cc is not addressed to them")
		}
		if addressedToMemo(notTo, followers) {
			t.Error("an activity naming another collection is addressed to the followers")
		}
		if addressedToMemo(to, followers+"/other") {
			t.Error("the answer for one collection was given for another")
		}
	}
}

// BenchmarkAddressedToMemo is the question asked for every inbox of a fan-out, on a 70 KB Update: once decoded,
// then answered from the hash of the body.
func BenchmarkAddressedToMemo(b *testing.B) {
	const followers = "https://memo.example/users/memo/followers"
	body := []byte(`{"type":"Update","to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["` + followers + `"],"object":{"content":"` + strings.Repeat("texte du mémo ", 5000) + `"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if !addressedToMemo(body, followers) {
			b.Fatal("not addressed to the followers")
		}
	}
}
