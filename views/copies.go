package views

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/memo-fediverse/memo/storage"
)

// Self-hosted copies on the web: a copy's pages say whose copy it is and show the network's signature count; an
// origin lists the copies that relay signatures to it.

func init() {
	for k, v := range map[string]string{
		"copy.note":     "Ce site est une copie du mémo, hébergée sur %s. Les signatures recueillies ici sont transmises au site d’origine, qui les vérifie :",
		"copy.origin":   "voir l’original",
		"copies.title":  "Copies du mémo",
		"copies.intro":  "Des instances hébergent leur propre copie du mémo et transmettent ici les signatures recueillies chez elles. Chaque signature transmise est vérifiée auprès du serveur de la personne qui signe avant d’être comptée.",
		"copies.none":   "Aucune copie connue pour l’instant.",
		"copies.domain": "Domaine",
		"copies.since":  "Depuis",
		"copies.count":  "Signatures apportées",
	} {
		frStrings[k] = v
	}
	for k, v := range map[string]string{
		"copy.note":     "This site is a copy of the memo, hosted on %s. Signatures collected here are relayed to the original site, which checks them:",
		"copy.origin":   "see the original",
		"copies.title":  "Copies of the memo",
		"copies.intro":  "Instances host their own copy of the memo and relay here the signatures collected there. Each relayed signature is checked with the signer's own server before it counts.",
		"copies.none":   "No copy known yet.",
		"copies.domain": "Domain",
		"copies.since":  "Since",
		"copies.count":  "Signatures brought",
	} {
		enStrings[k] = v
	}
}

// copyNote is what a copy's pages say about its origin.
type copyNote struct {
	OriginURL  string // the origin's home page
	OriginHost string
}

// copyState tells whether this instance is a copy and, if so, the network's signature count: the origin's, as
// last read, plus the signatures made here that the origin has not confirmed yet. On an origin it returns nil
// and local. origin is the copy setting (storage.MetaCopyOf), read with the page's state.
func (s *Site) copyState(ctx context.Context, origin string, local int) (*copyNote, int, error) {
	if origin == "" {
		return nil, local, nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return nil, local, nil
	}
	note := &copyNote{OriginURL: u.Scheme + "://" + u.Host + "/", OriginHost: u.Host}
	v, err := s.store.Meta(ctx, storage.MetaOriginTotal)
	if errors.Is(err, storage.ErrNotFound) {
		return note, local, nil // not read from the origin yet: what we know is ours
	}
	if err != nil {
		return nil, local, err
	}
	originTotal, _ := strconv.Atoi(v)
	pending, err := s.store.UnconfirmedRelays(ctx, storage.RelayAddPrefix(s.cfg.URLs.Base))
	if err != nil {
		return nil, local, err
	}
	return note, originTotal + pending, nil
}

type copiesData struct {
	Copies []copyRow
}

type copyRow struct {
	storage.Copy
	Home string // the copy's home page, from its actor
}

// CopiesPage lists the copies known here (the federation side answers the collection on the same URL).
func (s *Site) CopiesPage() http.Handler {
	return secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := s.store.Copies(r.Context())
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		var shown []copyRow
		for _, c := range list {
			u, err := url.Parse(c.ActorIRI)
			if c.Blocked || err != nil || (u.Scheme != "https" && u.Scheme != "http") {
				continue
			}
			shown = append(shown, copyRow{Copy: c, Home: u.Scheme + "://" + u.Host + "/"})
		}
		l := localeFor(r)
		p := s.newPage(r, "", l.T("copies.title"), l.T("copies.intro"), s.cfg.URLs.Copies(), s.cfg.URLs.Copies())
		p.Data = copiesData{Copies: shown}
		s.render(w, r, http.StatusOK, "copies", p)
	}))
}
