package views

import (
	"html/template"
	"net/http"
	"time"

	"github.com/memo-fediverse/memo/content"
)

func (s *Site) about(w http.ResponseWriter, r *http.Request) {
	u := s.cfg.URLs
	// The about page describes the publication as a whole, whose ActivityPub face is the actor.
	p := s.newPage(r, "about", "", "", u.About(), u.Actor())
	p.Title, p.Description = p.L.T("about.title"), p.L.T("about.lead")
	p.Data = struct{ Attribution template.HTML }{s.attribution}
	s.render(w, r, http.StatusOK, "about", p)
}

type noteData struct {
	Heading     string
	HowTo       bool
	Content     template.HTML
	PublishedAt time.Time
}

// note shows one of the actor's notes: the pinned "how to sign" note is the how-to page itself; the others
// (revision announcements, acknowledgements) show their text when they are public.
func (s *Site) note(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	if !slugRE.MatchString(slug) {
		s.notFound(w, r)
		return
	}
	u := s.cfg.URLs.Note(slug)
	p := s.newPage(r, "", "", "", u, u)
	if slug == content.HowToSignSlug {
		p.Title, p.Description = p.L.T("howto.title"), p.L.T("sign.intro")
		p.Data = noteData{Heading: p.Title, HowTo: true}
		s.render(w, r, http.StatusOK, "note", p)
		return
	}
	n, err := s.store.NoteBySlug(r.Context(), slug)
	if isNotFound(err) || (err == nil && !n.Public) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if n.Deleted() {
		s.fail(w, r, http.StatusGone, p.L.T("note.deleted"))
		return
	}
	p.Title = p.L.F("note.title", s.info.Creator)
	p.Description = plainExcerpt(n.Content, 200)
	// Our notes' content is HTML we wrote ourselves (announcements, acknowledgements with a mention link).
	p.Data = noteData{Heading: p.Title, Content: template.HTML(n.Content), PublishedAt: n.PublishedAt}
	s.render(w, r, http.StatusOK, "note", p)
}
