package as

import (
	"context"
	"net/url"
	"strconv"

	"github.com/go-fed/activity/streams"

	"github.com/memo-fediverse/memo/content"
)

// Collections of the actor and of our objects. Each has totalItems and a first page: without one, Mastodon treats
// a collection as hidden.

// pageSize bounds the items of a numbered collection page.
const pageSize = 40

// pageNumber reads ?page=N (1 when absent; "true" also means the first page, as Mastodon writes it).
func pageNumber(q url.Values) (int, error) {
	v := q.Get("page")
	if v == "" || v == "true" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, BadRequest("page=%q: use a page number from 1", v)
	}
	return n, nil
}

// collection is an OrderedCollection that shows its count and links its first page, items only on pages.
func (o Builder) collection(id string, total int) (map[string]any, error) {
	c := streams.NewActivityStreamsOrderedCollection()
	c.SetJSONLDId(idProp(id))
	c.SetActivityStreamsTotalItems(totalItemsProp(total))
	c.SetActivityStreamsFirst(firstProp(id + "?page=1"))
	return serialize(c)
}

// numberedPage is page n of a collection whose items are IRIs; more tells whether a page n+1 exists.
func (o Builder) numberedPage(collectionID string, n, total int, items []string, more bool) (map[string]any, error) {
	p := streams.NewActivityStreamsOrderedCollectionPage()
	p.SetJSONLDId(idProp(collectionID + "?page=" + strconv.Itoa(n)))
	p.SetActivityStreamsPartOf(partOfProp(collectionID))
	p.SetActivityStreamsTotalItems(totalItemsProp(total))
	ordered := streams.NewActivityStreamsOrderedItemsProperty()
	for _, it := range items {
		if u, ok := remoteIRI(it); ok { // followers and replies are other servers' addresses
			ordered.AppendIRI(u)
		}
	}
	p.SetActivityStreamsOrderedItems(ordered)
	if more {
		p.SetActivityStreamsNext(nextProp(collectionID + "?page=" + strconv.Itoa(n+1)))
	}
	if n > 1 {
		p.SetActivityStreamsPrev(prevProp(collectionID + "?page=" + strconv.Itoa(n-1)))
	}
	m, err := serialize(p)
	if err != nil {
		return nil, err
	}
	m["orderedItems"] = asArray(m["orderedItems"])
	return m, nil
}

// pagedIRIs serves a collection of IRIs: the collection itself without ?page, page n with it. list returns the
// items from offset, at most limit.
func (o Builder) pagedIRIs(ctx context.Context, id string, q url.Values, total int, list func(ctx context.Context, offset, limit int) ([]string, error)) (map[string]any, error) {
	if !q.Has("page") {
		return o.collection(id, total)
	}
	n, err := pageNumber(q)
	if err != nil {
		return nil, err
	}
	items, err := list(ctx, (n-1)*pageSize, pageSize+1)
	if err != nil {
		return nil, err
	}
	more := len(items) > pageSize
	if more {
		items = items[:pageSize]
	}
	return o.numberedPage(id, n, total, items, more)
}

// Followers lists who follows the actor, on pages.
func (o Builder) Followers(ctx context.Context, q url.Values) (map[string]any, error) {
	total, err := o.store.FollowersCount(ctx)
	if err != nil {
		return nil, err
	}
	return o.pagedIRIs(ctx, o.urls.Followers(), q, total, o.store.FollowersCollectionPage)
}

// Following is empty: the memo follows no one.
func (o Builder) Following(ctx context.Context, q url.Values) (map[string]any, error) {
	return o.pagedIRIs(ctx, o.urls.Following(), q, 0, func(context.Context, int, int) ([]string, error) { return nil, nil })
}

// Replies lists the public Replies to one of our objects.
func (o Builder) Replies(ctx context.Context, objectIRI string, q url.Values) (map[string]any, error) {
	counts, err := o.store.InteractionCounts(ctx, objectIRI)
	if err != nil {
		return nil, err
	}
	id := content.Replies(objectIRI)
	return o.pagedIRIs(ctx, id, q, counts.Replies, func(ctx context.Context, offset, limit int) ([]string, error) {
		return o.store.ReplyIRIs(ctx, objectIRI, offset, limit)
	})
}

// CountOnly serves the likes or shares of an object: only their number is published.
func (o Builder) CountOnly(ctx context.Context, objectIRI, kind string) (map[string]any, error) {
	counts, err := o.store.InteractionCounts(ctx, objectIRI)
	if err != nil {
		return nil, err
	}
	if kind == "likes" {
		return countCollection(content.Likes(objectIRI), counts.Likes)
	}
	return countCollection(content.Shares(objectIRI), counts.Shares)
}

// Featured pins the memo and the "how to sign" note, embedded so a profile shows them without more fetches.
func (o Builder) Featured(ctx context.Context) (map[string]any, error) {
	var items []any
	memo, err := o.MemoArticle(ctx)
	if err != nil {
		return nil, err
	}
	items = append(items, memo)
	if howto, err := o.Note(ctx, content.HowToSignSlug); err == nil {
		items = append(items, howto)
	} else if !IsProblem(err) {
		return nil, err
	}
	c := streams.NewActivityStreamsOrderedCollection()
	c.SetJSONLDId(idProp(o.urls.Featured()))
	c.SetActivityStreamsTotalItems(totalItemsProp(len(items)))
	m, err := serialize(c)
	if err != nil {
		return nil, err
	}
	m["orderedItems"] = items
	return m, nil
}
