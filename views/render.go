package views

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/memo-fediverse/memo/content"
)

//go:embed templates/*.html
var templateFS embed.FS

// csp is sent with every answer. No inline style or script is ever needed: the stylesheet and the one script are
// files under /static. Forms may post to us and the follow box sends the browser on to the visitor's instance,
// hence form-action https:.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self' https:; base-uri 'none'; frame-ancestors 'none'"

// cspPrivate is csp when the allow-private setting is on (tests and local demos): the visitor's instance may then
// be a loopback host over plain HTTP, and the follow box's redirect to it must not be blocked.
const cspPrivate = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self' https: http:; base-uri 'none'; frame-ancestors 'none'"

// page is what every template receives: the language, the site-wide facts, the head metadata and the page's own
// data.
type page struct {
	L    *locale
	Site *siteInfo
	Nav  string // the navigation entry marked as current

	Title       string
	Description string
	Canonical   string
	Alternate   string // the ActivityPub object this page shows, for <link rel="alternate">

	// The follow box, where a page has one.
	SignURI   string // the object the visitor's instance opens; empty means the memo
	FormValue string
	FormError string

	Data any
}

// OtherOGLocale is the interface language the page is not in, for og:locale:alternate.
func (p *page) OtherOGLocale() string {
	if p.L == english {
		return french.OGLocale
	}
	return english.OGLocale
}

// siteInfo holds the facts every page shows, computed once.
type siteInfo struct {
	URLs          content.URLs
	DisplayName   string
	Version       string
	Creator       string // @user@host, for fediverse:creator
	Phrases       []string
	Phrase        string // the first of Phrases, quoted in sentences
	CSS, JS, Icon string // asset URLs, versioned by content hash
	InteractURL   string
	SourceURL     string
	ProductionURL string
	Licence       string
	LicenceURL    string
	OriginalURL   string
	Authors       string
}

// parseTemplates builds one template set per page file, each with the layout and the shared partials, once at
// start-up.
func parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("base").ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, name := range names {
		short := name[len("templates/") : len(name)-len(".html")]
		if short == "layout" || short == "partials" {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(templateFS, name); err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		out[short] = t
	}
	return out, nil
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// renderBytes executes a page into bytes, so that a template error becomes a clean 500 rather than half a page.
func (s *Site) renderBytes(name string, p *page) ([]byte, error) {
	t, ok := s.templates[name]
	if !ok {
		return nil, fmt.Errorf("no template %q", name)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := t.ExecuteTemplate(buf, "layout", p); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return bytes.Clone(buf.Bytes()), nil
}

// render writes a page with its status.
func (s *Site) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	b, err := s.renderBytes(name, p)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeHTML(w, status, s.prefill(w, r, b))
}

func writeHTML(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// newPage starts a page in the request's language.
func (s *Site) newPage(r *http.Request, nav, title, description, canonical, alternate string) *page {
	return &page{
		L: localeFor(r), Site: s.info, Nav: nav,
		Title: title, Description: description, Canonical: canonical, Alternate: alternate,
	}
}

// errorData is what the error page shows.
type errorData struct {
	Status   int
	Heading  string
	Reason   string
	ShowForm bool
}

// fail answers an error in the format asked: JSON for ActivityPub clients, a page for browsers.
func (s *Site) fail(w http.ResponseWriter, r *http.Request, status int, reason string) {
	if content.WantsActivityJSON(r) {
		writeJSONError(w, status, reason)
		return
	}
	p := s.newPage(r, "", "", "", s.cfg.URLs.Home(), "")
	heading := p.L.T(fmt.Sprintf("error.%d", status))
	if heading == fmt.Sprintf("error.%d", status) {
		heading = http.StatusText(status)
	}
	p.Title, p.Description = heading, reason
	p.Canonical = s.cfg.URLs.Base + r.URL.Path
	p.Data = errorData{Status: status, Heading: heading, Reason: reason}
	s.render(w, r, status, "error", p)
}

func writeJSONError(w http.ResponseWriter, status int, reason string) {
	b, _ := json.Marshal(map[string]string{"error": reason})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// fallback answers what no route took: the site is read-only, so another method than GET is refused whatever the
// path; a GET of an unknown path is not found.
func (s *Site) fallback(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.fail(w, r, http.StatusMethodNotAllowed, localeFor(r).T("error.405.reason"))
		return
	}
	s.notFound(w, r)
}

// notFound is the answer to any unknown path.
func (s *Site) notFound(w http.ResponseWriter, r *http.Request) {
	if content.WantsActivityJSON(r) {
		writeJSONError(w, http.StatusNotFound, "not found")
		return
	}
	s.fail(w, r, http.StatusNotFound, localeFor(r).T("error.404.reason"))
}

// lookupFailed answers a failed read of what the page shows: not found when it does not exist, a server error for
// anything else. It reports whether it answered.
func (s *Site) lookupFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case isNotFound(err):
		s.notFound(w, r)
	default:
		s.serverError(w, r, err)
	}
	return true
}

// serverError logs what went wrong and tells the visitor only that it did.
func (s *Site) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The visitor left before the page was read: nothing is wrong with the server, and nobody reads the answer.
		s.log.Debug("page abandoned", "path", r.URL.Path, "err", err)
		return
	}
	s.log.Error("page", "path", r.URL.Path, "err", err)
	if content.WantsActivityJSON(r) {
		writeJSONError(w, http.StatusInternalServerError, "internal error")
		return
	}
	// A plain page: the error may come from the templates themselves.
	l := localeFor(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, "<!doctype html><html lang=%q><meta charset=utf-8><title>%s</title><h1>%s</h1><p>%s</p></html>\n",
		l.Tag, template.HTMLEscapeString(l.T("error.500")), template.HTMLEscapeString(l.T("error.500")), template.HTMLEscapeString(l.T("error.500.reason")))
}

// secure adds the headers every answer carries.
func secure(next http.Handler) http.Handler { return securePolicy(next, csp) }

// securePolicy is secure with the given Content-Security-Policy.
func securePolicy(next http.Handler, policy string) http.Handler {
	// The values are built once and shared by every answer: Header.Set would allocate each of them per request.
	// A one-element slice with no spare capacity is safe to share, since Header.Add appends to a copy.
	one := func(v string) []string { return []string{v}[:1:1] }
	cspV, nosniff, referrer := one(policy), one("nosniff"), one("strict-origin-when-cross-origin")
	// Pages differ by interface language, and the same URLs answer ActivityPub JSON to peers.
	vary := one("Accept, Accept-Language")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Security-Policy"] = cspV
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = referrer
		h["Vary"] = vary
		next.ServeHTTP(w, r)
	})
}

// plainExcerpt turns trusted HTML into at most max characters of text, for descriptions.
func plainExcerpt(h string, max int) string {
	text := html.UnescapeString(tagRE.ReplaceAllString(h, " "))
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > max {
		cut := string(r[:max])
		if i := strings.LastIndex(cut, " "); i > max/2 {
			cut = cut[:i]
		}
		return cut + "…"
	}
	return text
}
