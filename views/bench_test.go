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
