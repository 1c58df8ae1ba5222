package views

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/memo-fediverse/memo/content"
)

// The Atom feed (RFC 4287) lists the revisions and the standing impulses, newest first. It is in French, like the
// text it announces.

type atomFeed struct {
	XMLName  xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang     string      `xml:"xml:lang,attr"`
	ID       string      `xml:"id"`
	Title    string      `xml:"title"`
	Subtitle string      `xml:"subtitle"`
	Updated  string      `xml:"updated"`
	Links    []atomLink  `xml:"link"`
	Author   atomAuthor  `xml:"author"`
	Icon     string      `xml:"icon"`
	Rights   string      `xml:"rights"`
	Gen      atomGen     `xml:"generator"`
	Entries  []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomAuthor struct {
	Name string `xml:"name"`
	URI  string `xml:"uri,omitempty"`
}

type atomGen struct {
	URI     string `xml:"uri,attr,omitempty"`
	Version string `xml:"version,attr,omitempty"`
	Name    string `xml:",chardata"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	ID        string     `xml:"id"`
	Title     string     `xml:"title"`
	Updated   string     `xml:"updated"`
	Published string     `xml:"published"`
	Links     []atomLink `xml:"link"`
	Summary   *atomText  `xml:"summary,omitempty"`
	Content   *atomText  `xml:"content,omitempty"`
	updated   time.Time
}

func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *Site) buildFeed(r *http.Request) (*atomFeed, error) {
	ctx := r.Context()
	u := s.cfg.URLs
	revs, err := s.store.Revisions(ctx)
	if err != nil {
		return nil, err
	}
	imps, err := s.store.Impulses(ctx)
	if err != nil {
		return nil, err
	}
	var entries []atomEntry
	for _, rev := range revs {
		summary := rev.Summary
		if rev.Changelog != "" {
			summary = rev.Changelog + " — " + rev.Summary
		}
		entries = append(entries, atomEntry{
			ID:      u.Revision(rev.Number),
			Title:   fmt.Sprintf("Révision %d : %s", rev.Number, rev.Title),
			Updated: atomTime(rev.PublishedAt), Published: atomTime(rev.PublishedAt), updated: rev.PublishedAt,
			Links:   []atomLink{{Rel: "alternate", Type: "text/html", Href: u.Revision(rev.Number)}},
			Summary: &atomText{Type: "text", Body: summary},
		})
	}
	for _, imp := range imps {
		if imp.Retracted() {
			continue
		}
		entries = append(entries, atomEntry{
			ID:      u.Impulse(imp.Slug),
			Title:   content.ImpulseTitle(imp.Kind, imp.Position),
			Updated: atomTime(imp.UpdatedAt), Published: atomTime(imp.PublishedAt), updated: imp.UpdatedAt,
			Links:   []atomLink{{Rel: "alternate", Type: "text/html", Href: u.Impulse(imp.Slug)}},
			Content: &atomText{Type: "html", Body: imp.HTML},
		})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].updated.After(entries[j].updated) })
	updated := content.FirstRevisionDate
	if len(entries) > 0 {
		updated = entries[0].updated
	}
	return &atomFeed{
		Lang: content.Language, ID: u.Feed(), Title: s.cfg.DisplayName, Subtitle: content.AbstractWith(s.info.Phrase),
		Updated: atomTime(updated),
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: u.Feed()},
			{Rel: "alternate", Type: "text/html", Href: u.Home()},
		},
		Author:  atomAuthor{Name: content.Authors, URI: content.OriginalURL},
		Icon:    u.Icon(),
		Rights:  "Texte sous licence " + content.Licence + " (" + content.LicenceURL + ")",
		Gen:     atomGen{URI: s.cfg.SourceURL, Version: s.cfg.Version, Name: "memo"},
		Entries: entries,
	}, nil
}

func (s *Site) feed(w http.ResponseWriter, r *http.Request) {
	f, err := s.buildFeed(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	b, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		s.serverError(w, r, fmt.Errorf("encode feed: %w", err))
		return
	}
	b = append([]byte(xml.Header), append(b, '\n')...)
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}
