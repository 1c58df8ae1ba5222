package views

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/storage/storagetest"
)

// A page whose visitor left (its request's context ended) is no server error: it is logged at debug level only,
// so that clients closing connections cannot fill the error log. A real failure is still an error.
func TestAbandonedPageIsNoError(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	site := newTestSite(t, store, testBase)
	var logs bytes.Buffer
	site.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodGet, "/signatures", nil).WithContext(ctx)
	site.serverError(httptest.NewRecorder(), req, context.Canceled)
	if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "page abandoned") {
		t.Fatalf("an abandoned page was logged as:\n%s", logs.String())
	}

	logs.Reset()
	rec := httptest.NewRecorder()
	site.serverError(rec, httptest.NewRequest(http.MethodGet, "/signatures", nil), errors.New("disk on fire"))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("a real failure: status %d, log:\n%s", rec.Code, logs.String())
	}
}
