package views

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestHomeGzipped: a client that takes gzip gets the same page compressed; one that does not, or whose cookie
// fills in the follow box, gets it as it is.
func TestHomeGzipped(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newTestSite(t, store, testBase).Handler()
	get := func(enc, cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Accept", "text/html")
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		if cookie != "" {
			req.Header.Set("Cookie", instanceCookie+"="+cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET / (%q): %d", enc, rec.Code)
		}
		return rec
	}
	plain := get("", "")
	for range 2 { // rendered, then from the cache
		zipped := get("gzip, deflate, br", "")
		if zipped.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(strings.Join(zipped.Header().Values("Vary"), ","), "Accept-Encoding") {
			t.Fatalf("headers %v, want gzip and Vary: Accept-Encoding", zipped.Header())
		}
		zr, err := gzip.NewReader(zipped.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, plain.Body.Bytes()) {
			t.Fatal("the gzipped page differs from the plain one")
		}
		if zipped.Body.Len() >= plain.Body.Len()/2 {
			t.Errorf("gzipped %d bytes for %d plain", zipped.Body.Len(), plain.Body.Len())
		}
	}
	if got := get("gzip;q=0", ""); got.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refused it")
	}
	filled := get("gzip", "alice@mastodon.example")
	if filled.Header().Get("Content-Encoding") != "" || !strings.Contains(filled.Body.String(), "alice@mastodon.example") {
		t.Error("a page filled in from the cookie was not sent as it is")
	}
}
