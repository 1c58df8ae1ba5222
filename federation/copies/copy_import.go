package copies

import (
	"context"
	"errors"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// metaImported is the highest origin revision the copy has imported.
const metaImported = "origin_revisions_imported"

// collectionDoc is the part of an OrderedCollection the copy reads.
type collectionDoc struct {
	TotalItems   int   `json:"totalItems"`
	OrderedItems []any `json:"orderedItems"`
}

func (d collectionDoc) iris() []string {
	out := make([]string, 0, len(d.OrderedItems))
	for _, it := range d.OrderedItems {
		switch v := it.(type) {
		case string:
			out = append(out, v)
		case map[string]any:
			if id, ok := v["id"].(string); ok {
				out = append(out, id)
			}
		}
	}
	return out
}

// syncRevisions imports, oldest first, every revision of the origin above the last one imported. Revisions keep
// the origin's numbers, so "revision 3" is the same text on the origin and on every copy; the copy's seeded
// revision 1 is replaced by the origin's on the first sync.
func (c *Copy) syncRevisions(ctx context.Context) (int, error) {
	var coll collectionDoc
	if err := c.getJSON(ctx, c.origin.urls.Revisions(), &coll); err != nil {
		return 0, fmt.Errorf("origin revisions: %w", err)
	}
	done := 0
	if v, err := c.cfg.Store.Meta(ctx, metaImported); err == nil {
		done, _ = strconv.Atoi(v)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return 0, err
	}
	var numbers []int
	for _, iri := range coll.iris() {
		rest, ok := strings.CutPrefix(iri, c.origin.urls.Revisions()+"/")
		n, err := strconv.Atoi(rest)
		if !ok || err != nil || n < 1 {
			return 0, fmt.Errorf("origin revisions: item %q is not one of its revisions", iri)
		}
		if n > done {
			numbers = append(numbers, n)
		}
	}
	slices.Sort(numbers)
	imported := 0
	for _, n := range numbers {
		var doc articleDoc
		if err := c.getJSON(ctx, c.origin.urls.Revision(n), &doc); err != nil {
			return imported, fmt.Errorf("origin revision %d: %w", n, err)
		}
		rev, err := doc.revision(n, c.origin.urls.Revision(n))
		if err != nil {
			return imported, err
		}
		if err := c.cfg.Store.ImportRevision(ctx, rev); err != nil {
			return imported, err
		}
		if err := c.cfg.Store.SetMeta(ctx, metaImported, strconv.Itoa(n)); err != nil {
			return imported, err
		}
		imported++
	}
	return imported, nil
}

// articleDoc is the part of a revision Article the copy reads.
type articleDoc struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Name      string `json:"name"`
	Summary   string `json:"summary"`
	Content   string `json:"content"`
	Published string `json:"published"`
	Changelog string `json:"changelog"`
	Source    struct {
		Content   string `json:"content"`
		MediaType string `json:"mediaType"`
	} `json:"source"`
}

// revision turns a fetched revision Article into a stored revision. The text is the origin's Markdown source,
// rendered here as the origin renders its own (raw HTML dropped): the copy never depends on the HTML around it
// (the origin's attribution, its language), and what crossed the network is sanitised once more all the same.
func (d articleDoc) revision(n int, want string) (storage.Revision, error) {
	if d.ID != want || d.Type != "Article" {
		return storage.Revision{}, fmt.Errorf("origin revision %d: got %s %q, want the Article %s", n, d.Type, d.ID, want)
	}
	title := strings.TrimSpace(d.Name)
	if title == "" || len(title) > 1000 {
		return storage.Revision{}, fmt.Errorf("origin revision %d: no usable title", n)
	}
	published, err := time.Parse(time.RFC3339, d.Published)
	if err != nil {
		return storage.Revision{}, fmt.Errorf("origin revision %d: published %q: %w", n, d.Published, err)
	}
	if d.Source.Content == "" || d.Source.MediaType != "text/markdown" {
		return storage.Revision{}, fmt.Errorf("origin revision %d: no Markdown source (source.mediaType %q)", n, d.Source.MediaType)
	}
	markdown := d.Source.Content
	rendered, err := content.Render(markdown)
	if err != nil {
		return storage.Revision{}, fmt.Errorf("origin revision %d: %w", n, err)
	}
	body := content.SanitizeHTML(rendered)
	summary := html.UnescapeString(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(d.Summary), "<p>"), "</p>"))
	if summary == "" {
		summary = content.Abstract
	}
	return storage.Revision{
		Number: n, Title: title, Summary: summary, Markdown: markdown, HTML: body, PublishedAt: published,
		Changelog: plainChangelog(d.Changelog),
	}, nil
}

// maxChangelog bounds an imported changelog: a line or a short paragraph is what `memo publish` takes.
const maxChangelog = 2000

