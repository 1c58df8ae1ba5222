package views

import (
	"net/http"
	"time"

	"github.com/memo-fediverse/memo/storage"
)

type revisionItem struct {
	Number      int
	URL         string
	DiffURL     string // changes since the previous revision; empty for the first
	Changelog   string
	PublishedAt time.Time
	Current     bool
}

// compareForm is the data the "compare two revisions" form reads.
type compareForm struct {
	Revisions  []revisionItem
	DiffAction string
	From, To   int
}

func (s *Site) revisionItems(r *http.Request) ([]revisionItem, error) {
	list, err := s.store.Revisions(r.Context())
	if err != nil {
		return nil, err
	}
	u := s.cfg.URLs
	out := make([]revisionItem, len(list))
	for i, rev := range list {
		it := revisionItem{Number: rev.Number, URL: u.Revision(rev.Number), Changelog: rev.Changelog, PublishedAt: rev.PublishedAt, Current: i == 0}
		if rev.Number > 1 {
			it.DiffURL = u.Diff(rev.Number-1, rev.Number)
		}
		out[i] = it
	}
	return out, nil
}

func (s *Site) revisions(w http.ResponseWriter, r *http.Request) {
	items, err := s.revisionItems(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	u := s.cfg.URLs
	p := s.newPage(r, "revisions", "", "", u.Revisions(), u.Revisions())
	p.Title, p.Description = p.L.T("revisions.title"), p.L.T("revisions.intro")
	form := compareForm{Revisions: items, DiffAction: s.diffAction()}
	if len(items) > 1 {
		form.From, form.To = items[1].Number, items[0].Number
	}
	p.Data = form
	s.render(w, r, http.StatusOK, "revisions", p)
}

// diffAction is the diff page's address without its query, for the compare form.
func (s *Site) diffAction() string { return s.cfg.URLs.Base + pathOf(s.cfg.URLs.Diff(1, 2)) }

type revisionData struct {
	Rev                       *shownRevision
	Current                   bool
	PrevURL, NextURL, DiffURL string
}

func (s *Site) revision(w http.ResponseWriter, r *http.Request) {
	n, ok := parseID(r.PathValue("n"))
	if !ok || n > 1<<30 {
		s.notFound(w, r)
		return
	}
	ctx := r.Context()
	rev, err := s.shownRevision(ctx, int(n))
	if s.lookupFailed(w, r, err) {
		return
	}
	current, err := s.store.CurrentRevisionNumber(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	u := s.cfg.URLs
	p := s.newPage(r, "revisions", "", "", u.Revision(rev.Number), u.Revision(rev.Number))
	p.Title = p.L.F("revision.pagetitle", rev.Number, rev.Title)
	p.Description = rev.Changelog
	if p.Description == "" {
		p.Description = p.Title
	}
	d := revisionData{Rev: rev, Current: rev.Number == current}
	if rev.Number > 1 {
		d.PrevURL = u.Revision(rev.Number - 1)
		d.DiffURL = u.Diff(rev.Number-1, rev.Number)
	}
	if rev.Number < current {
		d.NextURL = u.Revision(rev.Number + 1)
	}
	p.Data = d
	s.render(w, r, http.StatusOK, "revision", p)
}

type diffData struct {
	compareForm
	FromURL, ToURL    string
	FromDate, ToDate  time.Time
	Same              bool
	Blocks            []diffBlock
	Inserted, Deleted int
}

// diff shows the word-level changes of the Markdown between two revisions. Missing or malformed numbers are a 400
// that says what is expected; a revision that does not exist is a 404.
func (s *Site) diff(w http.ResponseWriter, r *http.Request) {
	l := localeFor(r)
	q := r.URL.Query()
	from, okFrom := parseID(q.Get("from"))
	to, okTo := parseID(q.Get("to"))
	if !okFrom || !okTo || from > 1<<30 || to > 1<<30 {
		s.fail(w, r, http.StatusBadRequest, l.T("diff.err.params"))
		return
	}
	if from == to {
		s.fail(w, r, http.StatusBadRequest, l.T("diff.err.same"))
		return
	}
	ctx := r.Context()
	a, err := s.store.Revision(ctx, int(from))
	var b storage.Revision
	if err == nil {
		b, err = s.store.Revision(ctx, int(to))
	}
	if isNotFound(err) {
		s.fail(w, r, http.StatusNotFound, l.T("diff.err.missing"))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.renderDiff(w, r, a, b)
}

func (s *Site) renderDiff(w http.ResponseWriter, r *http.Request, a, b storage.Revision) {
	from, to := a.Number, b.Number
	items, err := s.revisionItems(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	u := s.cfg.URLs
	res := wordDiff(a.Markdown, b.Markdown)
	p := s.newPage(r, "revisions", "", "", u.Diff(from, to), u.Revision(to))
	p.Title = p.L.F("diff.title", from, to)
	p.Description = p.Title
	p.Data = diffData{
		compareForm: compareForm{Revisions: items, DiffAction: s.diffAction(), From: from, To: to},
		FromURL:     u.Revision(from), ToURL: u.Revision(to), FromDate: a.PublishedAt, ToDate: b.PublishedAt,
		Same: a.Markdown == b.Markdown, Blocks: res.Blocks, Inserted: res.Inserted, Deleted: res.Deleted,
	}
	s.render(w, r, http.StatusOK, "diff", p)
}
