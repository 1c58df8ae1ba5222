package as

import (
	"context"
	"crypto/rsa"
	"fmt"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// Builder builds the documents of our Builder from the database. The HTTP side serves them and publishing stores
// them inside activities, so both see the same shapes. Only documents that cannot change are kept (the actor once
// revision 1 exists, each revision's Article; see docCache), so a new revision shows at once.
type Builder struct {
	urls  content.URLs
	store *storage.Store
	cache *docCache // nil: build every time (one-off uses: publishing, acknowledgements)
	// phrases are the configured signing phrases (content.DefaultSigningPhrases when empty): the texts that say
	// how to sign quote them, so they never advertise a phrase the inbox refuses.
	phrases []string
	// displayName and publicKey are the actor's, for its document (the servers' builder only).
	displayName string
	publicKey   *rsa.PublicKey
}

// SignPhrase is the phrase the objects' texts quote: the first configured one.
func (o Builder) SignPhrase() string { return content.SigningPhrases(o.phrases)[0] }

// addressed is what every public object of ours carries: its author and a public audience with the followers in
// copy (Mastodon's "public" visibility).
type addressed interface {
	SetActivityStreamsAttributedTo(vocab.ActivityStreamsAttributedToProperty)
	SetActivityStreamsTo(vocab.ActivityStreamsToProperty)
	SetActivityStreamsCc(vocab.ActivityStreamsCcProperty)
}

func (o Builder) addressPublic(t addressed) {
	t.SetActivityStreamsAttributedTo(attributedToProp(o.urls.Actor()))
	t.SetActivityStreamsTo(toProp(asPublic))
	t.SetActivityStreamsCc(ccProp(o.urls.Followers()))
}

// keepAudienceArrays undoes go-fed's collapsing of one-element to and cc lists into bare values: several servers
// expect the audience as a list.
func keepAudienceArrays(m map[string]any) {
	m["to"], m["cc"] = asArray(m["to"]), asArray(m["cc"])
}

// interactionCollections are the replies, likes and shares of an object, embedded with their totals: Mastodon reads
// the like and boost counts from likes.totalItems and shares.totalItems, and pages through replies from first.
func (o Builder) interactionCollections(ctx context.Context, objectIRI string) (replies, likes, shares map[string]any, err error) {
	counts, err := o.store.InteractionCounts(ctx, objectIRI)
	if err != nil {
		return nil, nil, nil, err
	}
	return countedCollections(objectIRI, counts)
}

// countedCollections builds the replies, likes and shares collections from counts already known.
func countedCollections(objectIRI string, counts storage.InteractionCounts) (replies, likes, shares map[string]any, err error) {
	rc := streams.NewActivityStreamsOrderedCollection()
	rc.SetJSONLDId(idProp(content.Replies(objectIRI)))
	rc.SetActivityStreamsTotalItems(totalItemsProp(counts.Replies))
	rc.SetActivityStreamsFirst(firstProp(content.Replies(objectIRI) + "?page=1"))
	if replies, err = serialize(rc); err != nil {
		return nil, nil, nil, err
	}
	if likes, err = countCollection(content.Likes(objectIRI), counts.Likes); err != nil {
		return nil, nil, nil, err
	}
	if shares, err = countCollection(content.Shares(objectIRI), counts.Shares); err != nil {
		return nil, nil, nil, err
	}
	return replies, likes, shares, nil
}

// countCollection is a collection that only tells how many items it has, as Mastodon publishes likes and shares.
func countCollection(id string, total int) (map[string]any, error) {
	c := streams.NewActivityStreamsCollection()
	c.SetJSONLDId(idProp(id))
	c.SetActivityStreamsTotalItems(totalItemsProp(total))
	return serialize(c)
}

// withInteractions adds an object's replies, likes and shares to its serialised map.
func (o Builder) withInteractions(ctx context.Context, m map[string]any, objectIRI string) error {
	replies, likes, shares, err := o.interactionCollections(ctx, objectIRI)
	if err != nil {
		return fmt.Errorf("interactions of %s: %w", objectIRI, err)
	}
	m["replies"], m["likes"], m["shares"] = replies, likes, shares
	return nil
}

// withNoInteractions adds empty collections to a note being created: it has none yet, and reading counts through
// the pool from inside a write transaction can starve SQLite's small pool while the transaction holds the lock.
func withNoInteractions(m map[string]any, objectIRI string) error {
	replies, likes, shares, err := countedCollections(objectIRI, storage.InteractionCounts{})
	if err != nil {
		return fmt.Errorf("interactions of %s: %w", objectIRI, err)
	}
	m["replies"], m["likes"], m["shares"] = replies, likes, shares
	return nil
}

// tombstone stands for a withdrawn object; its URL answers 410 with it.
func (o Builder) tombstone(id, formerType string, deleted time.Time) (map[string]any, error) {
	t := streams.NewActivityStreamsTombstone()
	t.SetJSONLDId(idProp(id))
	ft := streams.NewActivityStreamsFormerTypeProperty()
	ft.AppendXMLSchemaString(formerType)
	t.SetActivityStreamsFormerType(ft)
	if !deleted.IsZero() {
		d := streams.NewActivityStreamsDeletedProperty()
		d.Set(deleted.UTC().Truncate(time.Second))
		t.SetActivityStreamsDeleted(d)
	}
	m, err := serialize(t)
	if err != nil {
		return nil, err
	}
	return TopLevel(o.urls, m), nil
}

// New is a builder for one-off documents (publishing, acknowledgements): nothing is kept between calls.
func New(urls content.URLs, store *storage.Store, phrases []string) Builder {
	return Builder{urls: urls, store: store, phrases: phrases}
}

// NewServing is the server's builder: it also builds the actor's document, and keeps the documents that cannot
// change (the actor once revision 1 exists, each revision's Article) between requests.
func NewServing(urls content.URLs, store *storage.Store, phrases []string, displayName string, key *rsa.PublicKey) Builder {
	return Builder{urls: urls, store: store, phrases: phrases, displayName: displayName, publicKey: key, cache: newDocCache()}
}