// plainChangelog keeps an origin's changelog as plain text of bounded length: any markup is dropped and the
// templates escape what remains.
func plainChangelog(s string) string {
	s = strings.TrimSpace(signing.HTMLText(s))
	if r := []rune(s); len(r) > maxChangelog {
		s = string(r[:maxChangelog])
	}
	return s
}

// impulseDoc is the part of an origin's impulse Note the copy reads.
type impulseDoc struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Published string `json:"published"`
	Source    struct {
		Content   string `json:"content"`
		MediaType string `json:"mediaType"`
	} `json:"source"`
}

var impulseSlug = regexp.MustCompile(`^(lesson|measure)-([1-9][0-9]{0,2})$`)

// maxImpulseMarkdown bounds one imported impulse: the shipped ones are a few hundred bytes.
const maxImpulseMarkdown = 16 << 10

// syncImpulses mirrors the origin's impulses: the text of each one it lists (its Markdown source, rendered here, so
// no remote HTML is kept), and the retraction of any it no longer lists.
func (c *Copy) syncImpulses(ctx context.Context) error {
	var coll collectionDoc
	if err := c.getJSON(ctx, c.origin.urls.Impulses(), &coll); err != nil {
		return fmt.Errorf("origin impulses: %w", err)
	}
	listed := map[string]bool{}
	for _, iri := range coll.iris() {
		if slug, ok := strings.CutPrefix(iri, c.origin.urls.Impulses()+"/"); ok && impulseSlug.MatchString(slug) {
			listed[slug] = true
		}
	}
	if len(listed) == 0 {
		return nil // an empty list is more likely a fault than every impulse withdrawn
	}
	local, err := c.cfg.Store.Impulses(ctx)
	if err != nil {
		return err
	}
	have := map[string]storage.Impulse{}
	for _, imp := range local {
		have[imp.Slug] = imp
		if !imp.Retracted() && !listed[imp.Slug] {
			if err := c.cfg.Store.RetractImpulse(ctx, imp.Slug); err != nil {
				return err
			}
		}
	}
	for slug := range listed {
		imp, err := c.importImpulse(ctx, slug)
		if err != nil {
			c.log.Warn("copy: impulse not imported", "impulse", slug, "err", err)
			continue
		}
		if old, ok := have[slug]; ok && old.Markdown == imp.Markdown {
			continue
		}
		imp.UpdatedAt = c.cfg.Store.Now()
		if err := c.cfg.Store.PutImpulse(ctx, imp); err != nil {
			return err
		}
	}
	return nil
}

// importImpulse fetches one impulse of the origin and turns it into a stored impulse.
func (c *Copy) importImpulse(ctx context.Context, slug string) (storage.Impulse, error) {
	want := c.origin.urls.Impulse(slug)
	var d impulseDoc
	if err := c.getJSON(ctx, want, &d); err != nil {
		return storage.Impulse{}, err
	}
	return d.impulse(slug, want)
}

// impulse checks a fetched impulse Note and renders its Markdown source.
func (d impulseDoc) impulse(slug, want string) (storage.Impulse, error) {
	m := impulseSlug.FindStringSubmatch(slug)
	if m == nil {
		return storage.Impulse{}, fmt.Errorf("impulse %q: not an impulse name", slug)
	}
	if d.ID != want || d.Type != "Note" {
		return storage.Impulse{}, fmt.Errorf("impulse %s: got %s %q", want, d.Type, d.ID)
	}
	md := strings.TrimSpace(d.Source.Content)
	if md == "" || d.Source.MediaType != "text/markdown" || len(md) > maxImpulseMarkdown || !utf8.ValidString(md) {
		return storage.Impulse{}, fmt.Errorf("impulse %s: no usable Markdown source", want)
	}
	rendered, err := content.Render(md)
	if err != nil {
		return storage.Impulse{}, err
	}
	published, err := time.Parse(time.RFC3339, d.Published)
	if err != nil {
		return storage.Impulse{}, fmt.Errorf("impulse %s: published %q: %w", want, d.Published, err)
	}
	pos, _ := strconv.Atoi(m[2])
	return storage.Impulse{Slug: slug, Kind: m[1], Position: pos, Markdown: md, HTML: rendered, PublishedAt: published, UpdatedAt: published}, nil
}

// syncTotal keeps the origin's signature count, which the copy shows as the network's.
func (c *Copy) syncTotal(ctx context.Context) error {
	var coll collectionDoc
	if err := c.getJSON(ctx, c.origin.urls.Signatures(), &coll); err != nil {
		return fmt.Errorf("origin signatures: %w", err)
	}
	return c.cfg.Store.SetMeta(ctx, storage.MetaOriginTotal, strconv.Itoa(coll.TotalItems))
}
