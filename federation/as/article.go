package as

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strconv"

	"github.com/go-fed/activity/streams"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// frenchMonths spells dates the way the French text around them does.
var frenchMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

func frenchDate(rev storage.Revision) string {
	t := rev.PublishedAt
	return fmt.Sprintf("%d %s %d", t.Day(), frenchMonths[t.Month()-1], t.Year())
}

// attributionHTML closes every rendering of the memo: which revision, the licence, the authors, the original, and
// how to sign. Mastodon drops an Article's content, but other servers show it whole.
func (o Builder) attributionHTML(rev storage.Revision) string {
	return fmt.Sprintf(`<hr/><p><em>Révision %d du %s. Texte sous licence <a href="%s">%s</a>, par %s ; original : <a href="%s">%s</a>. `+
		`Pour signer, répondez à ce message en écrivant « %s » ; les signatures : <a href="%s">%s</a>.</em></p>`,
		rev.Number, frenchDate(rev), content.LicenceURL, content.Licence, html.EscapeString(content.Authors),
		content.OriginalURL, content.OriginalURL, html.EscapeString(o.SignPhrase()), html.EscapeString(o.urls.Signatures()), html.EscapeString(o.urls.Signatures()))
}

// articleContentLimit bounds the HTML an Article carries. content and contentMap both hold it, and the document
// must stay under Mastodon's 1 MB fetch limit; a longer text is replaced by its abstract and a link to the page.
const articleContentLimit = 320 << 10

// Article builds the memo as an Article. With id urls.Memo() it is the living memo (published on revision 1's
// date, updated on rev's); with id urls.Revision(n) it is the snapshot of revision n.
func (o Builder) Article(ctx context.Context, rev storage.Revision, first storage.Revision, id string) (map[string]any, error) {
	m, ok := o.cache.get(articleKey(id, rev.Number))
	if !ok {
		fixed, err := o.articleText(rev, first, id)
		if err != nil {
			return nil, err
		}
		m = o.cache.put(articleKey(id, rev.Number), fixed)
	}
	return o.articleLive(ctx, m, id)
}

// articleLive adds to an Article what changes without a new revision: its counts, and the origin's address when
// this server is a copy.
func (o Builder) articleLive(ctx context.Context, m map[string]any, id string) (map[string]any, error) {
	o.pointToOrigin(ctx, m, id)
	if err := o.withInteractions(ctx, m, id); err != nil {
		return nil, err
	}
	sigs, err := o.signaturesSummary(ctx)
	if err != nil {
		return nil, err
	}
	m["signatures"] = sigs
	return m, nil
}

// articleText is the part of an Article that only a new revision changes.
func (o Builder) articleText(rev storage.Revision, first storage.Revision, id string) (map[string]any, error) {
	a := streams.NewActivityStreamsArticle()
	a.SetJSONLDId(idProp(id))
	a.SetActivityStreamsName(nameProp(rev.Title))
	// Mastodon shows only name, summary and a link to url: the summary is the abstract, which ends with how to sign.
	summary := "<p>" + html.EscapeString(rev.Summary) + "</p>"
	a.SetActivityStreamsSummary(summaryProp(summary))
	body := rev.HTML
	if len(body) > articleContentLimit {
		body = summary + fmt.Sprintf(`<p><a href="%s">Lire le texte intégral</a></p>`, html.EscapeString(id))
	}
	body += o.attributionHTML(rev)
	a.SetActivityStreamsContent(contentProp(body))
	a.SetActivityStreamsUrl(urlProp(id))
	o.addressPublic(a)
	if id == o.urls.Memo() {
		a.SetActivityStreamsPublished(publishedProp(first.PublishedAt))
		// Only a later revision is an edit: GoToSocial marks a post edited whenever `updated` is present and not
		// before `published`, so revision 1 carries none (as impulses never edited carry none).
		if rev.PublishedAt.After(first.PublishedAt) {
			a.SetActivityStreamsUpdated(updatedProp(rev.PublishedAt))
		}
	} else {
		a.SetActivityStreamsPublished(publishedProp(rev.PublishedAt))
		a.SetActivityStreamsContext(contextProp(o.urls.Memo()))
	}

	// FEP-b2b8: a short Note servers may show in place of the whole text.
	preview := streams.NewActivityStreamsNote()
	preview.SetActivityStreamsContent(contentProp(summary))
	preview.SetActivityStreamsAttributedTo(attributedToProp(o.urls.Actor()))
	pp := streams.NewActivityStreamsPreviewProperty()
	pp.AppendActivityStreamsNote(preview)
	a.SetActivityStreamsPreview(pp)

	m, err := serialize(a)
	if err != nil {
		return nil, err
	}
	m["contentMap"] = languageMap(body)
	m["summaryMap"] = languageMap(summary)
	m["nameMap"] = languageMap(rev.Title)
	if pm, ok := m["preview"].(map[string]any); ok {
		pm["contentMap"] = languageMap(summary)
	}
	if id != o.urls.Memo() {
		m["source"] = map[string]any{"content": rev.Markdown, "mediaType": "text/markdown"} // copies import it
	}
	if rev.Changelog != "" {
		m["changelog"] = rev.Changelog // what changed in this revision, in plain text (copies import it)
	}
	m["tag"] = hashtags(o.urls)
	m["attachment"] = []any{}
	m["sensitive"] = false
	keepAudienceArrays(m)
	return m, nil
}

