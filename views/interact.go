package views

import (
	"bytes"
	"context"
	"errors"
	"html"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
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

// instanceHost extracts the instance's host from what a visitor typed (see parseAccount), with private addresses
// refused.
func instanceHost(input string) (string, error) {
	_, host, err := parseAccount(input, false)
	return host, err
}

// parseAccount reads what a visitor typed: a handle (alice@mastodon.example, with or without a leading @), a bare
// domain, or a URL of their instance or profile (https://mastodon.example/@alice). It returns the user (empty for
// a bare host) and the host. It accepts only a public DNS name (optionally with a port), so the redirect can
// never point at an IP literal, a single-label name, a path or another scheme; with allowPrivate (tests and local
// demos) a loopback IPv4 address such as 127.0.0.5:8081 is accepted too.
func parseAccount(input string, allowPrivate bool) (user, host string, err error) {
	s := strings.TrimSpace(input)
	if s == "" {
		return "", "", errInstanceEmpty
	}
	if len(s) > 300 {
		return "", "", errInstanceInvalid
	}
	if i := strings.Index(s, "://"); i >= 0 {
		scheme := strings.ToLower(s[:i])
		if scheme != "https" && scheme != "http" {
			return "", "", errInstanceInvalid
		}
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.User != nil {
			return "", "", errInstanceInvalid
		}
		s = u.Host
		// A profile URL in Mastodon's form names the user too.
		if name, ok := strings.CutPrefix(strings.TrimSuffix(u.Path, "/"), "/@"); ok && validUser(name) {
			user = name
		}
	} else {
		s = strings.TrimPrefix(s, "@")
		if i := strings.LastIndex(s, "@"); i >= 0 {
			if i == 0 || strings.ContainsAny(s[:i], "/:?#\\ ") {
				return "", "", errInstanceInvalid
			}
			if user = s[:i]; !validUser(user) {
				return "", "", errInstanceInvalid
			}
			s = s[i+1:]
		}
		// A trailing slash is what people copy from an address bar; anything more is not a domain.
		s = strings.TrimSuffix(s, "/")
	}
	if strings.HasPrefix(s, "[") {
		return "", "", errInstanceIP
	}
	host, port := s, ""
	if i := strings.LastIndex(s, ":"); i >= 0 {
		host, port = s[:i], s[i+1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", "", errInstanceInvalid
		}
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, r := range host {
		if r > 127 {
			return "", "", errInstanceASCII
		}
	}
	if isIPv4(host) {
		if a, err := netip.ParseAddr(host); !allowPrivate || err != nil || !a.IsLoopback() {
			return "", "", errInstanceIP
		}
	} else if !validDNSName(host) {
		return "", "", errInstanceInvalid
	}
	if port != "" {
		host += ":" + port
	}
	return user, host, nil
}

// validUser accepts the user names of the fediverse's servers: letters, digits and . _ - (Mastodon allows
// [a-z0-9_], Pleroma and Friendica add . and -), at most 64 of them.
func validUser(u string) bool {
	if u == "" || len(u) > 64 {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
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

// Interactor finds where a visitor's instance opens one of our objects: the subscribe template of their WebFinger,
// an FEP-3b86 intent, or the path their software offers (federation/interact). target is empty when there is
// none (software, when known, names what runs there).
type Interactor interface {
	Interaction(ctx context.Context, user, host, object string) (target, software string, err error)
}

// instanceCookie remembers the instance a visitor typed, so that the follow box is filled in on their next visit.
// It holds only what they typed, is first-party, never read by script and never sent cross-site.
const instanceCookie = "memo_instance"

// instanceCookieAge is how long the box stays filled in.
const instanceCookieAge = 180 * 24 * time.Hour

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

// copyData is what the copy-the-URL page shows when the visitor's instance offers no way to open our object.
type copyData struct {
	Object   string
	Host     string
	Software string
}

// interact validates the follow box and sends the visitor to their instance's remote-interaction page, or, when
// their instance has none that we could find in time, shows the object's URL to paste into its search. A refusal
// shows the form again with the reason.
func (s *Site) interact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	input := q.Get("instance")
	object, err := s.ownObject(q.Get("uri"))
	user, host := "", ""
	if err == nil {
		user, host, err = parseAccount(input, s.cfg.AllowPrivate)
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
	s.rememberInstance(w, user, host)
	target, software := "", ""
	if s.cfg.Interact != nil {
		var lerr error
		target, software, lerr = s.cfg.Interact.Interaction(r.Context(), user, host, object)
		if lerr != nil {
			s.log.Debug("remote interaction", "host", host, "err", lerr)
		}
	}
	// The look-up already keeps to the host named; checked again here, where the redirect is made.
	if target != "" && s.onHost(target, host) {
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	p := s.newPage(r, "", "", "", s.cfg.URLs.Home(), "")
	p.Title = p.L.T("interact.copy.title")
	p.Description = p.L.T("interact.copy.lead")
	p.Data = copyData{Object: object, Host: host, Software: software}
	s.render(w, r, http.StatusOK, "interact", p)
}

// onHost tells whether target is an http(s) URL on host (plain HTTP only with the allow-private setting).
func (s *Site) onHost(target, host string) bool {
	u, err := url.Parse(target)
	if err != nil || u.User != nil || u.Opaque != "" || !(u.Scheme == "https" || (u.Scheme == "http" && s.cfg.AllowPrivate)) {
		return false
	}
	h := strings.ToLower(u.Host)
	if u.Scheme == "https" {
		h = strings.TrimSuffix(h, ":443")
	} else {
		h = strings.TrimSuffix(h, ":80")
	}
	return h == host
}

// rememberInstance sets the cookie that fills in the follow box next time.
func (s *Site) rememberInstance(w http.ResponseWriter, user, host string) {
	v := host
	if user != "" {
		v = user + "@" + host
	}
	http.SetCookie(w, &http.Cookie{
		Name: instanceCookie, Value: v, Path: "/", MaxAge: int(instanceCookieAge / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.cfg.URLs.Base, "https://"),
	})
}

// rememberedInstance reads the cookie back, only when it still reads as an account or a host.
func (s *Site) rememberedInstance(r *http.Request) string {
	c, err := r.Cookie(instanceCookie)
	if err != nil {
		return ""
	}
	user, host, err := parseAccount(c.Value, s.cfg.AllowPrivate)
	if err != nil {
		return ""
	}
	if user != "" {
		return user + "@" + host
	}
	return host
}

// emptyInstanceField is how the follow box's field reads before it is filled in (partials.html, signbox).
var emptyInstanceField = []byte(`name="instance" value=""`)

// prefill fills the follow box of a rendered page with the remembered instance. Pages are rendered (and the memo
// cached) without it; a page that carries it is the visitor's own, so caches are told so.
func (s *Site) prefill(w http.ResponseWriter, r *http.Request, b []byte) []byte {
	v := s.rememberedInstance(r)
	if v == "" || !bytes.Contains(b, emptyInstanceField) {
		return b
	}
	w.Header().Add("Vary", "Cookie")
	w.Header().Set("Cache-Control", "private")
	return bytes.ReplaceAll(b, emptyInstanceField, []byte(`name="instance" value="`+html.EscapeString(v)+`"`))
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
