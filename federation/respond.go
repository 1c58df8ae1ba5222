package federation

import (
	"errors"
	"net/http"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/as"
)

// activityJSONType is what every ActivityPub answer carries; Mastodon refuses documents served under another type.
const activityJSONType = content.ActivityJSON + "; charset=utf-8"

// cacheControl lets caches keep an answer briefly without hiding a new revision for long.
const cacheControl = "public, max-age=60"

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
	var p *as.Problem
	switch {
	case errors.As(err, &p) && p.Body != nil:
		w.Header().Set("Cache-Control", cacheControl)
		writeJSON(w, p.Status, activityJSONType, p.Body)
	case errors.As(err, &p):
		writeError(w, p.Status, p.Reason)
	case err != nil:
		s.log.Error("build document", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	default:
		w.Header().Set("Cache-Control", cacheControl)
		if !s.objs.WriteCached(w, r, http.StatusOK, activityJSONType, doc) {
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
	body, err := as.EncodeJSON(v)
	if err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(body)
}
