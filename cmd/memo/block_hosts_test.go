package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/storage"
)

// `memo block domain` stores the domain in canonical form, whatever spelling the admin types, so that the inbox
// (which compares canonical hosts) sees the block.
func TestBlockDomainStoresCanonicalHost(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MEMO_DATA", dir)
	t.Setenv("MEMO_DATABASE", "")
	if code, _, stderr := runCLI(t, "block"); code != 0 {
		t.Fatalf("block list on a new database: exit %d: %s", code, stderr)
	}
	ctx := context.Background()
	store, err := storage.Open(ctx, filepath.Join(dir, "memo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	actor := "https://evil.example/users/u"
	if _, err := store.AddSignature(ctx, storage.Signature{ActorIRI: actor, ActorType: "Person", Handle: "@u@evil.example", DisplayName: "U",
		Domain: "evil.example", NoteIRI: actor + "/n/1", InReplyTo: "https://memo.example/memo", Content: "je signe", Revision: 1, Visibility: "public"}); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := runCLI(t, "block", "domain", "EVIL.Example.")
	if code != 0 || !strings.Contains(out, "blocked domain evil.example; 1 signatures hidden") {
		t.Fatalf("block domain EVIL.Example.: exit %d\n%s%s", code, out, stderr)
	}
	for _, spelling := range []string{"evil.example:443", "EVIL.example."} {
		if code, out, _ := runCLI(t, "block", "domain", spelling); code != 0 || !strings.Contains(out, "domain evil.example was already blocked") {
			t.Errorf("block domain %s again: exit %d %s", spelling, code, out)
		}
	}
	if code, out, stderr := runCLI(t, "block", "domain", "BÜCHER.example"); code != 0 || !strings.Contains(out, "blocked domain xn--bcher-kva.example") {
		t.Fatalf("block domain BÜCHER.example: exit %d\n%s%s", code, out, stderr)
	}
	blocks, err := store.Blocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, b := range blocks {
		values = append(values, b.Value)
	}
	slices.Sort(values)
	if !slices.Equal(values, []string{"evil.example", "xn--bcher-kva.example"}) {
		t.Fatalf("stored blocks = %v", values)
	}
	for _, host := range []string{"evil.example", "EVIL.example.", "evil.example:443", "sub.Evil.Example.", "bücher.example"} {
		if blocked, err := store.IsBlocked(ctx, "https://"+host+"/users/x", host); err != nil || !blocked {
			t.Errorf("IsBlocked(%s) = %v, %v", host, blocked, err)
		}
	}
	if code, out, _ := runCLI(t, "unblock", "domain", "Evil.Example."); code != 0 || !strings.Contains(out, "unblocked domain evil.example") {
		t.Fatalf("unblock Evil.Example.: exit %d %s", code, out)
	}
}
