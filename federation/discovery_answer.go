package federation

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/as"
)

// webfinger is the one WebFinger answer, built at start from the settings: every resource that names our actor gets
// the same document, and WebFinger is the first request of every follow and every mention. Building the document
// for each request was most of what the handler cost.
type webfinger struct {
	username, host, subject string
	// urlNames are the URLs that name the actor too: its own, the home page, the bare base URL.
	urlNames [3]string
	body     []byte
	length   []string
}

func newWebfinger(urls content.URLs) (*webfinger, error) {
	wf := &webfinger{username: urls.Username, host: urls.Host(), urlNames: [3]string{urls.Actor(), urls.Home(), urls.Base}}
	wf.subject = "acct:" + wf.username + "@" + wf.host
	body, err := as.EncodeJSON(webfingerDoc{
		Subject: wf.subject,
		Aliases: []string{urls.Actor(), urls.Home()},
		Links: []webfingerLink{
			{Rel: relSelf, Type: content.ActivityJSON, Href: urls.Actor()},
			{Rel: relProfilePage, Type: "text/html", Href: urls.Home()},
			// The server has no user accounts, so "where to interact with a remote object" is the home page with
			// the object's address, which explains how to reply from one's own instance.
			{Rel: relSubscribe, Template: urls.Home() + "?uri={uri}"},
			{Rel: relAvatar, Type: "image/png", Href: urls.Icon()},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("encode the WebFinger answer: %w", err)
	}
	wf.body = body
	wf.length = []string{strconv.Itoa(len(body))}
	return wf, nil
}

// resolve accepts a resource that names our actor: acct:USER@HOST (the acct: prefix and a leading @ are optional,
// and user and host match without regard to case, as Mastodon does), or the actor's or profile page's URL.
func (wf *webfinger) resolve(resource string) error {
	resource = strings.TrimSpace(resource)
	if resource == "" {
		return as.BadRequest("the resource parameter is required, e.g. resource=acct:%s@%s", wf.username, wf.host)
	}
	switch {
	case resource == wf.urlNames[0] || resource == wf.urlNames[1] || resource == wf.urlNames[2]:
		return nil
	case strings.HasPrefix(resource, "http://") || strings.HasPrefix(resource, "https://"):
		return as.NotFound("no account at %s", resource)
	}
	acct := strings.TrimPrefix(strings.TrimPrefix(resource, "acct:"), "@")
	user, host, ok := strings.Cut(acct, "@")
	if !ok || user == "" || host == "" {
		return as.BadRequest("resource %q: use acct:USER@HOST or the actor's URL", resource)
	}
	if !strings.EqualFold(user, wf.username) || !strings.EqualFold(host, wf.host) {
		return as.NotFound("no account %s here; this server has only %s", resource, wf.subject)
	}
	return nil
}

// The answer's fixed headers, shared by every response (net/http only reads them).
var (
	jrdType    = []string{"application/jrd+json; charset=utf-8"}
	anyOrigin  = []string{"*"}
	cacheShort = []string{cacheControl}
)

func (s *Server) handleWebfinger(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Access-Control-Allow-Origin"] = anyOrigin
	if err := s.wf.resolve(queryValue(r.URL.RawQuery, "resource")); err != nil {
		p := err.(*as.Problem)
		writeError(w, p.Status, p.Reason)
		return
	}
	h["Cache-Control"] = cacheShort
	h["Content-Type"] = jrdType
	h["Content-Length"] = s.wf.length
	w.WriteHeader(http.StatusOK)
	w.Write(s.wf.body)
}

// queryValue is url.Values.Get for one parameter of a raw query, without building the map of every parameter.
func queryValue(raw, name string) string {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if strings.Contains(pair, ";") {
			continue // as url.ParseQuery: a semicolon is no separator, and the pair is refused
		}
		key, value, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(key, "%+") {
			var err error
			if key, err = url.QueryUnescape(key); err != nil {
				continue
			}
		}
		if key != name {
			continue
		}
		v, err := url.QueryUnescape(value)
		if err != nil {
			continue
		}
		return v
	}
	return ""
}
