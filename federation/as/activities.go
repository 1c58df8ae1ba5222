package as

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"github.com/memo-fediverse/memo/storage"
)

// Activity addresses. The activities of publishing are named after what they do (create-memo, update-memo-2…), in
// the same /activities/ space as urls.Activity, so that seeding and publishing can run twice and store each once.
// Every activity, however named, is served at its own address from the stored body.

func (o Builder) ActivityIRI(name string) string { return o.urls.Base + "/activities/" + name }

func CreateMemoName() string               { return "create-memo" }
func CreateImpulseName(slug string) string { return "create-impulse-" + slug }
func CreateNoteName(slug string) string    { return "create-note-" + slug }
func UpdateMemoName(revision int) string   { return "update-memo-" + strconv.Itoa(revision) }

// wrapped is what Create and Update have in common here.
type wrapped interface {
	vocab.Type
	SetJSONLDId(vocab.JSONLDIdProperty)
	SetActivityStreamsActor(vocab.ActivityStreamsActorProperty)
	SetActivityStreamsPublished(vocab.ActivityStreamsPublishedProperty)
	SetActivityStreamsTo(vocab.ActivityStreamsToProperty)
	SetActivityStreamsCc(vocab.ActivityStreamsCcProperty)
	SetActivityStreamsObject(vocab.ActivityStreamsObjectProperty)
}

// Activity wraps object (an already built map) in a Create or Update by the actor, public with followers in copy,
// and returns it ready to store: with @context, as JSON.
func (o Builder) Activity(kind, id string, object map[string]any, published time.Time) (storage.Activity, error) {
	var a wrapped
	switch kind {
	case "Create":
		a = streams.NewActivityStreamsCreate()
	case "Update":
		a = streams.NewActivityStreamsUpdate()
	default:
		return storage.Activity{}, fmt.Errorf("activity %s: unsupported type %s", id, kind)
	}
	objectID, _ := object["id"].(string)
	a.SetJSONLDId(idProp(id))
	a.SetActivityStreamsActor(actorProp(o.urls.Actor()))
	a.SetActivityStreamsPublished(publishedProp(published))
	a.SetActivityStreamsTo(toProp(asPublic))
	a.SetActivityStreamsCc(ccProp(o.urls.Followers()))
	obj := streams.NewActivityStreamsObjectProperty()
	obj.AppendIRI(iri(objectID))
	a.SetActivityStreamsObject(obj)
	m, err := serialize(a)
	if err != nil {
		return storage.Activity{}, err
	}
	// go-fed cannot carry the extension fields of our objects, so the built map replaces the IRI placeholder.
	m["object"] = object
	m["to"], m["cc"] = []any{asPublic}, []any{o.urls.Followers()}
	body, err := EncodeJSON(TopLevel(o.urls, m))
	if err != nil {
		return storage.Activity{}, fmt.Errorf("activity %s: %w", id, err)
	}
	return storage.Activity{IRI: id, Type: kind, ObjectIRI: objectID, Body: strings.TrimSuffix(string(body), "\n"), InOutbox: true, PublishedAt: published}, nil
}

// outboxPageBytes bounds a page of the outbox well under Mastodon's 1 MB fetch limit: Updates carry the whole
// memo, so a page holds fewer of them.
const outboxPageBytes = 512 << 10

