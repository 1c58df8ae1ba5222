package federation

import (
	"context"
	"net/http"
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

// signatures serves the collection (no query) or one of its pages.
func (o objects) signatures(ctx context.Context, q url.Values) (map[string]any, error) {
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
		items = append(items, o.signatureObject(g))
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
		return 0, badRequest("page=%q: the first page is ?page=1, the next ones ?before=ID", v)
	}
	if !q.Has("before") {
		return 0, nil
	}
	n, err := strconv.ParseInt(q.Get("before"), 10, 64)
	if err != nil || n < 1 {
		return 0, badRequest("before=%q: use a signature number from 1", q.Get("before"))
	}
	return n, nil
}

// signature serves one public signature; private, withdrawn and hidden ones are not found.
func (o objects) signature(ctx context.Context, idText string) (map[string]any, error) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id < 1 {
		return nil, badRequest("signature %q: use a signature number", idText)
	}
	g, err := o.store.SignatureByID(ctx, id)
	if err != nil {
		return nil, storeErr(err, "no signature %d", id)
	}
	if !g.Listed() || !g.Standing() {
		return nil, notFound("no signature %d", id)
	}
	return o.signatureObject(g), nil
}

// signatureObject is a signature as JSON: who signed (attributedTo, name, handle, instance, the kind of actor),
// when, which revision, and the reply that carries it (url). Every string was sanitised when stored.
func (o objects) signatureObject(g storage.Signature) map[string]any {
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

// withSignatureContext adds the signature terms to a served document's @context.
func withSignatureContext(m map[string]any) map[string]any {
	if ctx, ok := m["@context"].([]any); ok {
		m["@context"] = append(ctx, signatureContext)
	}
	return m
}

// registerSignatures adds the signatures collection and each signature's JSON to mux.
func (s *Server) registerSignatures(mux *http.ServeMux, pages http.Handler) {
	mux.HandleFunc("GET /signatures", s.negotiated(pages, func(r *http.Request) (map[string]any, error) {
		m, err := s.top(s.objs.signatures(r.Context(), r.URL.Query()))
		if err != nil {
			return nil, err
		}
		return withSignatureContext(m), nil
	}))
	mux.HandleFunc("GET /signatures/{id}", s.negotiated(pages, func(r *http.Request) (map[string]any, error) {
		m, err := s.top(s.objs.signature(r.Context(), r.PathValue("id")))
		if err != nil {
			return nil, err
		}
		return withSignatureContext(m), nil
	}))
}
