package as

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/memo-fediverse/memo/storage"
)

// The signatures collection and its items. totalItems counts every standing signature, public and private; the
// pages list the public ones only (private signatures are counted, never named), newest first, by keyset:
// ?page=1 (as the Article links it; ?page=true also works) is the newest page, ?before=ID the page of the signatures
// older than ID. Each item is a signature object, also served on its own at urls.Signature(id).

// signaturesPerPage bounds the items of a signatures page.
const signaturesPerPage = 40

// signatureContext names the terms of a signature object, in our namespace (memo:, defined by ldContext).
var signatureContext = map[string]any{
	"Signature":  "memo:Signature",
	"handle":     "memo:handle",
	"instance":   "memo:instance",
	"signerType": "memo:signerType",
	"revision":   map[string]any{"@id": "memo:revision", "@type": "@id"},
}

// Signatures serves the collection (no query) or one of its pages.
func (o Builder) Signatures(ctx context.Context, q url.Values) (map[string]any, error) {
	// Counted by state from the partial indexes: a COUNT over the whole table grows with it.
	counts, err := o.store.CountSignatures(ctx)
	if err != nil {
		return nil, err
	}
	total := counts.Total()
	id := o.urls.Signatures()
	if !q.Has("page") && !q.Has("before") {
		return map[string]any{
			"id": id, "type": "OrderedCollection", "totalItems": total, "first": id + "?page=1",
			"name": "Signatures du mémo", "attributedTo": o.urls.Actor(),
		}, nil
	}
	before, err := signaturesCursor(q)
	if err != nil {
		return nil, err
	}
	rows, err := o.store.Signatures(ctx, storage.SignatureFilter{Before: before, Limit: signaturesPerPage + 1})
	if err != nil {
		return nil, err
	}
	more := len(rows) > signaturesPerPage
	if more {
		rows = rows[:signaturesPerPage]
	}
	items := make([]any, 0, len(rows))
	for _, g := range rows {
		items = append(items, o.SignatureObject(g))
	}
	pageID := id + "?page=1"
	if before > 0 {
		pageID = id + "?before=" + strconv.FormatInt(before, 10)
	}
	page := map[string]any{
		"id": pageID, "type": "OrderedCollectionPage", "partOf": id, "totalItems": total, "orderedItems": items,
	}
	if more {
		page["next"] = id + "?before=" + strconv.FormatInt(rows[len(rows)-1].ID, 10)
	}
	return page, nil
}

// signaturesCursor reads ?before=ID; ?page=1 and ?page=true name the first page.
func signaturesCursor(q url.Values) (int64, error) {
	if v := q.Get("page"); q.Has("page") && v != "true" && v != "1" {
		return 0, BadRequest("page=%q: the first page is ?page=1, the next ones ?before=ID", v)
	}
	if !q.Has("before") {
		return 0, nil
	}
	n, err := strconv.ParseInt(q.Get("before"), 10, 64)
	if err != nil || n < 1 {
		return 0, BadRequest("before=%q: use a signature number from 1", q.Get("before"))
	}
	return n, nil
}

// Signature serves one public Signature; private, withdrawn and hidden ones are not found.
func (o Builder) Signature(ctx context.Context, idText string) (map[string]any, error) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id < 1 {
		return nil, BadRequest("signature %q: use a signature number", idText)
	}
	g, err := o.store.SignatureByID(ctx, id)
	if err != nil {
		return nil, StoreErr(err, "no signature %d", id)
	}
	if !g.Listed() || !g.Standing() {
		return nil, NotFound("no signature %d", id)
	}
	return o.SignatureObject(g), nil
}

// SignatureObject is a signature as JSON: who signed (attributedTo, name, handle, instance, the kind of actor),
// when, which revision, and the reply that carries it (url). Every string was sanitised when stored.
func (o Builder) SignatureObject(g storage.Signature) map[string]any {
	m := map[string]any{
		"id": o.urls.Signature(g.ID), "type": "Signature", "attributedTo": g.ActorIRI, "name": g.DisplayName,
		"handle": g.Handle, "instance": g.Domain, "signerType": g.ActorType,
		"published": g.SignedAt.UTC().Truncate(time.Second).Format(time.RFC3339),
		"revision":  o.urls.Revision(g.Revision), "url": g.NoteIRI, "context": o.urls.Memo(),
	}
	if g.InReplyTo != "" {
		m["inReplyTo"] = g.InReplyTo
	}
	return m
}

// WithSignatureContext adds the signature terms to a served document's @context.
func WithSignatureContext(m map[string]any) map[string]any {
	if ctx, ok := m["@context"].([]any); ok {
		m["@context"] = append(ctx, signatureContext)
	}
	return m
}
