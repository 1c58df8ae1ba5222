package views

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Refusals of the follow box. Their text is the catalogue key of the reason shown to the visitor.
var (
	errInstanceEmpty   = errors.New("interact.err.empty")
	errInstanceInvalid = errors.New("interact.err.invalid")
	errInstanceIP      = errors.New("interact.err.ip")
	errInstanceASCII   = errors.New("interact.err.ascii")
	errObjectNotOurs   = errors.New("interact.err.uri")
	errNotFromForm     = errors.New("interact.err.form")
)

// instanceHost extracts the instance's host from what a visitor typed: a handle (alice@mastodon.example, with or
// without a leading @), a bare domain, or a URL of their instance or profile. It accepts only a public DNS name
// (optionally with a port), so the redirect can never point at an IP literal, a single-label name, a path or
// another scheme.
func instanceHost(input string) (string, error) {
	s := strings.TrimSpace(input)
	if s == "" {
		return "", errInstanceEmpty
	}
	if len(s) > 300 {
		return "", errInstanceInvalid
	}
	if i := strings.Index(s, "://"); i >= 0 {
		scheme := strings.ToLower(s[:i])
		if scheme != "https" && scheme != "http" {
			return "", errInstanceInvalid
		}
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.User != nil {
			return "", errInstanceInvalid
		}
		s = u.Host
	} else {
		s = strings.TrimPrefix(s, "@")
		if i := strings.LastIndex(s, "@"); i >= 0 {
			if i == 0 || strings.ContainsAny(s[:i], "/:?#\\ ") {
				return "", errInstanceInvalid
			}
			s = s[i+1:]
		}
		// A trailing slash is what people copy from an address bar; anything more is not a domain.
		s = strings.TrimSuffix(s, "/")
	}
	if strings.HasPrefix(s, "[") {
		return "", errInstanceIP
	}
	host, port := s, ""
	if i := strings.LastIndex(s, ":"); i >= 0 {
		host, port = s[:i], s[i+1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", errInstanceInvalid
		}
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, r := range host {
		if r > 127 {
			return "", errInstanceASCII
		}
	}
	if isIPv4(host) {
		return "", errInstanceIP
	}
	if !validDNSName(host) {
		return "", errInstanceInvalid
	}
	if port != "" {
		return host + ":" + port, nil
	}
	return host, nil
}

func isIPv4(h string) bool {
	parts := strings.Split(h, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return false
		}
	}
	return true
}

// validDNSName accepts names of two labels or more, each of letters, digits and inner hyphens, with a top-level
// label that is not all digits.
func validDNSName(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if _, err := strconv.Atoi(tld); err == nil {
		return false
	}
	return true
}

// interactTarget is where the follow box sends a visitor: their instance's remote-interaction page on one of our
// objects, /authorize_interaction?uri=, the subscribe template Mastodon publishes in WebFinger. A server with
// another template still lands the visitor on their own instance, where they can paste the link.
//
// The template is not looked up: the page's CSP allows it no connection (connect-src falls back to 'none'), and a
// lookup by the server would be a fetch to any host a visitor types.
func interactTarget(host, objectURL string) string {
	return "https://" + host + "/authorize_interaction?uri=" + url.QueryEscape(objectURL)
}

// ownObject checks that uri is one of our object URLs (the memo when empty).
func (s *Site) ownObject(uri string) (string, error) {
	if uri == "" {
		return s.cfg.URLs.Memo(), nil
	}
	u, err := url.Parse(uri)
	if err != nil || u.RawQuery != "" || u.Fragment != "" || strings.Contains(u.Path, "..") ||
		!strings.HasPrefix(uri, s.cfg.URLs.Base+"/") || len(uri) > 500 {
		return "", errObjectNotOurs
	}
	return uri, nil
}

// interact validates the follow box and redirects to the visitor's instance; a refusal shows the form again with
// the reason.
func (s *Site) interact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	input := q.Get("instance")
	object, err := s.ownObject(q.Get("uri"))
	host := ""
	if err == nil {
		host, err = instanceHost(input)
	}
	status := http.StatusBadRequest
	if err == nil && !s.fromOurPage(r) {
		err, status = errNotFromForm, http.StatusForbidden
	}
	if err != nil {
		p := s.newPage(r, "", "", "", s.cfg.URLs.Home(), "")
		reason := p.L.T(err.Error())
		p.Title, p.Description = p.L.T("interact.err.title"), reason
		if err == errNotFromForm {
			p.Title = p.L.T("interact.form.title")
		}
		p.FormValue, p.FormError = input, reason
		if err != errObjectNotOurs {
			p.SignURI = q.Get("uri")
		}
		p.Data = errorData{Status: status, Heading: p.Title, Reason: reason, ShowForm: true}
		s.render(w, r, status, "error", p)
		return
	}
	http.Redirect(w, r, interactTarget(host, object), http.StatusSeeOther)
}

// fromOurPage tells whether the request is the follow box submitted from one of our pages. Only then does
// /interact redirect: otherwise a link made anywhere, or a server fetching a URL an attacker named (a keyId, a
// note id), would make our host redirect to any host it names, an open redirect that lends our host's name to a
// document served elsewhere. Browsers say where a navigation comes from in Sec-Fetch-Site; one that does not
// send it still sends our page as Referer (our Referrer-Policy keeps the whole URL on the same origin).
func (s *Site) fromOurPage(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	ref := r.Header.Get("Referer")
	return ref != "" && strings.HasPrefix(ref, s.cfg.URLs.Base+"/")
}
