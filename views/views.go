// Package views renders the publication's web pages, feed and static assets. Every object URL of content.URLs has
// a page here (the federation side answers ActivityPub JSON on the same URLs and hands browsers to this handler),
// plus the home page, the about page, the diff between revisions, the Atom feed and the follow box's redirect.
package views

import (
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// DefaultSourceURL is where the server's code and README live.
const DefaultSourceURL = "https://github.com/memo-fediverse/memo"

// Config is what the site needs to know about the instance.
type Config struct {
	URLs        content.URLs
	DisplayName string
	Version     string
	Logger      *slog.Logger
	// SignPhrases lists the signing phrases shown to visitors: the ones the inbox was configured with
	// (content.DefaultSigningPhrases when empty). The first is the one the pages' sentences quote.
	SignPhrases []string
	// SourceURL is the code's home, linked from the about page (DefaultSourceURL when empty).
	SourceURL string
	// Interact finds the visitor's remote-interaction page for the follow box; nil: always the page with the URL
	// to copy.
	Interact Interactor
	// AllowPrivate accepts loopback addresses in the follow box (tests and local demos), as the fetches do.
	AllowPrivate bool
}

// Site serves the HTML pages.
type Site struct {
	cfg       Config
	store     *storage.Store
	log       *slog.Logger
	mux       *http.ServeMux
	handler   http.Handler
	templates map[string]*template.Template
	info      *siteInfo
	assets    *assets
	memo      *memoCache

	attribution template.HTML
}

// New builds the site: templates are parsed and assets prepared once here.
func New(cfg Config, store *storage.Store) (*Site, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.SignPhrases) == 0 {
		cfg.SignPhrases = content.DefaultSigningPhrases
	}
	if cfg.SourceURL == "" {
		cfg.SourceURL = DefaultSourceURL
	}
	if cfg.DisplayName == "" {
		cfg.DisplayName = "memo"
	}
	if _, err := url.Parse(cfg.URLs.Base); err != nil || cfg.URLs.Base == "" {
		return nil, fmt.Errorf("views: public URL %q is not usable", cfg.URLs.Base)
	}
	tpls, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	attribution, err := content.Render(content.Attribution())
	if err != nil {
		return nil, fmt.Errorf("attribution: %w", err)
	}
	s := &Site{
		cfg: cfg, store: store, log: cfg.Logger, mux: http.NewServeMux(), templates: tpls,
		assets: newAssets(), memo: newMemoCache(),
		// The attribution notice has its own level-1 title; inside the about page it is a subsection.
		attribution: template.HTML(demoteHeadings(attribution, 2)),
	}
	u := cfg.URLs
	s.info = &siteInfo{
		URLs: u, DisplayName: cfg.DisplayName, Version: cfg.Version,
		Creator: "@" + u.Username + "@" + u.Host(), Phrases: cfg.SignPhrases, Phrase: cfg.SignPhrases[0],
		CSS: s.assets.url(u, "style.css"), JS: s.assets.url(u, "follow.js"), Icon: s.assets.url(u, "icon.png"),
		InteractURL:   u.Base + interactPath,
		SourceURL:     cfg.SourceURL,
		ProductionURL: strings.TrimSuffix(cfg.SourceURL, "/") + "#running-it-in-production",
		Licence:       content.Licence, LicenceURL: content.LicenceURL, OriginalURL: content.OriginalURL, Authors: content.Authors,
	}
	s.routes()
	policy := csp
	if cfg.AllowPrivate {
		policy = cspPrivate
	}
	s.handler = securePolicy(s.mux, policy)
	return s, nil
}

// Handler serves every HTML page, including the pages of object URLs the federation side negotiates.
func (s *Site) Handler() http.Handler { return s.handler }

// interactPath is the follow box's target; it is ours alone (no ActivityPub object lives there).
const interactPath = "/interact"

// pathOf returns the path part of one of our absolute URLs.
func pathOf(abs string) string {
	u, err := url.Parse(abs)
	if err != nil || u.Path == "" {
		return "/"
	}
	return u.Path
}

// sentinel stands in for a variable path segment so that route patterns come from content.URLs like every link.
const sentinel = "7770777"

func pattern(abs, wildcard string) string {
	return strings.Replace(pathOf(abs), sentinel, "{"+wildcard+"}", 1)
}

func (s *Site) routes() {
	u := s.cfg.URLs
	m := s.mux
	get := func(path string, h http.HandlerFunc) { m.HandleFunc("GET "+path, h) }

	get("/{$}", s.home)
	get(pathOf(u.Actor()), s.actor)
	get(pathOf(u.Memo()), s.memoPage)
	get(pathOf(u.Revisions()), s.revisions)
	get(pattern(u.Revision(7770777), "n"), s.revision)
	get(pathOf(u.Diff(1, 2)), s.diff)
	get(pathOf(u.Impulses()), s.impulses)
	get(pattern(u.Impulse(sentinel), "slug"), s.impulse)
	get(pattern(u.Note(sentinel), "slug"), s.note)
	get(pathOf(u.Signatures()), s.signatures)
	get(pattern(u.Signature(7770777), "id"), s.signature)
	get(pattern(u.Activity(7770777), "id"), s.activity)
	get(pathOf(u.About()), s.about)
	get(pathOf(u.Feed()), s.feed)
	get(interactPath, s.interact)
	get(staticDir(u)+"{name}", s.static)
	get("/favicon.ico", s.favicon)
	get("/robots.txt", s.robots)

	// The interaction collections of an object and the actor's collections have no page of their own: a browser
	// that follows one lands on the page of what they belong to.
	for _, obj := range []struct {
		abs  string
		page func(r *http.Request) string
	}{
		{u.Memo(), func(*http.Request) string { return u.Memo() }},
		{u.Impulse(sentinel), func(r *http.Request) string { return u.Impulse(r.PathValue("slug")) }},
		{u.Note(sentinel), func(r *http.Request) string { return u.Note(r.PathValue("slug")) }},
		{u.Revision(7770777), func(r *http.Request) string { return u.Revision(atoiOr(r.PathValue("n"), 0)) }},
	} {
		for _, coll := range []string{content.Replies(obj.abs), content.Likes(obj.abs), content.Shares(obj.abs)} {
			target := obj.page
			wildcard := "slug"
			if strings.Contains(obj.abs, "/revisions/") {
				wildcard = "n"
			}
			get(pattern(coll, wildcard), func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target(r), http.StatusSeeOther)
			})
		}
	}
	for _, coll := range []string{u.Outbox(), u.Followers(), u.Following(), u.Featured()} {
		get(pathOf(coll), s.toHome)
	}
	get(pattern(u.Tag(sentinel), "tag"), s.toHome)

	m.HandleFunc("/", s.fallback)
}

func (s *Site) toHome(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, s.cfg.URLs.Home(), http.StatusSeeOther)
}

// activity shows a browser the object one of our activities is about.
func (s *Site) activity(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	a, err := s.store.ActivityByIRI(r.Context(), s.cfg.URLs.Activity(id))
	if err != nil || !a.InOutbox {
		if err != nil && !isNotFound(err) {
			s.serverError(w, r, err)
			return
		}
		s.notFound(w, r)
		return
	}
	target := s.cfg.URLs.Home()
	if strings.HasPrefix(a.ObjectIRI, s.cfg.URLs.Base+"/") {
		target = a.ObjectIRI
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
