package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRawClientCounts checks that the raw client reads every kind of answer whole (sized, chunked, closed after
// one) and counts exactly the answers the server gave, by status.
func TestRawClientCounts(t *testing.T) {
	var served atomic.Int64
	big := strings.Repeat("x", 70_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.Header.Get("Accept") != "application/activity+json" {
			http.Error(w, "no Accept", http.StatusNotAcceptable)
			return
		}
		switch r.URL.Path {
		case "/sized":
			w.Header().Set("Content-Length", "5")
			w.Write([]byte("hello"))
		case "/chunked":
			w.Write([]byte(big[:1000]))
			w.(http.Flusher).Flush()
			w.Write([]byte(big))
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		case "/missing":
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		path string
		code int
	}{{"/sized", 200}, {"/chunked", 200}, {"/close", 200}, {"/missing", 404}} {
		t.Run(tc.path, func(t *testing.T) {
			g, err := newRawGet(srv.URL+tc.path, "Accept: application/activity+json")
			if err != nil {
				t.Fatal(err)
			}
			before := served.Load()
			s := rawHammer(context.Background(), g, 4, 200*time.Millisecond)
			if s.Errors != 0 {
				t.Fatalf("%d errors, last %q", s.Errors, s.LastErr)
			}
			got := served.Load() - before
			if s.Requests == 0 || int64(s.Requests) != got || s.Status[tc.code] != s.Requests {
				t.Fatalf("client counted %d requests (%v), the server answered %d, want all %d", s.Requests, s.Status, got, tc.code)
			}
		})
	}
	if _, err := newRawGet("https://example.org/"); err == nil {
		t.Error("an https URL was accepted by the plain-HTTP client")
	}
}

// TestParseWrk reads wrk's report, and refuses a figure made of errors.
func TestParseWrk(t *testing.T) {
	ok := "Running 1s test @ http://127.0.0.1:1/\n  2 threads and 64 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency     1.20ms    1.00ms  20.00ms   90.00%\n  48210 requests in 1.00s, 20.10MB read\nRequests/sec:  48123.45\nTransfer/sec:     20.05MB\n"
	v, found, err := parseWrk([]byte(ok))
	if err != nil || !found || v != 48123.45 {
		t.Fatalf("parseWrk = %v, %v, %v; want 48123.45", v, found, err)
	}
	bad := strings.Replace(ok, "Requests/sec", "  Non-2xx or 3xx responses: 12\nRequests/sec", 1)
	if _, _, err := parseWrk([]byte(bad)); err == nil {
		t.Error("a run with non-2xx answers gave a figure")
	}
	if _, _, err := parseWrk([]byte("garbage")); err == nil {
		t.Error("output without Requests/sec gave a figure")
	}
}
