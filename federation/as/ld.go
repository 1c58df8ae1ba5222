package as

import (
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"github.com/memo-fediverse/memo/content"
)

// asPublic is the special collection that makes an object public.
const asPublic = content.PublicAudience

// ldContext is the @context of every document we serve. streams.Serialize would build one from the vocabularies
// used, in map order, and name Mastodon's namespace as if it were a context document; this one is fixed and
// defines every extension term we emit, the way Mastodon's own documents do. Terms of our own (the signatures
// collection) live in a namespace under the instance's address.
func ldContext(urls content.URLs) []any {
	if c, ok := ldContexts.Load(urls.Base); ok {
		return c.([]any)
	}
	c := buildLDContext(urls)
	ldContexts.Store(urls.Base, c)
	return c
}

// ldContexts keeps each base URL's context: the same value every time lets a served document's encoding be
// reused (wire). Nobody modifies it; appending to it copies it (its capacity is its length).
var ldContexts sync.Map

func buildLDContext(urls content.URLs) []any {
	return []any{
		content.ActivityStreamsContext,
		"https://w3id.org/security/v1",
		map[string]any{
			"toot":                      "http://joinmastodon.org/ns#",
			"schema":                    "http://schema.org#",
			"memo":                      urls.Base + "/ns#",
			"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
			"sensitive":                 "as:sensitive",
			"Hashtag":                   "as:Hashtag",
			"alsoKnownAs":               map[string]any{"@id": "as:alsoKnownAs", "@type": "@id"},
			"featured":                  map[string]any{"@id": "toot:featured", "@type": "@id"},
			"discoverable":              "toot:discoverable",
			"indexable":                 "toot:indexable",
			"attributionDomains":        map[string]any{"@id": "toot:attributionDomains", "@type": "@id"},
			"PropertyValue":             "schema:PropertyValue",
			"value":                     "schema:value",
			"signatures":                map[string]any{"@id": "memo:signatures", "@type": "@id"},
			"changelog":                 "memo:changelog",
		},
	}
}

// iri parses one of our own addresses. They are built from the public URL checked at start-up, so a failure here
// is a programming error, not bad input.
func iri(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(fmt.Sprintf("federation: our own address %q does not parse: %v", s, err))
	}
	return u
}

// remoteIRI parses an address that may come from another server (a follower, a reply, a mention): one that does
// not parse is left out of the document rather than failing it.
func remoteIRI(s string) (*url.URL, bool) {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return nil, false
	}
	return u, true
}

// serialize turns a streams value into its JSON map, without @context (nested documents carry none).
func serialize(t vocab.Type) (map[string]any, error) {
	m, err := t.Serialize()
	if err != nil {
		return nil, fmt.Errorf("serialize %s: %w", t.GetTypeName(), err)
	}
	return m, nil
}

// TopLevel adds the @context a document served or sent on its own needs.
func TopLevel(urls content.URLs, m map[string]any) map[string]any {
	m["@context"] = ldContext(urls)
	return m
}

// The small constructors below keep the builders readable: go-fed needs a property value per field.

func idProp(s string) vocab.JSONLDIdProperty {
	p := streams.NewJSONLDIdProperty()
	p.Set(iri(s))
	return p
}

func nameProp(s string) vocab.ActivityStreamsNameProperty {
	p := streams.NewActivityStreamsNameProperty()
	p.AppendXMLSchemaString(s)
	return p
}

func summaryProp(s string) vocab.ActivityStreamsSummaryProperty {
	p := streams.NewActivityStreamsSummaryProperty()
	p.AppendXMLSchemaString(s)
	return p
}

func contentProp(s string) vocab.ActivityStreamsContentProperty {
	p := streams.NewActivityStreamsContentProperty()
	p.AppendXMLSchemaString(s)
	return p
}

func urlProp(s string) vocab.ActivityStreamsUrlProperty {
	p := streams.NewActivityStreamsUrlProperty()
	p.AppendIRI(iri(s))
	return p
}

func publishedProp(t time.Time) vocab.ActivityStreamsPublishedProperty {
	p := streams.NewActivityStreamsPublishedProperty()
	p.Set(t.UTC().Truncate(time.Second))
	return p
}

func updatedProp(t time.Time) vocab.ActivityStreamsUpdatedProperty {
	p := streams.NewActivityStreamsUpdatedProperty()
	p.Set(t.UTC().Truncate(time.Second))
	return p
}

func attributedToProp(s string) vocab.ActivityStreamsAttributedToProperty {
	p := streams.NewActivityStreamsAttributedToProperty()
	p.AppendIRI(iri(s))
	return p
}

func actorProp(s string) vocab.ActivityStreamsActorProperty {
	p := streams.NewActivityStreamsActorProperty()
	p.AppendIRI(iri(s))
	return p
}

// toProp and ccProp take audiences that may name remote actors (a note addressed to a signer).
func toProp(iris ...string) vocab.ActivityStreamsToProperty {
	p := streams.NewActivityStreamsToProperty()
	for _, s := range iris {
		if u, ok := remoteIRI(s); ok {
			p.AppendIRI(u)
		}
	}
	return p
}

func ccProp(iris ...string) vocab.ActivityStreamsCcProperty {
	p := streams.NewActivityStreamsCcProperty()
	for _, s := range iris {
		if u, ok := remoteIRI(s); ok {
			p.AppendIRI(u)
		}
	}
	return p
}

func totalItemsProp(n int) vocab.ActivityStreamsTotalItemsProperty {
	p := streams.NewActivityStreamsTotalItemsProperty()
	p.Set(n)
	return p
}

func firstProp(s string) vocab.ActivityStreamsFirstProperty {
	p := streams.NewActivityStreamsFirstProperty()
	p.SetIRI(iri(s))
	return p
}

func nextProp(s string) vocab.ActivityStreamsNextProperty {
	p := streams.NewActivityStreamsNextProperty()
	p.SetIRI(iri(s))
	return p
}

func prevProp(s string) vocab.ActivityStreamsPrevProperty {
	p := streams.NewActivityStreamsPrevProperty()
	p.SetIRI(iri(s))
	return p
}

func partOfProp(s string) vocab.ActivityStreamsPartOfProperty {
	p := streams.NewActivityStreamsPartOfProperty()
	p.SetIRI(iri(s))
	return p
}

func contextProp(s string) vocab.ActivityStreamsContextProperty {
	p := streams.NewActivityStreamsContextProperty()
	p.AppendIRI(iri(s))
	return p
}

func mediaTypeProp(s string) vocab.ActivityStreamsMediaTypeProperty {
	p := streams.NewActivityStreamsMediaTypeProperty()
	p.Set(s)
	return p
}

// hashtags are the tag objects of content.Hashtags. go-fed v1.0.0 has no Hashtag type, so they are raw maps.
func hashtags(urls content.URLs) []any {
	out := make([]any, 0, len(content.Hashtags))
	for _, h := range content.Hashtags {
		out = append(out, map[string]any{"type": "Hashtag", "href": urls.Tag(h), "name": "#" + h})
	}
	return out
}

// languageMap is a contentMap/nameMap value: GoToSocial and Mastodon read the language from its key.
func languageMap(s string) map[string]any { return map[string]any{content.Language: s} }
