package views

import (
	"net/http"
	"strings"
)

// robots answers /robots.txt. The public pages are there to be found; the interaction page sends visitors to
// other servers, a search result is an endless space of URLs, and inboxes, the feed's machine twins and the diff
// pages (every pair of revisions) are not pages a search engine should walk.
func (s *Site) robots(w http.ResponseWriter, r *http.Request) {
	u := s.cfg.URLs
	sig := pathOf(u.Signatures())
	lines := []string{
		"User-agent: *",
		"Allow: /",
		"Disallow: " + interactPath,
		"Disallow: " + sig + "?q=",
		"Disallow: " + sig + "?*q=",
		"Disallow: " + pathOf(u.Diff(1, 2)),
		"Disallow: " + pathOf(u.SharedInbox()),
		"Disallow: " + pathOf(u.Inbox()),
		"Disallow: /activities/",
		"",
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=86400")
	h.Del("Vary")
	_, _ = w.Write([]byte(strings.Join(lines, "\n")))
}
