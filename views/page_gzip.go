package views

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"

	"github.com/memo-fediverse/memo/content"
)

// writeMemoPage answers a cached memo page (the whole memo, about 100 KB of HTML), gzipped once for the clients
// that take it, as browsers do: writing the page was most of what the home page cost once its render was cached.
// A page the follow box's cookie fills in is personal, and goes out as it is.
func (s *Site) writeMemoPage(w http.ResponseWriter, r *http.Request, key homeKey, b []byte) {
	w.Header().Add("Vary", "Accept-Encoding")
	filled := s.prefill(w, r, b)
	if &filled[0] != &b[0] || !content.AcceptsGzip(r) {
		writeHTML(w, http.StatusOK, filled)
		return
	}
	z := s.memo.gzipped(key, b)
	if z == nil {
		writeHTML(w, http.StatusOK, b)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Encoding", "gzip")
	h.Set("Content-Length", strconv.Itoa(len(z)))
	w.WriteHeader(http.StatusOK)
	w.Write(z)
}

// gzipped returns page b of key compressed, compressing it the first time; nil when it cannot.
func (c *memoCache) gzipped(key homeKey, b []byte) []byte {
	c.mu.RLock()
	z, ok := c.zipped[key]
	c.mu.RUnlock()
	if ok {
		return z
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil
	}
	if _, err := zw.Write(b); err != nil || zw.Close() != nil {
		return nil
	}
	z = buf.Bytes()
	c.mu.Lock()
	if cur, ok := c.pages[key]; ok && len(cur) == len(b) {
		c.zipped[key] = z // only while the page it compresses is the cached one
	}
	c.mu.Unlock()
	return z
}
