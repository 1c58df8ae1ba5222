package inbox

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// A step that fails because the sender hung up is not an error of ours: it is logged at debug level.
func TestFailureOfAGivenUpRequestIsNoError(t *testing.T) {
	var out bytes.Buffer
	in := &Inbox{log: slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	in.logFailure(gone, "inbox store", "err", context.Canceled)
	if !strings.Contains(out.String(), "level=DEBUG") || strings.Contains(out.String(), "level=ERROR") {
		t.Errorf("a given-up request logged as %q, want debug", out.String())
	}
	out.Reset()
	in.logFailure(context.Background(), "inbox store", "err", errors.New("disk I/O error"))
	if !strings.Contains(out.String(), "level=ERROR") {
		t.Errorf("a real failure logged as %q, want an error", out.String())
	}
}
