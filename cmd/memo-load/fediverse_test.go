package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/memo-fediverse/memo/federation/httpsign"
)

// TestActorDoc holds the appended actor document to what encoding its members would give: valid JSON, every
// member Mastodon sends, and a PEM that parses back to the actor's pool key.
func TestActorDoc(t *testing.T) {
	f, err := newFediverse(2, 2, "http://127.0.0.1:1", "http://127.0.0.1:1/actor#main-key")
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	a := f.actor(3)
	k, ok := f.keyIndex(a.name)
	if !ok {
		t.Fatalf("keyIndex(%q) failed", a.name)
	}
	var got struct {
		Context           []string `json:"@context"`
		ID, Type, URL     string
		PreferredUsername string
		Name              string
		Inbox, Outbox     string
		Followers         string
		Endpoints         struct{ SharedInbox string }
		PublicKey         struct{ ID, Owner, PublicKeyPem string }
	}
	doc := a.inst.actorDoc(a.name, k)
	if err := json.Unmarshal(doc, &got); err != nil {
		t.Fatalf("actor document is not JSON: %v\n%s", err, doc)
	}
	want := map[string][2]string{
		"id":                {got.ID, a.IRI},
		"type":              {got.Type, "Person"},
		"preferredUsername": {got.PreferredUsername, "u3"},
		"name":              {got.Name, "Load u3"},
		"url":               {got.URL, a.inst.Base + "/@u3"},
		"inbox":             {got.Inbox, a.IRI + "/inbox"},
		"outbox":            {got.Outbox, a.IRI + "/outbox"},
		"followers":         {got.Followers, a.IRI + "/followers"},
		"sharedInbox":       {got.Endpoints.SharedInbox, a.inst.Base + "/inbox"},
		"publicKey.id":      {got.PublicKey.ID, a.KeyID},
		"publicKey.owner":   {got.PublicKey.Owner, a.IRI},
	}
	for member, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", member, v[0], v[1])
		}
	}
	if len(got.Context) != 2 || got.Context[0] != "https://www.w3.org/ns/activitystreams" {
		t.Errorf("@context = %q", got.Context)
	}
	pub, err := httpsign.ParsePublicKeyPEM(got.PublicKey.PublicKeyPem)
	if err != nil {
		t.Fatalf("publicKeyPem: %v", err)
	}
	if !pub.Equal(&a.key.PublicKey) {
		t.Errorf("publicKeyPem is not actor u3's key")
	}
}

// binaryPages finds this test binary's own resident code, by package, within what the kernel counts as mapped from
// files.
func TestBinaryPages(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	parts, err := binaryPages(os.Getpid(), exe)
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mb := range parts {
		total += mb
	}
	if parts["runtime"] <= 0 || parts[".gopclntab"] <= 0 {
		t.Errorf("no resident pages of runtime or of the function tables: %v", topParts(parts, 8))
	}
	s := &memoServer{cmd: &exec.Cmd{Process: &os.Process{Pid: os.Getpid()}}}
	if file := s.fileRSSMB(); total > file+0.01 {
		t.Errorf("binary pages %.2f MB, more than RssFile %.2f MB", total, file)
	}
	if got := packageOf("github.com/go-fed/activity/streams/impl/activitystreams/property_object.(*X).Serialize"); got != "github.com/go-fed/activity/streams/..." {
		t.Errorf("packageOf go-fed = %q", got)
	}
	for sym, want := range map[string]string{
		"net/http.(*conn).serve": "net/http",
		"crypto/ecdsa.signFIPS[go.shape.*crypto/internal/fips140/nistec.P256Point]": "crypto/ecdsa",
		"slices.pdqsortCmpFunc[go.shape.struct { net/http.key string }]":            "slices",
		"type:.eq.[16]github.com/jackc/pgx/v5/pgconn.X":                             "type: (generated)",
		"main.main": "main",
	} {
		if got := packageOf(sym); got != want {
			t.Errorf("packageOf(%q) = %q, want %q", sym, got, want)
		}
	}
	if got := mainParts(map[string]float64{"a": 1, "b": 0.1, "c": 0.2}, 0.25); len(got) != 2 || got["a"] != 1 || got["other"] < 0.29 || got["other"] > 0.31 {
		t.Errorf("mainParts = %v", got)
	}
}
