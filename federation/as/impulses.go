package as

import (
	"context"
	"fmt"
	"html"

	"github.com/go-fed/activity/streams"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// hashtagLinks is how Mastodon writes hashtags in content; it only shows a tag of the tag list if the content
// links it.
func (o Builder) hashtagLinks() string {
	out := ""
	for i, h := range content.Hashtags {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf(`<a href="%s" class="mention hashtag" rel="tag">#<span>%s</span></a>`, html.EscapeString(o.urls.Tag(h)), html.EscapeString(h))
	}
	return out
}

// impulseLabel names an impulse for people: "Enseignement 3", "Mesure 7".
func impulseLabel(imp storage.Impulse) string { return content.ImpulseTitle(imp.Kind, imp.Position) }

// ImpulseNote builds one impulse as a Note of its own, boostable on its own, linked to the memo by context. Its
// label goes in name and at the head of the content, not in summary, which Mastodon would turn into a content
// warning hiding the text.
func (o Builder) ImpulseNote(ctx context.Context, imp storage.Impulse, memoTitle string) (map[string]any, error) {
	id := o.urls.Impulse(imp.Slug)
	label := impulseLabel(imp)
	body := fmt.Sprintf(`<p><strong>%s</strong> — extrait du mémo « <a href="%s">%s</a> »</p>%s<p>Licence %s. Pour signer le mémo, répondez « %s ». %s</p>`,
		html.EscapeString(label), html.EscapeString(o.urls.Memo()), html.EscapeString(memoTitle), imp.HTML, content.Licence, html.EscapeString(o.SignPhrase()), o.hashtagLinks())

	n := streams.NewActivityStreamsNote()
	n.SetJSONLDId(idProp(id))
	n.SetActivityStreamsName(nameProp(label))
	n.SetActivityStreamsContent(contentProp(body))
	n.SetActivityStreamsUrl(urlProp(id))
	n.SetActivityStreamsPublished(publishedProp(imp.PublishedAt))
	if imp.UpdatedAt.After(imp.PublishedAt) {
		n.SetActivityStreamsUpdated(updatedProp(imp.UpdatedAt))
	}
	n.SetActivityStreamsContext(contextProp(o.urls.Memo()))
	o.addressPublic(n)
	m, err := serialize(n)
	if err != nil {
		return nil, err
	}
	m["contentMap"] = languageMap(body)
	m["source"] = map[string]any{"content": imp.Markdown, "mediaType": "text/markdown"} // copies import it
	o.pointToOrigin(ctx, m, id)
	m["tag"] = hashtags(o.urls)
	m["attachment"] = []any{}
	m["sensitive"] = false
	keepAudienceArrays(m)
	if err := o.withInteractions(ctx, m, id); err != nil {
		return nil, err
	}
	return m, nil
}

// Impulse serves one Impulse: its Note, or a Tombstone (410) once retracted.
func (o Builder) Impulse(ctx context.Context, slug string) (map[string]any, error) {
	imp, err := o.store.Impulse(ctx, slug)
	if err != nil {
		return nil, StoreErr(err, "no impulse %q", slug)
	}
	if imp.Retracted() {
		t, err := o.tombstone(o.urls.Impulse(slug), "Note", imp.RetractedAt)
		if err != nil {
			return nil, err
		}
		return nil, Gone(t)
	}
	title, err := o.memoTitle(ctx)
	if err != nil {
		return nil, err
	}
	return o.ImpulseNote(ctx, imp, title)
}

func (o Builder) memoTitle(ctx context.Context) (string, error) {
	cur, err := o.store.CurrentRevision(ctx)
	if err != nil {
		return "", fmt.Errorf("memo title: %w", err)
	}
	return cur.Title, nil
}

// Impulses is the OrderedCollection of the Impulses that stand, lessons then measures.
func (o Builder) Impulses(ctx context.Context) (map[string]any, error) {
	list, err := o.store.Impulses(ctx)
	if err != nil {
		return nil, err
	}
	items := streams.NewActivityStreamsOrderedItemsProperty()
	n := 0
	for _, imp := range list {
		if imp.Retracted() {
			continue
		}
		items.AppendIRI(iri(o.urls.Impulse(imp.Slug)))
		n++
	}
	c := streams.NewActivityStreamsOrderedCollection()
	c.SetJSONLDId(idProp(o.urls.Impulses()))
	c.SetActivityStreamsName(nameProp("Impulsions du mémo : enseignements et mesures"))
	c.SetActivityStreamsAttributedTo(attributedToProp(o.urls.Actor()))
	c.SetActivityStreamsTotalItems(totalItemsProp(n))
	c.SetActivityStreamsOrderedItems(items)
	m, err := serialize(c)
	if err != nil {
		return nil, err
	}
	m["orderedItems"] = asArray(m["orderedItems"])
	return m, nil
}