// Outbox serves the Outbox collection (without query) or one of its pages: ?page=true is the newest, ?before=ID
// continues towards older activities and ?after=ID goes back towards newer ones.
func (o Builder) Outbox(ctx context.Context, q url.Values) (map[string]any, error) {
	id := o.urls.Outbox()
	total, err := o.store.OutboxCount(ctx)
	if err != nil {
		return nil, err
	}
	before, after := cursor(q, "before"), cursor(q, "after")
	if before < 0 || after < 0 {
		return nil, BadRequest("before and after take an activity number, e.g. ?before=42")
	}
	if !q.Has("page") && !q.Has("before") && !q.Has("after") {
		c := streams.NewActivityStreamsOrderedCollection()
		c.SetJSONLDId(idProp(id))
		c.SetActivityStreamsTotalItems(totalItemsProp(total))
		c.SetActivityStreamsFirst(firstProp(id + "?page=true"))
		return serialize(c)
	}

	var acts []storage.Activity
	pageID := id + "?page=true"
	switch {
	case q.Has("after"):
		pageID = id + "?after=" + strconv.FormatInt(after, 10)
		acts, err = o.store.OutboxPageAfter(ctx, after, pageSize)
	case q.Has("before"):
		pageID = id + "?before=" + strconv.FormatInt(before, 10)
		acts, err = o.store.OutboxPage(ctx, before, pageSize+1)
	default:
		acts, err = o.store.OutboxPage(ctx, 0, pageSize+1)
	}
	if err != nil {
		return nil, err
	}
	// Keep whole activities while the page stays small enough; what is left goes to the next page.
	items := []any{}
	size := 0
	kept := acts[:0:0]
	for _, a := range acts {
		if len(kept) == pageSize || (len(kept) > 0 && size+len(a.Body) > outboxPageBytes) {
			break
		}
		// Fields stay raw: the stored activity is passed on as it was sent, only without its own @context.
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(a.Body), &m); err != nil {
			return nil, fmt.Errorf("outbox: stored activity %s: %w", a.IRI, err)
		}
		delete(m, "@context")
		items = append(items, m)
		kept = append(kept, a)
		size += len(a.Body)
	}

	p := streams.NewActivityStreamsOrderedCollectionPage()
	p.SetJSONLDId(idProp(pageID))
	p.SetActivityStreamsPartOf(partOfProp(id))
	p.SetActivityStreamsTotalItems(totalItemsProp(total))
	if len(kept) > 0 {
		oldest, newest := kept[len(kept)-1].ID, kept[0].ID
		older, err := o.store.OutboxPage(ctx, oldest, 1)
		if err != nil {
			return nil, err
		}
		if len(older) > 0 {
			p.SetActivityStreamsNext(nextProp(id + "?before=" + strconv.FormatInt(oldest, 10)))
		}
		newer, err := o.store.OutboxPageAfter(ctx, newest, 1)
		if err != nil {
			return nil, err
		}
		if len(newer) > 0 {
			p.SetActivityStreamsPrev(prevProp(id + "?after=" + strconv.FormatInt(newest, 10)))
		}
	}
	m, err := serialize(p)
	if err != nil {
		return nil, err
	}
	m["orderedItems"] = items
	return m, nil
}

// cursor reads an activity number from the query: 0 when absent, -1 when malformed.
func cursor(q url.Values, name string) int64 {
	if !q.Has(name) {
		return 0
	}
	n, err := strconv.ParseInt(q.Get(name), 10, 64)
	if err != nil || n < 1 {
		return -1
	}
	return n
}

// StoredActivity serves one activity of the outbox from its stored body, exactly as it was sent.
func (o Builder) StoredActivity(ctx context.Context, name string) ([]byte, error) {
	a, err := o.store.ActivityByIRI(ctx, o.ActivityIRI(name))
	if err != nil {
		return nil, StoreErr(err, "no activity %q", name)
	}
	if !a.InOutbox {
		return nil, NotFound("no activity %q", name)
	}
	return []byte(a.Body), nil
}

// EnsureCreated stores a Create of the object build returns, under activity name, unless one is stored already.
func (o Builder) EnsureCreated(ctx context.Context, name string, published time.Time, build func() (map[string]any, error)) error {
	id := o.ActivityIRI(name)
	if _, err := o.store.ActivityByIRI(ctx, id); err == nil {
		return nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("ensure %s: %w", name, err)
	}
	obj, err := build()
	if err != nil {
		return fmt.Errorf("build the object of %s: %w", name, err)
	}
	create, err := o.Activity("Create", id, obj, published)
	if err != nil {
		return err
	}
	if err := o.store.InsertActivity(ctx, create, nil); err != nil {
		return fmt.Errorf("ensure %s: %w", name, err)
	}
	return nil
}
