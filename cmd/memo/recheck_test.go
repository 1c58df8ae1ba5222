package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
)

// TestSignaturesRecheckCommand: `memo signatures recheck` withdraws a signature whose reply is gone, leaves one whose
// server answers 503 (and says so), keeps one that still signs; a second run finds nothing due; --all takes every
// standing one; a bad --since is a usage error.
func TestSignaturesRecheckCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MEMO_DATA", dir)
	t.Setenv("MEMO_DATABASE", "")
	t.Setenv("MEMO_ALLOW_PRIVATE_NETWORKS", "true")
	if code, _, stderr := runCLI(t, "signatures", "list"); code != 0 {
		t.Fatalf("list on a new database: exit %d: %s", code, stderr)
	}
	ctx := context.Background()
	store, err := storage.Open(ctx, filepath.Join(dir, "memo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	inst := fedtest.NewInstance(t, "mastodon")
	long := time.Now().Add(-40 * 24 * time.Hour)
	add := func(a *fedtest.Actor, noteID string) storage.Signature {
		t.Helper()
		g, err := store.AddSignature(ctx, storage.Signature{ActorIRI: a.IRI, ActorType: "Person", Handle: "@" + a.Username + "@" + inst.Host,
			DisplayName: a.Name, Domain: inst.Host, NoteIRI: noteID, InReplyTo: "http://localhost/memo", Content: "je signe",
			Revision: 1, Visibility: "public", SignedAt: long, ReceivedAt: long})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	alice, bob, carol := inst.NewActor("alice"), inst.NewActor("bob"), inst.NewActor("carol")
	aliceNote, bobNote, carolNote := inst.NextID("notes"), inst.NextID("notes"), inst.NextID("notes")
	doc, err := json.Marshal(map[string]any{"id": aliceNote, "type": "Note", "attributedTo": alice.IRI, "content": "<p>Je signe</p>",
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}})
	if err != nil {
		t.Fatal(err)
	}
	inst.AddDocument(strings.TrimPrefix(aliceNote, inst.Base), doc)
	inst.Handle(strings.TrimPrefix(carolNote, inst.Base), func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	ga, gb, gc := add(alice, aliceNote), add(bob, bobNote), add(carol, carolNote)

	code, out, stderr := runCLI(t, "signatures", "recheck")
	if code != 0 {
		t.Fatalf("recheck: exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{
		fmt.Sprintf("withdrawn  signature %d (@bob@%s): its note answers HTTP 404", gb.ID, inst.Host),
		fmt.Sprintf("unchanged  signature %d (@carol@%s): could not check, note: HTTP 503; tried again later", gc.ID, inst.Host),
		"3 signatures re-checked: 1 stand, 1 withdrawn, 1 could not be checked (left as they are)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("recheck output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, fmt.Sprintf("signature %d ", ga.ID)) {
		t.Errorf("a signature that stands is reported as a change:\n%s", out)
	}
	for _, c := range []struct {
		g        storage.Signature
		standing bool
	}{{ga, true}, {gb, false}, {gc, true}} {
		got, err := store.SignatureByID(ctx, c.g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Standing() != c.standing || got.CheckResult == "" {
			t.Errorf("signature %d: standing %v, check %q; want standing %v and a recorded check", c.g.ID, got.Standing(), got.CheckResult, c.standing)
		}
	}

	if code, out, _ := runCLI(t, "signatures", "recheck"); code != 0 || !strings.Contains(out, "0 signatures re-checked") {
		t.Errorf("second run: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "signatures", "recheck", "--all"); code != 0 || !strings.Contains(out, "2 signatures re-checked: 1 stand, 0 withdrawn, 1 could not be checked") {
		t.Errorf("--all: exit %d\n%s", code, out)
	}
	// --since: none was left unchecked since an hour ago; all were checked before a date to come.
	if code, out, _ := runCLI(t, "signatures", "recheck", "--since", "1h"); code != 0 || !strings.Contains(out, "0 signatures re-checked") {
		t.Errorf("--since 1h: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "signatures", "recheck", "--since", "2099-01-01"); code != 0 || !strings.Contains(out, "2 signatures re-checked") {
		t.Errorf("--since 2099-01-01: exit %d\n%s", code, out)
	}
	if code, _, stderr := runCLI(t, "signatures", "recheck", "--since", "soon"); code != 2 || !strings.Contains(stderr, "--since") {
		t.Errorf("bad --since: exit %d, %s", code, stderr)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-05-01":           time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
		"2026-05-01T10:00:00Z": time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC),
		"72h":                  now.Add(-72 * time.Hour),
		"7d":                   now.Add(-7 * 24 * time.Hour),
	} {
		if got, err := parseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "soon", "-3h", "x7d"} {
		if got, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) = %v, want an error", bad, got)
		}
	}
}
