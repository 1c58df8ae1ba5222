package views

import (
	"html/template"
	"net/http"
	"regexp"
	"time"

	"github.com/memo-fediverse/memo/storage"
)

// shownImpulse is an impulse with what its pages need.
type shownImpulse struct {
	Slug        string
	Label       string
	URL         string
	HTML        template.HTML
	PublishedAt time.Time
	RetractedAt time.Time
	Retracted   bool
}

type impulseGroup struct {
	Kind     string
	CountKey string
	Items    []shownImpulse
}

func (s *Site) showImpulse(l *locale, imp storage.Impulse) shownImpulse {
	label := l.F("impulse.measure", imp.Position)
	if imp.Kind == "lesson" {
		label = l.F("impulse.lesson", imp.Position)
	}
	return shownImpulse{
		Slug: imp.Slug, Label: label, URL: s.cfg.URLs.Impulse(imp.Slug),
		// Stored impulse HTML is ours, rendered from the memo's Markdown with raw HTML dropped.
		HTML:        template.HTML(imp.HTML),
		PublishedAt: imp.PublishedAt, RetractedAt: imp.RetractedAt, Retracted: imp.Retracted(),
	}
}

func (s *Site) impulses(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.Impulses(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	p := s.newPage(r, "impulses", "", "", s.cfg.URLs.Impulses(), s.cfg.URLs.Impulses())
	p.Title, p.Description = p.L.T("impulses.title"), p.L.T("impulses.intro")
	lessons := impulseGroup{Kind: "lesson", CountKey: "impulses.lessons"}
	measures := impulseGroup{Kind: "measure", CountKey: "impulses.measures"}
	for _, imp := range list {
		if imp.Kind == "lesson" {
			lessons.Items = append(lessons.Items, s.showImpulse(p.L, imp))
		} else {
			measures.Items = append(measures.Items, s.showImpulse(p.L, imp))
		}
	}
	var groups []impulseGroup
	for _, g := range []impulseGroup{lessons, measures} {
		if len(g.Items) > 0 {
			groups = append(groups, g)
		}
	}
	p.Data = struct{ Groups []impulseGroup }{groups}
	s.render(w, r, http.StatusOK, "impulses", p)
}

var slugRE = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// impulse is one impulse's page; a withdrawn one answers 410 Gone, as its object does, but still says what it was.
func (s *Site) impulse(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	if !slugRE.MatchString(slug) {
		s.notFound(w, r)
		return
	}
	imp, err := s.store.Impulse(r.Context(), slug)
	if s.lookupFailed(w, r, err) {
		return
	}
	u := s.cfg.URLs.Impulse(slug)
	p := s.newPage(r, "impulses", "", "", u, u)
	shown := s.showImpulse(p.L, imp)
	p.Title = shown.Label
	p.Description = plainExcerpt(imp.HTML, 200)
	p.SignURI = u
	p.Data = shown
	status := http.StatusOK
	if shown.Retracted {
		status = http.StatusGone
	}
	s.render(w, r, status, "impulse", p)
}
