package views

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// shownRevision is a revision prepared for display: its leading title removed (the page prints it in its header),
// its sections given anchors, and a table of contents built from them.
type shownRevision struct {
	Number      int
	Title       string
	Changelog   string
	PublishedAt time.Time
	Body        template.HTML
	TOC         []tocEntry
}

type tocEntry struct {
	ID   string
	HTML template.HTML
}

var (
	leadingH1 = regexp.MustCompile(`(?s)^\s*<h1[^>]*>.*?</h1>\s*`)
	h2Open    = regexp.MustCompile(`(?s)<h2>(.*?)</h2>`)
	tagRE     = regexp.MustCompile(`<[^>]*>`)
	// The shipped text has links written without their scheme ("www.…"), which a browser would resolve against our
	// own site.
	schemelessHref = regexp.MustCompile(`href="(www\.[^"]+)"`)
)

// prepareRevision turns stored revision HTML into what the pages show. The HTML is ours (rendered by goldmark with
// raw HTML dropped when the revision was published), so it is trusted as markup.
func prepareRevision(rev storage.Revision) *shownRevision {
	body := leadingH1.ReplaceAllString(rev.HTML, "")
	body = schemelessHref.ReplaceAllString(body, `href="https://$1"`)
	var toc []tocEntry
	n := 0
	body = h2Open.ReplaceAllStringFunc(body, func(m string) string {
		n++
		inner := h2Open.FindStringSubmatch(m)[1]
		id := fmt.Sprintf("section-%d", n)
		// Only inline markup (emphasis) survives in the contents; links inside a heading would nest anchors.
		label := tagRE.ReplaceAllStringFunc(inner, func(tag string) string {
			switch tag {
			case "<em>", "</em>", "<strong>", "</strong>", "<code>", "</code>":
				return tag
			}
			return ""
		})
		toc = append(toc, tocEntry{ID: id, HTML: template.HTML(label)})
		return `<h2 id="` + id + `">` + inner + `</h2>`
	})
	return &shownRevision{
		Number: rev.Number, Title: rev.Title, Changelog: rev.Changelog, PublishedAt: rev.PublishedAt,
		Body: template.HTML(body), TOC: toc,
	}
}

// demoteHeadings shifts every heading of trusted HTML down so that its top level becomes level top.
func demoteHeadings(html string, top int) string {
	shift := top - 1
	if shift <= 0 {
		return html
	}
	for level := 6 - shift; level >= 1; level-- {
		html = strings.ReplaceAll(html, fmt.Sprintf("<h%d", level), fmt.Sprintf("<h%d", level+shift))
		html = strings.ReplaceAll(html, fmt.Sprintf("</h%d>", level), fmt.Sprintf("</h%d>", level+shift))
	}
	return html
}

// memoCache keeps prepared revisions by number (a handful, never evicted: revisions are immutable) and the
// latest rendered home pages, keyed by everything they show, so that the busiest page costs one small query.
type memoCache struct {
	mu     sync.RWMutex
	revs   map[int]*shownRevision
	pages  map[homeKey][]byte
	zipped map[homeKey][]byte // the same pages gzipped, made at the first request that takes gzip
}

type homeKey struct {
	lang    string
	variant string
	rev     int
	total   int
}

const maxCachedPages = 32

func newMemoCache() *memoCache {
	return &memoCache{revs: map[int]*shownRevision{}, pages: map[homeKey][]byte{}, zipped: map[homeKey][]byte{}}
}

// revision returns revision n prepared for display, from memory after the first time.
func (s *Site) shownRevision(ctx context.Context, n int) (*shownRevision, error) {
	s.memo.mu.RLock()
	r, ok := s.memo.revs[n]
	s.memo.mu.RUnlock()
	if ok {
		return r, nil
	}
	rev, err := s.store.Revision(ctx, n)
	if err != nil {
		return nil, err
	}
	r = prepareRevision(rev)
	s.memo.mu.Lock()
	s.memo.revs[n] = r
	s.memo.mu.Unlock()
	return r, nil
}

func (c *memoCache) page(k homeKey) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	b, ok := c.pages[k]
	return b, ok
}

func (c *memoCache) putPage(k homeKey, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pages) >= maxCachedPages {
		clear(c.pages)
		clear(c.zipped)
	}
	c.pages[k] = b
}

type memoData struct {
	Rev   *shownRevision
	Total int
	Copy  *copyNote // set on a copy: whose, and Total is the network's
}

// home is the front page: the memo, the live signature count and the follow box. The actor's profile URL shows
// the same page, and so does /?uri=…, where our WebFinger subscribe template sends visitors.
func (s *Site) home(w http.ResponseWriter, r *http.Request)  { s.serveMemo(w, r, "home") }
func (s *Site) actor(w http.ResponseWriter, r *http.Request) { s.serveMemo(w, r, "actor") }

func (s *Site) memoPage(w http.ResponseWriter, r *http.Request) { s.serveMemo(w, r, "memo") }

func (s *Site) serveMemo(w http.ResponseWriter, r *http.Request, variant string) {
	ctx := r.Context()
	// One query for the revision, the count and the copy setting: the home page is the busiest page.
	state, err := s.store.ArticleState(ctx, s.cfg.URLs.Memo())
	if errors.Is(err, storage.ErrNotFound) {
		s.fail(w, r, http.StatusServiceUnavailable, localeFor(r).T("error.norevision"))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	n := state.Revision
	l := localeFor(r)
	cp, total, err := s.copyState(ctx, state.CopyOf, state.Signatures)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	key := homeKey{lang: l.Tag, variant: variant, rev: n, total: total}
	if b, ok := s.memo.page(key); ok {
		s.writeMemoPage(w, r, key, b)
		return
	}
	rev, err := s.shownRevision(ctx, n)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	u := s.cfg.URLs
	canonical, alternate, nav := u.Home(), u.Actor(), ""
	if variant == "memo" {
		canonical, alternate, nav = u.Memo(), u.Memo(), "memo"
	} else if variant == "actor" {
		canonical = u.Actor()
	}
	p := s.newPage(r, nav, rev.Title, content.AbstractWith(s.info.Phrase), canonical, alternate)
	p.Data = memoData{Rev: rev, Total: total, Copy: cp}
	b, err := s.renderBytes("memo", p)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.memo.putPage(key, b)
	s.writeMemoPage(w, r, key, b)
}
