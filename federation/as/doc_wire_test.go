package as

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// decodeAnswer reads a recorded answer's JSON, through gzip when it says so.
func decodeAnswer(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	body := rec.Body.Bytes()
	if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(len(body)) {
		t.Fatalf("Content-Length %s for a body of %d bytes", got, len(body))
	}
	if rec.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatalf("gzip body: %v", err)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not JSON: %v\n%.200s", err, body)
	}
	return m
}

// TestWireAnswersTheSameDocument checks that a cached document with live members added reads, plain and gzipped,
// exactly as the document encoded whole; and that a copy whose fixed member changed is left to the encoder.
func TestWireAnswersTheSameDocument(t *testing.T) {
	c := newDocCache()
	fixed := map[string]any{
		"id": "http://x.example/memo", "type": "Article", "content": strings.Repeat("<p>texte « signé » & co</p>", 4000),
		"contentMap": map[string]any{"fr": "x"}, "to": []any{"https://www.w3.org/ns/activitystreams#Public"}, "sensitive": false,
	}
	doc := c.put("k", fixed)
	doc["likes"] = map[string]any{"type": "Collection", "totalItems": 3}
	doc["signatures"] = map[string]any{"totalItems": 70000, "id": "http://x.example/signatures"}
	want := roundTrip(t, doc)
	for _, enc := range []string{"", "gzip", "br, gzip;q=0.5", "gzip;q=0"} {
		r := httptest.NewRequest(http.MethodGet, "/memo", nil)
		if enc != "" {
			r.Header.Set("Accept-Encoding", enc)
		}
		rec := httptest.NewRecorder()
		if !c.writeWire(rec, r, http.StatusOK, "application/activity+json; charset=utf-8", doc) {
			t.Fatalf("Accept-Encoding %q: the cached document was not answered from its encoding", enc)
		}
		zipped := rec.Header().Get("Content-Encoding") == "gzip"
		if wantZip := enc != "" && enc != "gzip;q=0"; zipped != wantZip {
			t.Errorf("Accept-Encoding %q: gzip = %v, want %v", enc, zipped, wantZip)
		}
		if zipped && rec.Body.Len() > 10_000 {
			t.Errorf("gzipped answer of %d bytes: the fixed part is not compressed", rec.Body.Len())
		}
		if got := decodeAnswer(t, rec); !reflect.DeepEqual(got, want) {
			t.Errorf("Accept-Encoding %q: the answer differs from the document", enc)
		}
	}
	// A live member replaced by a new value (a new count): its encoding follows.
	doc["likes"] = map[string]any{"type": "Collection", "totalItems": 4}
	rec0 := httptest.NewRecorder()
	if !c.writeWire(rec0, httptest.NewRequest(http.MethodGet, "/memo", nil), http.StatusOK, "application/activity+json; charset=utf-8", doc) {
		t.Fatal("not answered from the cache after a live member changed")
	}
	if got := decodeAnswer(t, rec0); !reflect.DeepEqual(got, roundTrip(t, doc)) {
		t.Errorf("after a new count: %v", got["likes"])
	}
	// The whole document again, without live members.
	plain := c.put("k2", map[string]any{"id": "http://x.example/users/memo", "name": "memo"})
	rec := httptest.NewRecorder()
	if !c.writeWire(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "application/activity+json; charset=utf-8", plain) {
		t.Fatal("a cached document without live members was not answered from its encoding")
	}
	if got := decodeAnswer(t, rec); !reflect.DeepEqual(got, roundTrip(t, plain)) {
		t.Errorf("got %v", got)
	}
	// A fixed member replaced (a copy pointing at its origin): encoded whole, never the cached form.
	changed, ok := c.get("k")
	if !ok {
		t.Fatal("the cached document is gone")
	}
	changed["contentMap"] = map[string]any{"fr": "autre"}
	if c.writeWire(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "application/activity+json; charset=utf-8", changed) {
		t.Error("a document whose fixed member changed was answered from the cached encoding")
	}
	delete(changed, "contentMap")
	if c.writeWire(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "application/activity+json; charset=utf-8", changed) {
		t.Error("a document missing a fixed member was answered from the cached encoding")
	}
	var none *docCache
	if none.writeWire(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "application/activity+json; charset=utf-8", doc) {
		t.Error("a nil cache answered")
	}
}

func roundTrip(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	b, err := EncodeJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// BenchmarkWireMemo is the cost of answering a cached 100 KB document with two live members, gzipped.
func BenchmarkWireMemo(b *testing.B) {
	c := newDocCache()
	doc := c.put("k", map[string]any{"id": "http://x.example/memo", "content": strings.Repeat("<p>texte du mémo</p>", 5000)})
	doc["likes"] = map[string]any{"type": "Collection", "totalItems": 3}
	r := httptest.NewRequest(http.MethodGet, "/memo", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		if !c.writeWire(rec, r, http.StatusOK, "application/activity+json; charset=utf-8", doc) {
			b.Fatal("not answered")
		}
	}
}
