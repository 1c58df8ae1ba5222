package federation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// activityJSONType is what every ActivityPub answer carries; Mastodon refuses documents served under another type.
const activityJSONType = content.ActivityJSON + "; charset=utf-8"

// cacheControl lets caches keep an answer briefly without hiding a new revision for long; the documents are cheap to
// build from the database, so nothing is cached on our side.
const cacheControl = "public, max-age=60"

// problem is an answer other than 200 that an object builder chooses: a 4xx with its reason, or 410 with a
// Tombstone body.
type problem struct {
	status int
	reason string
	body   map[string]any
}

func (p *problem) Error() string { return fmt.Sprintf("%d: %s", p.status, p.reason) }

func notFound(format string, args ...any) error {
	return &problem{status: http.StatusNotFound, reason: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &problem{status: http.StatusBadRequest, reason: fmt.Sprintf(format, args...)}
}

func gone(tombstone map[string]any) error {
	return &problem{status: http.StatusGone, reason: "deleted", body: tombstone}
}

// isProblem tells whether err is an answer chosen for the client (404, 410…) rather than a failure.
func isProblem(err error) bool {
	var p *problem
	return errors.As(err, &p)
}

// storeErr turns a storage lookup failure into a 404 when the row is missing.
func storeErr(err error, format string, args ...any) error {
	if errors.Is(err, storage.ErrNotFound) {
		return notFound(format, args...)
	}
	return err
}

// objectHandler is the body of a negotiated route: it builds the JSON document for the request.
type objectHandler func(r *http.Request) (map[string]any, error)

// negotiated serves build's document to clients that ask for ActivityPub JSON and hands everyone else (browsers,
// a bare */*) to pages, the HTML site, on the same URL.
func (s *Server) negotiated(pages http.Handler, build objectHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		if !content.WantsActivityJSON(r) {
			pages.ServeHTTP(w, r)
			return
		}
		s.serveDocument(w, r, build)
	}
}

// serveDocument writes build's document, or the problem it reports, as JSON.
func (s *Server) serveDocument(w http.ResponseWriter, r *http.Request, build objectHandler) {
	doc, err := build(r)
	var p *problem
	switch {
	case errors.As(err, &p) && p.body != nil:
		w.Header().Set("Cache-Control", cacheControl)
		writeJSON(w, p.status, activityJSONType, p.body)
	case errors.As(err, &p):
		writeError(w, p.status, p.reason)
	case err != nil:
		s.log.Error("build document", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	default:
		w.Header().Set("Cache-Control", cacheControl)
		if !s.objs.cache.writeWire(w, r, http.StatusOK, activityJSONType, doc) {
			writeJSON(w, http.StatusOK, activityJSONType, doc)
		}
	}
}

// writeError answers {"error": reason}; errors are never cached.
func writeError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, "application/json; charset=utf-8", map[string]any{"error": reason})
}

// writeJSON encodes v without escaping HTML, so content fields stay readable; JSON is still valid either way.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := encodeJSON(v)
	if err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(body)
}

func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return buf.Bytes(), nil
}
