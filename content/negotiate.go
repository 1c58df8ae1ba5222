package content

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// ActivityJSON is the media type of every ActivityPub answer.
const ActivityJSON = "application/activity+json"

// WantsActivityJSON tells whether a request asks for ActivityPub JSON rather than a web page. Peers send
// `application/activity+json` or `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
// (GoToSocial); a browser sends text/html first; a bare `*/*` gets the page, as Mastodon's own server does.
func WantsActivityJSON(r *http.Request) bool {
	best, bestQ := "", 0.0
	// Several Accept lines are one list (RFC 9110, 5.3).
	for _, part := range strings.Split(strings.Join(r.Header.Values("Accept"), ","), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			} else {
				q = 0
			}
		}
		kind := ""
		switch mt {
		case "application/activity+json", "application/json":
			kind = "json"
		case "application/ld+json":
			kind = "json"
		case "text/html", "application/xhtml+xml":
			kind = "html"
		default:
			continue
		}
		// q=0 is "not acceptable" (RFC 9110, 12.4.2), so it never wins. On a tie the first listed wins, so
		// "text/html, application/activity+json" stays a page.
		if q > bestQ {
			best, bestQ = kind, q
		}
	}
	return best == "json"
}

// AcceptsGzip tells whether the client takes gzip: named in Accept-Encoding without q=0. The memo's pages and
// document are kept compressed for such clients.
func AcceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
