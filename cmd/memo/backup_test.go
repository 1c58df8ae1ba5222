package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// signatureRequests prepares n signed replies "je signe" to the memo of base, one per new actor, with their notes
// published on their instances. They are signed now and sent later, from another goroutine.
func signatureRequests(t *testing.T, base string, n int) []*http.Request {
	t.Helper()
	insts := []*fedtest.Instance{fedtest.NewInstance(t, "mastodon"), fedtest.NewInstance(t, "gotosocial")}
	var reqs []*http.Request
	for i := 0; i < n; i++ {
		inst := insts[i%len(insts)]
		who := inst.NewActor(fmt.Sprintf("signer%d", i))
		path := "/notes/" + strings.TrimPrefix(inst.NextID("n"), inst.Base+"/n/")
		noteIRI := inst.Base + path
		note := map[string]any{"id": noteIRI, "type": "Note", "attributedTo": who.IRI, "inReplyTo": base + "/memo",
			"content": "<p>je signe</p>", "to": []string{"https://www.w3.org/ns/activitystreams#Public"},
			"cc": []string{who.IRI + "/followers"}, "published": time.Now().UTC().Format(time.RFC3339)}
		doc := map[string]any{"@context": "https://www.w3.org/ns/activitystreams"}
		for k, v := range note {
			doc[k] = v
		}
		b, _ := json.Marshal(doc)
		inst.AddDocument(path, b)
		create, _ := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
			"id": noteIRI + "/activity", "type": "Create", "actor": who.IRI, "to": note["to"], "cc": note["cc"], "object": note})
		reqs = append(reqs, who.NewRequest(t, base+"/inbox", create, fedtest.SignOptions{}))
	}
	return reqs
}

func sendAll(reqs []*http.Request, pause time.Duration) error {
	client := &http.Client{Timeout: 30 * time.Second}
	for _, req := range reqs {
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("POST %s: %d", req.URL, resp.StatusCode)
		}
		time.Sleep(pause)
	}
	return nil
}

// actorKey is the public key a server's actor document serves.
func actorKey(t *testing.T, base string) string {
	t.Helper()
	doc, status := getAP(t, base+"/users/memo")
	pk, _ := doc["publicKey"].(map[string]any)
	pem, _ := pk["publicKeyPem"].(string)
	if status != http.StatusOK || pem == "" {
		t.Fatalf("actor of %s: %d, no key", base, status)
	}
	return pem
}

func signatureTotal(t *testing.T, base string) int {
	t.Helper()
	doc, status := getAP(t, base+"/signatures")
	if status != http.StatusOK {
		t.Fatalf("signatures of %s: %d", base, status)
	}
	return total(doc)
}

// A backup taken while signatures arrive holds a consistent snapshot: restored into a fresh folder, it passes
// `memo signatures verify`, serves the same actor key, and counts exactly what the snapshot held.
func TestBackupWhileSigningRestores(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	engines := []string{"sqlite"}
	if os.Getenv(storagetest.EnvPostgres) != "" {
		engines = append(engines, "postgres")
	}
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { backupRoundTrip(t, engine) })
	}
}

func backupRoundTrip(t *testing.T, engine string) {
	addr := freeAddr(t)
	data := t.TempDir()
	database := ""
	if engine == "postgres" {
		database = storagetest.PostgresDSN(t)
	}
	env := memoEnv(data, database, "http://"+addr)
	srv := startOn(t, "origin", addr, env)
	base := srv.base

	reqs := signatureRequests(t, base, 30)
	if err := sendAll(reqs[:10], 0); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the first signatures", func() bool { return signatureTotal(t, base) >= 10 })
	key := actorKey(t, base)

	sent := make(chan error, 1)
	go func() { sent <- sendAll(reqs[10:], 15*time.Millisecond) }()
	file := filepath.Join(t.TempDir(), "memo-backup.tar.gz")
	out := memoRun(t, env, "backup", file)
	if err := <-sent; err != nil {
		t.Fatalf("signing during the backup: %v", err)
	}
	testwait.Until(t, "every signature", func() bool { return signatureTotal(t, base) == 30 })
	if !strings.Contains(out, "backup written to "+file) {
		t.Fatalf("memo backup said: %s", out)
	}
	small, err := readSmall(file)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(small[backupManifest], &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if snap := m.Signatures.Total() + m.InboxPending; snap < 10 || snap > 30 {
		t.Fatalf("the snapshot counts %d signatures; 10 stood before it and 30 after", snap)
	}
	if string(m.Engine) != engine || !m.Dump {
		t.Fatalf("manifest %+v for a %s backup", m, engine)
	}
	srv.kill()

	// A non-empty folder is refused, and left as it was.
	busy := t.TempDir()
	os.WriteFile(filepath.Join(busy, "keep"), []byte("x"), 0o600)
	cmd := exec.Command(binaryFor(t), "restore", file)
	cmd.Env = memoEnv(busy, "", "http://"+addr)
	if got, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(got), "is not empty") {
		t.Fatalf("restore into a non-empty folder: %v %s", err, got)
	}
	if entries, _ := os.ReadDir(busy); len(entries) != 1 {
		t.Fatalf("the refused restore changed the folder: %v", entries)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	restoredDB := ""
	if engine == "postgres" {
		restoredDB = freshDatabase(t, database)
	}
	renv := memoEnv(restored, restoredDB, "http://"+addr)
	if out := memoRun(t, renv, "restore", file); !strings.Contains(out, fmt.Sprintf("%d signatures", m.Signatures.Total())) {
		t.Fatalf("memo restore said: %s", out)
	}
	// memoRun fails the test on a non-zero exit, which verify gives when any signature fails.
	wantVerify := fmt.Sprintf("%d signatures checked: %d verified", m.Signatures.Total(), m.Signatures.Total())
	if out := memoRun(t, renv, "signatures", "verify"); !strings.Contains(out, wantVerify) {
		t.Fatalf("memo signatures verify said %q, want %q", out, wantVerify)
	}
	again := startOn(t, "restored", addr, renv)
	if got := actorKey(t, again.base); got != key {
		t.Fatal("the restored server serves another actor key")
	}
	// Every activity of this test is a signature: those the snapshot held unapplied are applied by the restored
	// server, as the original would have.
	want := m.Signatures.Total() + m.InboxPending
	testwait.Until(t, "the restored server to apply what it received", func() bool { return signatureTotal(t, again.base) >= want })
	if got := signatureTotal(t, again.base); got != want {
		t.Fatalf("the restored server counts %d signatures; the snapshot held %d and %d to apply", got, m.Signatures.Total(), m.InboxPending)
	}
	// A restore never lands on a database that already holds a publication.
	target := restoredDB
	if engine == "sqlite" {
		target = filepath.Join(restored, "memo.db")
	}
	cmd = exec.Command(binaryFor(t), "restore", file)
	cmd.Env = memoEnv(t.TempDir(), target, "http://"+addr)
	if got, err := cmd.CombinedOutput(); err == nil || !bytes.Contains(got, []byte("restore into")) {
		t.Fatalf("restore over a restored database: %v %s", err, got)
	}
}

// freshDatabase creates an empty PostgreSQL database on the test server, dropped when the test ends, and returns
// a URL to it that keeps like's search_path: pg_dump wrote that schema's name into the dump.
func freshDatabase(t *testing.T, like string) string {
	t.Helper()
	admin, err := sqlx.Open("pgx", os.Getenv(storagetest.EnvPostgres))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("restore_%d", time.Now().UnixNano())
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() { admin.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`) })
	u, err := url.Parse(like)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