// signaturesSummary is the signatures collection as the Article embeds it: its address and count.
func (o Builder) signaturesSummary(ctx context.Context) (map[string]any, error) {
	counts, err := o.store.CountSignatures(ctx)
	if err != nil {
		return nil, err
	}
	return o.signaturesSummaryOf(counts.Total())
}

// signaturesSummaryOf is signaturesSummary for a count already read.
func (o Builder) signaturesSummaryOf(n int) (map[string]any, error) {
	c := streams.NewActivityStreamsOrderedCollection()
	c.SetJSONLDId(idProp(o.urls.Signatures()))
	c.SetActivityStreamsTotalItems(totalItemsProp(n))
	c.SetActivityStreamsFirst(firstProp(o.urls.Signatures() + "?page=1"))
	return serialize(c)
}

// MemoArticle is the living memo at its current revision. Once built, only the revision's number is read.
func (o Builder) MemoArticle(ctx context.Context) (map[string]any, error) {
	if o.cache != nil {
		return o.memoArticleCached(ctx)
	}
	n, err := o.store.CurrentRevisionNumber(ctx)
	if err != nil {
		return nil, StoreErr(err, "the memo is not published yet")
	}
	if m, ok := o.cache.get(articleKey(o.urls.Memo(), n)); ok {
		return o.articleLive(ctx, m, o.urls.Memo())
	}
	cur, err := o.store.CurrentRevision(ctx)
	if err != nil {
		return nil, StoreErr(err, "the memo is not published yet")
	}
	first, err := o.store.Revision(ctx, 1)
	if err != nil {
		return nil, fmt.Errorf("memo: revision 1: %w", err)
	}
	return o.Article(ctx, cur, first, o.urls.Memo())
}

// RevisionArticle is the snapshot of revision n.
func (o Builder) RevisionArticle(ctx context.Context, n int) (map[string]any, error) {
	rev, err := o.store.Revision(ctx, n)
	if err != nil {
		return nil, StoreErr(err, "no revision %d", n)
	}
	return o.Article(ctx, rev, rev, o.urls.Revision(n))
}

// Revisions is the OrderedCollection of every revision's Article, newest first, by address.
func (o Builder) Revisions(ctx context.Context) (map[string]any, error) {
	list, err := o.store.Revisions(ctx)
	if err != nil {
		return nil, err
	}
	c := streams.NewActivityStreamsOrderedCollection()
	c.SetJSONLDId(idProp(o.urls.Revisions()))
	c.SetActivityStreamsName(nameProp("Révisions du mémo"))
	c.SetActivityStreamsTotalItems(totalItemsProp(len(list)))
	items := streams.NewActivityStreamsOrderedItemsProperty()
	for _, r := range list {
		items.AppendIRI(iri(o.urls.Revision(r.Number)))
	}
	c.SetActivityStreamsOrderedItems(items)
	c.SetActivityStreamsAttributedTo(attributedToProp(o.urls.Actor()))
	m, err := serialize(c)
	if err != nil {
		return nil, err
	}
	m["orderedItems"] = asArray(m["orderedItems"])
	return m, nil
}

// RevisionNumber reads the {n} of a revision URL; anything but a positive integer is a 404, like a missing one.
func RevisionNumber(r *http.Request) (int, error) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || strconv.Itoa(n) != r.PathValue("n") {
		return 0, NotFound("no revision %q", r.PathValue("n"))
	}
	return n, nil
}

// asArray keeps a list a list: go-fed writes a one-element list as a bare value.
func asArray(v any) []any {
	switch x := v.(type) {
	case nil:
		return []any{}
	case []any:
		return x
	default:
		return []any{x}
	}
}
