package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/clientaddr"
)

// The access log names the client the limits see (behind a trusted proxy, the forwarded address) and clips what a
// client chose: a made-up method, a long path.
func TestAccessLogNamesTheClient(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := accessLog(log, clientaddr.Default(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }))
	r := httptest.NewRequest("GET", "/"+strings.Repeat("x", 60<<10), nil)
	r.Method = strings.Repeat("M", 5000)
	r.RemoteAddr = "127.0.0.1:5555"
	r.Header.Set("X-Forwarded-For", "203.0.113.5")
	h.ServeHTTP(httptest.NewRecorder(), r)
	line := buf.String()
	if !strings.Contains(line, `"client":"203.0.113.5"`) || !strings.Contains(line, `"status":404`) {
		t.Fatalf("access log: %s", line)
	}
	if len(line) > 1000 {
		t.Fatalf("access log line of %d bytes for a 60 KB path and a 5,000-byte method", len(line))
	}
}

func BenchmarkAccessLog(b *testing.B) {
	h := accessLog(slog.New(slog.DiscardHandler), clientaddr.Default(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
