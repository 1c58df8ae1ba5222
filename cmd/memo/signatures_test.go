package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// receivedEvidence signs a Create{Note} as actor, posts it over loopback and returns the evidence the receiving
// side records, as the inbox does.
func receivedEvidence(t *testing.T, key *rsa.PrivateKey, actor, noteID string) string {
	t.Helper()
	body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"` + noteID + `#create","type":"Create","actor":"` + actor +
		`","object":{"id":"` + noteID + `","type":"Note","attributedTo":"` + actor + `","content":"<p>je signe</p>"}}`)
	pemText, err := httpsign.PublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var ev signing.Evidence
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := io.ReadAll(r.Body)
		ev = signing.NewEvidence(r, got, actor+"#main-key", actor, pemText, time.Now())
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/inbox", bytes.NewReader(body))
	if err := httpsign.SignRequest(req, body, key, actor+"#main-key", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s, err := ev.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// cliStore points the commands run by runCLI at a new data folder, has `memo signatures list` create its database
// as an admin's first command would, and opens that database for the test to fill.
func cliStore(t *testing.T) *storage.Store {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("MEMO_DATA", dir)
	t.Setenv("MEMO_DATABASE", "")
	if code, _, stderr := runCLI(t, "signatures", "list"); code != 0 {
		t.Fatalf("list on a new database: exit %d: %s", code, stderr)
	}
	store, err := storage.Open(context.Background(), filepath.Join(dir, "memo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func TestSignaturesCommands(t *testing.T) {
	ctx := context.Background()
	store := cliStore(t)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	add := func(user, name, domain, vis string) storage.Signature {
		actor := "https://" + domain + "/users/" + user
		note := actor + "/statuses/1"
		g, err := store.AddSignature(ctx, storage.Signature{
			ActorIRI: actor, ActorType: "Person", Handle: "@" + user + "@" + domain, DisplayName: name, Domain: domain,
			ProfileURL: "https://" + domain + "/@" + user, NoteIRI: note, InReplyTo: "https://memo.example/memo",
			Content: "je signe", Revision: 1, Visibility: vis, Evidence: receivedEvidence(t, key, actor, note),
		})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	ana := add("ana", "=HYPERLINK(\"x\")", "a.example", "public")
	ben := add("ben", "Ben", "b.example", "followers")
	cat := add("cat", "Cat", "spam.example", "unlisted")

	code, out, stderr := runCLI(t, "signatures", "list")
	if code != 0 || !strings.Contains(out, "@ana@a.example") || !strings.Contains(out, "@cat@spam.example") || strings.Contains(out, "@ben@") {
		t.Fatalf("list: exit %d\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "3 signatures: 2 public, 1 private") {
		t.Fatalf("list counts:\n%s", out)
	}
	if _, out, _ = runCLI(t, "signatures", "list", "--all"); !strings.Contains(out, "@ben@b.example") {
		t.Fatalf("list --all misses the private signature:\n%s", out)
	}
	if _, out, _ = runCLI(t, "signatures", "list", "--search", "SPAM"); strings.Contains(out, "@ana@") || !strings.Contains(out, "@cat@") {
		t.Fatalf("list --search:\n%s", out)
	}

	// CSV: public only by default, formula-safe names, no evidence column.
	code, out, stderr = runCLI(t, "signatures", "export", "--format", "csv")
	if code != 0 {
		t.Fatalf("export csv: exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		t.Fatalf("csv rows = %q", rows)
	}
	if rows[1][1] != "@ana@a.example" || rows[1][2] != `'=HYPERLINK("x")` || rows[1][4] != "person" || rows[1][10] != "public" || rows[2][1] != "@cat@spam.example" {
		t.Fatalf("csv content = %q", rows[1:])
	}
	_, out, _ = runCLI(t, "signatures", "export", "--format", "csv", "--private", "--evidence")
	rows, _ = csv.NewReader(strings.NewReader(out)).ReadAll()
	if len(rows) != 4 || rows[0][len(rows[0])-1] != "evidence" {
		t.Fatalf("csv --private --evidence rows = %d, header %q", len(rows), rows[0])
	}
	ev, err := signing.ParseEvidence(rows[2][len(rows[2])-1])
	if err != nil || ev.Verify(ben.ActorIRI, ben.NoteIRI) != nil {
		t.Fatalf("exported evidence does not verify on its own: %v / %v", err, ev.Verify(ben.ActorIRI, ben.NoteIRI))
	}

	// JSON, with evidence that a third party can check with nothing but the file.
	code, out, stderr = runCLI(t, "signatures", "export", "--format", "json", "--evidence")
	if code != 0 {
		t.Fatalf("export json: exit %d: %s", code, stderr)
	}
	var list []exported
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("export json is not JSON: %v\n%s", err, out)
	}
	if len(list) != 2 || list[0].Number != ana.ID || list[1].Number != cat.ID || list[0].Reply != ana.NoteIRI || list[1].Visibility != "unlisted" {
		t.Fatalf("json export = %+v", list)
	}
	for _, e := range list {
		ev, err := signing.ParseEvidence(string(e.Evidence))
		if err != nil || ev.Verify(e.Actor, e.Reply) != nil {
			t.Fatalf("json evidence of %d does not verify: %v", e.Number, err)
		}
	}
	if _, out, _ = runCLI(t, "signatures", "export", "--format", "json"); strings.Contains(out, "evidence") {
		t.Fatal("evidence exported without --evidence")
	}
	if code, _, _ := runCLI(t, "signatures", "export", "--format", "xml"); code != 2 {
		t.Fatalf("export --format xml: exit %d, want 2", code)
	}

	// verify: all good, then a tampered body is reported and the exit status says so.
	code, out, _ = runCLI(t, "signatures", "verify")
	if code != 0 || !strings.Contains(out, "3 signatures checked: 3 verified") {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	g, err := store.SignatureByID(ctx, ben.ID)
	if err != nil {
		t.Fatal(err)
	}
	tampered, err := signing.ParseEvidence(g.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	tampered.Body = bytes.Replace(tampered.Body, []byte("je signe"), []byte("je refuse"), 1)
	text, err := tampered.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.DB().Exec(store.DB().Rebind(`UPDATE signatures SET evidence = ? WHERE id = ?`), text, ben.ID); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runCLI(t, "signatures", "verify")
	if code != 1 || !strings.Contains(out, "FAILED signature 2 (@ben@b.example)") || !strings.Contains(out, "Digest") || !strings.Contains(stderr, "1 signatures do not verify") {
		t.Fatalf("verify after tampering: exit %d\n%s%s", code, out, stderr)
	}

	// hide / show.
	if code, out, _ := runCLI(t, "signatures", "hide", "1"); code != 0 || !strings.Contains(out, "now hidden") {
		t.Fatalf("hide: exit %d %s", code, out)
	}
	if _, out, _ = runCLI(t, "signatures", "list"); strings.Contains(out, "@ana@") {
		t.Fatalf("hidden signature still listed:\n%s", out)
	}
	if code, out, _ := runCLI(t, "signatures", "show", "1"); code != 0 || !strings.Contains(out, "now standing") {
		t.Fatalf("show: exit %d %s", code, out)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"signatures", "hide", "999"}, 1},
		{[]string{"signatures", "hide", "abc"}, 2},
		{[]string{"signatures", "hide"}, 2},
		{[]string{"signatures", "frobnicate"}, 2},
		{[]string{"signatures"}, 2},
		{[]string{"signatures", "list", "--limit", "0"}, 2},
	} {
		if code, _, stderr := runCLI(t, c.args...); code != c.code || stderr == "" {
			t.Errorf("%v: exit %d (want %d), stderr %q", c.args, code, c.code, stderr)
		}
	}
	if code, _, _ := runCLI(t, "signatures", "verify", "--help"); code != 0 {
		t.Errorf("signatures verify --help: exit %d", code)
	}
}

func TestModerationCommands(t *testing.T) {
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
	for i, d := range []string{"spam.example", "eu.spam.example", "good.example"} {
		actor := "https://" + d + "/users/u"
		if _, err := store.AddSignature(ctx, storage.Signature{ActorIRI: actor, ActorType: "Person", Handle: "@u@" + d, DisplayName: "U",
			Domain: d, NoteIRI: actor + "/n/" + string(rune('0'+i)), InReplyTo: "https://memo.example/memo", Content: "je signe", Revision: 1, Visibility: "public"}); err != nil {
			t.Fatal(err)
		}
	}

	code, out, stderr := runCLI(t, "block", "domain", "SPAM.example", "--reason", "spam wave")
	if code != 0 || !strings.Contains(out, "blocked domain spam.example; 2 signatures hidden, 0 followers removed") {
		t.Fatalf("block domain: exit %d\n%s%s", code, out, stderr)
	}
	if blocked, err := store.IsBlocked(ctx, "https://spam.example/users/x", "spam.example"); err != nil || !blocked {
		t.Fatalf("the inbox's check does not see the block (err %v)", err)
	}
	if c, err := store.CountSignatures(ctx); err != nil || c.Public != 1 || c.Hidden != 2 {
		t.Fatalf("counts after block = %+v (err %v)", c, err)
	}
	code, out, _ = runCLI(t, "block", "actor", "https://good.example/users/u")
	if code != 0 || !strings.Contains(out, "1 signatures hidden") {
		t.Fatalf("block actor: exit %d %s", code, out)
	}
	if _, out, _ = runCLI(t, "block"); !strings.Contains(out, "spam.example") || !strings.Contains(out, "spam wave") || !strings.Contains(out, "https://good.example/users/u") {
		t.Fatalf("block list:\n%s", out)
	}
	if code, out, _ := runCLI(t, "unblock", "domain", "spam.example"); code != 0 || !strings.Contains(out, "unblocked domain spam.example") {
		t.Fatalf("unblock: exit %d %s", code, out)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"unblock", "domain", "spam.example"}, 1},
		{[]string{"block", "actor", "javascript:alert(1)"}, 2},
		{[]string{"block", "domain", "https://x.example/"}, 2},
		{[]string{"block", "user", "x"}, 2},
		{[]string{"block", "domain"}, 2},
		{[]string{"unblock"}, 2},
		{[]string{"refused", "--limit", "5000"}, 2},
	} {
		if code, _, stderr := runCLI(t, c.args...); code != c.code || stderr == "" {
			t.Errorf("%v: exit %d (want %d), stderr %q", c.args, code, c.code, stderr)
		}
	}
	if blocks, err := store.Blocks(ctx); err != nil || len(blocks) != 1 {
		t.Fatalf("blocks after bad input = %+v (err %v)", blocks, err)
	}

	if err := store.AddRefusal(ctx, storage.Refusal{RemoteAddr: "192.0.2.7", ActorIRI: "https://evil.example/users/x", Activity: "https://evil.example/a/1", Status: 401, Reason: "signature does not verify"}); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "refused")
	if code != 0 || !strings.Contains(out, "signature does not verify") || !strings.Contains(out, "401") || !strings.Contains(out, "https://evil.example/users/x") {
		t.Fatalf("refused: exit %d\n%s", code, out)
	}
}
