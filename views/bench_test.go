package views

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/memo-fediverse/memo/storage/storagetest"
)

// BenchmarkHome measures the busiest page on SQLite: two small queries and a cached render.
func BenchmarkHome(b *testing.B) {
	store := storagetest.Open(b, storagetest.SQLiteDSN(b))
	seedMemo(b, store)
	h := newTestSite(b, store, testBase).Handler()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept", "text/html")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}

// nopWriter is a ResponseWriter that keeps nothing but its header, so that a middleware's own cost is measured.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkSecureHeaders is the cost of the security headers every answer carries, around a handler that does
// nothing.
func BenchmarkSecureHeaders(b *testing.B) {
	h := secure(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	w := &nopWriter{h: make(http.Header, 8)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	if w.h.Get("X-Content-Type-Options") != "nosniff" {
		b.Fatal("headers missing")
	}
}
