package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage"
)

// TestReportsCommand: `memo reports` lists the stored reports, newest first, on one line each, with the
// terminal's control characters out of the comment.
func TestReportsCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MEMO_DATA", dir)
	t.Setenv("MEMO_DATABASE", "")
	code, out, stderr := runCLI(t, "reports")
	if code != 0 || strings.TrimSpace(out) != "WHEN  REPORTER  OBJECTS  COMMENT" {
		t.Fatalf("reports on a new database: exit %d, %q, %s", code, out, stderr)
	}
	ctx := context.Background()
	store, err := storage.Open(ctx, filepath.Join(dir, "memo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for i, c := range []string{"first", "Spam bot\nsecond line \x1b[2J"} {
		err := store.InTx(ctx, func(tx *storage.Tx) error {
			_, err := tx.AddReport(ctx, storage.Report{
				ActivityIRI: "https://mod.example/reports/" + c[:1], ActorIRI: "https://mod.example/actor", Domain: "mod.example",
				Objects: []string{"http://localhost:8080/users/memo", "http://localhost:8080/notes/how-to-sign"}, Comment: c,
				ReceivedAt: time.Date(2026, 12, 1, 10, i, 0, 0, time.UTC),
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	code, out, stderr = runCLI(t, "reports", "--limit", "10")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("reports: exit %d, %d lines\n%s%s", code, len(lines), out, stderr)
	}
	if !strings.HasPrefix(lines[1], "2026-12-01 10:01:00") || !strings.Contains(lines[1], "https://mod.example/actor") ||
		!strings.Contains(lines[1], "http://localhost:8080/users/memo http://localhost:8080/notes/how-to-sign") || !strings.Contains(lines[1], "Spam bot second line") {
		t.Errorf("newest report line = %q", lines[1])
	}
	if strings.ContainsRune(out, '\x1b') || !strings.Contains(lines[2], "first") {
		t.Errorf("output = %q", out)
	}
	if code, _, stderr := runCLI(t, "reports", "extra"); code != 2 || stderr == "" {
		t.Errorf("reports extra: exit %d, %q; want a usage error", code, stderr)
	}
}

// TestInboxRetentionSetting: MEMO_INBOX_RETENTION takes days or a duration of at least an hour.
func TestInboxRetentionSetting(t *testing.T) {
	for v, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "1d": 24 * time.Hour, "720h": 720 * time.Hour, " 2h ": 2 * time.Hour} {
		if got, err := parseRetention(v); err != nil || got != want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v", v, got, err, want)
		}
	}
	for _, v := range []string{"", "5m", "0d", "-3d", "thirty days", "d"} {
		if got, err := parseRetention(v); err == nil {
			t.Errorf("parseRetention(%q) = %v, want an error", v, got)
		}
	}
	t.Setenv("MEMO_DATA", t.TempDir())
	t.Setenv("MEMO_INBOX_RETENTION", "5m")
	if code, _, stderr := runCLI(t, "reports"); code == 0 || !strings.Contains(stderr, "MEMO_INBOX_RETENTION") {
		t.Errorf("MEMO_INBOX_RETENTION=5m: exit %d, %q; want a clear error", code, stderr)
	}
}

// TestPruneInboxJob: serve's pruning job deletes processed activities older than the retention at once, and
// leaves recent and pending ones.
func TestPruneInboxJob(t *testing.T) {
	ctx := context.Background()
	store, err := storage.Open(ctx, filepath.Join(t.TempDir(), "memo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	old := time.Now().Add(-40 * 24 * time.Hour).UnixMilli()
	recent := time.Now().Add(-time.Hour).UnixMilli()
	for i, row := range []struct {
		processed any
	}{{old}, {old}, {recent}, {nil}} {
		if _, err := store.DB().Exec(`INSERT INTO inbox_activities (iri, type, actor_iri, body, received_at, processed_at) VALUES (?, 'Like', 'https://a.example/u', '{}', ?, ?)`,
			"https://a.example/a/"+string(rune('0'+i)), old, row.processed); err != nil {
			t.Fatal(err)
		}
	}
	jobCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); pruneInbox(jobCtx, store, 30*24*time.Hour, slog.New(slog.DiscardHandler)) }()
	testwait.Until(t, "2 inbox rows after pruning (the recent and the pending one)", func() bool {
		n, err := store.CountInboxActivities(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n == 2
	})
	cancel()
	<-done
}
