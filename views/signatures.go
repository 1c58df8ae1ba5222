package views

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/memo-fediverse/memo/storage"
)

const (
	signaturesPerPage = 50
	maxSearchRunes    = 100
)

// shownSignature is a signature as a page lists it. Every field comes from a remote profile: the templates escape
// them, and links are kept only when they are plain http(s) URLs.
type shownSignature struct {
	ID           int64
	URL          string
	DisplayName  string
	Handle       string
	Domain       string
	ProfileURL   string
	ReplyURL     string
	Organisation bool
	Revision     int
	RevisionURL  string
	SignedAt     time.Time
	// Written here rather than by template functions: the list has fifty rows, and calls from a template go
	// through reflection (they were a third of the list's cost).
	SignedISO, SignedDate, OnRevision string
}

func (s *Site) showSignature(l *locale, sig storage.ListedSignature) shownSignature {
	return shownSignature{
		ID: sig.ID, URL: s.cfg.URLs.Signature(sig.ID),
		DisplayName: strings.TrimSpace(sig.DisplayName), Handle: strings.TrimPrefix(sig.Handle, "@"), Domain: sig.Domain,
		ProfileURL: webURL(sig.ProfileURL), ReplyURL: webURL(sig.NoteIRI),
		Organisation: sig.ActorType == "Organization" || sig.ActorType == "Group" || sig.ActorType == "Service",
		Revision:     sig.Revision, RevisionURL: s.cfg.URLs.Revision(sig.Revision), SignedAt: sig.SignedAt,
		SignedISO: l.ISO(sig.SignedAt), SignedDate: l.Date(sig.SignedAt), OnRevision: l.F("signatures.onrevision", sig.Revision),
	}
}

// webURL returns u if it is an absolute http(s) URL with a host, else "" (never a javascript: or data: link).
func webURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.User != nil {
		return ""
	}
	return p.String()
}

// maxCountedMatches is where a search stops counting its matches: past it, the page says "more than 1,000", as
// counting every match of a common word costs a read per match on every page of its results.
const maxCountedMatches = 1000

// topInstances is how many instances the list's "count per instance" shows.
const topInstances = 10

type signaturesData struct {
	Tally            storage.SignatureCounts
	Query            string
	MaxQuery         int
	Matches          int
	ManyMatches      bool // more than maxCountedMatches: the page says so rather than counting them all
	List             []shownSignature
	PrevURL, NextURL string
	Instances        []storage.InstanceCount // the instances with the most listed signatures
}

// signatures lists the public signatures, oldest first, fifty a page, with a search by name, handle or instance.
// Private signatures are in the count only.
func (s *Site) signatures(w http.ResponseWriter, r *http.Request) {
	l := localeFor(r)
	q := r.URL.Query()
	search := strings.TrimSpace(q.Get("q"))
	if !utf8.ValidString(search) || utf8.RuneCountInString(search) > maxSearchRunes {
		s.fail(w, r, http.StatusBadRequest, l.F("signatures.err.query", maxSearchRunes))
		return
	}
	var after, before int64
	for name, dst := range map[string]*int64{"after": &after, "before": &before} {
		if v := q.Get(name); v != "" {
			id, ok := parseID(v)
			if !ok {
				s.fail(w, r, http.StatusBadRequest, l.T("signatures.err.cursor"))
				return
			}
			*dst = id
		}
	}
	if after > 0 && before > 0 {
		s.fail(w, r, http.StatusBadRequest, l.T("signatures.err.cursor"))
		return
	}
	ctx := r.Context()
	tally, err := s.store.CountSignatures(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	d := signaturesData{Tally: tally, Query: search, MaxQuery: maxSearchRunes}
	if tally.Public > 0 {
		if d.Instances, err = s.store.SignaturesPerInstance(ctx, topInstances); err != nil {
			s.serverError(w, r, err)
			return
		}
		list, err := s.store.ListedSignatures(ctx, storage.SignatureQuery{Search: search, After: after, Before: before, Limit: signaturesPerPage})
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		for _, sig := range list {
			d.List = append(d.List, s.showSignature(l, sig))
		}
		if search != "" {
			if d.Matches, err = s.store.CountListedSignaturesUpTo(ctx, search, maxCountedMatches); err != nil {
				s.serverError(w, r, err)
				return
			}
			d.ManyMatches = d.Matches > maxCountedMatches
		}
		if len(list) > 0 {
			first, last := list[0].ID, list[len(list)-1].ID
			if more, err := s.store.HasListedSignature(ctx, search, first, false); err != nil {
				s.serverError(w, r, err)
				return
			} else if more {
				d.PrevURL = s.signaturesPageURL(search, "before", first)
			}
			if more, err := s.store.HasListedSignature(ctx, search, last, true); err != nil {
				s.serverError(w, r, err)
				return
			} else if more {
				d.NextURL = s.signaturesPageURL(search, "after", last)
			}
		}
	}
	u := s.cfg.URLs
	canonical := u.Signatures()
	p := s.newPage(r, "signatures", "", "", canonical, u.Signatures())
	p.Title = l.T("signatures.title")
	p.Description = l.Count("count.signatures", tally.Total())
	p.Data = d
	s.render(w, r, http.StatusOK, "signatures", p)
}

func (s *Site) signaturesPageURL(search, dir string, id int64) string {
	v := url.Values{}
	if search != "" {
		v.Set("q", search)
	}
	v.Set(dir, strconv.FormatInt(id, 10))
	return s.cfg.URLs.Signatures() + "?" + v.Encode()
}

// signature is one signature's page; private, hidden and withdrawn ones are not found.
func (s *Site) signature(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	sig, err := s.store.ListedSignatureByID(r.Context(), id)
	if s.lookupFailed(w, r, err) {
		return
	}
	shown := s.showSignature(localeFor(r), sig)
	u := s.cfg.URLs.Signature(id)
	p := s.newPage(r, "signatures", "", "", u, u)
	p.Title = p.L.F("signature.title", id)
	name := shown.DisplayName
	if name == "" {
		name = shown.Handle
	}
	p.Description = p.L.F("signature.description", name, shown.Domain)
	p.Data = shown
	s.render(w, r, http.StatusOK, "signature", p)
}
