package federation_test

import (
	"net/http"
	"testing"

	"github.com/memo-fediverse/memo/storage/storagetest"
)

// benchmarkGet measures one negotiated document served over loopback HTTP from a seeded SQLite store, the way a
// peer fetches it.
func benchmarkGet(b *testing.B, url func(s *readSite) string) {
	s := startReadSite(b, storagetest.Open(b, storagetest.SQLiteDSN(b)))
	target := url(s)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res := s.get(target, rsAcceptAS); res.Status != http.StatusOK {
			b.Fatalf("GET %s: %d", target, res.Status)
		}
	}
}

func BenchmarkActorJSON(b *testing.B) {
	benchmarkGet(b, func(s *readSite) string { return s.urls.Actor() })
}
func BenchmarkMemoArticleJSON(b *testing.B) {
	benchmarkGet(b, func(s *readSite) string { return s.urls.Memo() })
}
func BenchmarkImpulseNoteJSON(b *testing.B) {
	benchmarkGet(b, func(s *readSite) string { return s.urls.Impulse("measure-2") })
}
func BenchmarkOutboxPageJSON(b *testing.B) {
	benchmarkGet(b, func(s *readSite) string { return s.urls.Outbox() + "?page=true" })
}
func BenchmarkWebfinger(b *testing.B) {
	benchmarkGet(b, func(s *readSite) string {
		return s.URL + "/.well-known/webfinger?resource=acct:memo@" + s.urls.Host()
	})
}
