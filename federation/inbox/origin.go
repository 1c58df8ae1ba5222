package inbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/inbound"
	"github.com/memo-fediverse/memo/federation/signing"
)

// Activities whose object is only an IRI (GoToSocial's Create of an IRI, Pleroma and Misskey edits named by id),
// and activities forwarded by a third server (Mastodon's inbox forwarding: the activity as its author sent it,
// with a Linked Data signature, and the forwarder's HTTP signature). In both cases the object counts only as its
// own server serves it, fetched under the rules of fetched documents (fetch.GetObject): its id is the URL, on the
// actor's host, attributed to the actor. A forwarder is never believed about the content.

// errOriginRefused marks an object its server answered with, but which is not the object under the rules (another
// author, another host, a refused document, gone): asking again will not change that.
var errOriginRefused = errors.New("object refused")

// originObject fetches iri, the object of actor's activity, from its own server.
func (in *Inbox) originObject(ctx context.Context, actor, iri string) (*inbound.Activity, []byte, error) {
	if !fetch.SameHost(iri, actor) {
		return nil, nil, fmt.Errorf("%w: object %s is not on the actor's host (%s)", errOriginRefused, iri, fetch.Host(actor))
	}
	body, err := in.cfg.Actors.Client().GetObject(ctx, iri)
	if fetch.Refused(err) || fetch.Gone(err) {
		return nil, nil, fmt.Errorf("%w: object %s cannot be fetched from its server: %v", errOriginRefused, iri, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("object %s cannot be fetched from its server: %w", iri, err)
	}
	obj, err := inbound.DecodeActivity(body)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: object %s: %v", errOriginRefused, iri, err)
	}
	author := obj.AttributedTo
	if isActorType(obj.Type) {
		author = obj.ID
	}
	if author != actor {
		return nil, nil, fmt.Errorf("%w: object %s is attributed to %q, not to the actor %s", errOriginRefused, iri, author, actor)
	}
	return obj, body, nil
}

// fromOrigin tells whether a stored Create or Update takes its object from the object's server: the object is only
// an IRI, or the activity was forwarded (its HTTP signature is not its actor's).
func fromOrigin(act *inbound.Activity, keyID string) bool {
	if act.Type != "Create" && act.Type != "Update" {
		return false
	}
	return act.Object != nil && (act.Object.Inline == nil || forwardedBy(keyID, act.Actor))
}

// forwardedBy tells whether a request signed with keyID carries an activity of actor forwarded by another server.
func forwardedBy(keyID, actor string) bool { return keyID != "" && !fetch.SameHost(keyID, actor) }

// forwardable tells whether an activity signed by another host's key may be taken as forwarded: Mastodon forwards
// Create, Update and Delete with their author's Linked Data signature. We do not verify that signature (Mastodon
// no longer makes new ones); it only marks the shape, and the object's own server decides.
func forwardable(typ string, body []byte) bool {
	switch typ {
	case "Create", "Update", "Delete":
		return len(ldSignatureOf(body)) > 0
	}
	return false
}

// authorizeReferenced checks, at reception, a Create or Update whose object is only an IRI: the object is fetched
// from its server, and the rules apply to it as if it had come inline.
func (in *Inbox) authorizeReferenced(ctx context.Context, act *inbound.Activity) *refusal {
	obj, _, err := in.originObject(ctx, act.Actor, act.ObjectIRI())
	if err != nil {
		return &refusal{status: http.StatusForbidden, reason: err.Error()}
	}
	resolved := *act
	resolved.Object = &inbound.Ref{IRI: obj.ID, Inline: obj}
	return in.authorize(ctx, &resolved)
}

// authorizeForwarded checks, at reception, an activity another server forwarded: a Create or Update stands only if
// the object's server serves it, by the actor (and, for a Create, as forwarded: a forwarder that changed the note
// is caught); a Delete only if the object's server says it is gone.
func (in *Inbox) authorizeForwarded(ctx context.Context, act *inbound.Activity) *refusal {
	iri := act.ObjectIRI()
	if iri == "" {
		return &refusal{status: http.StatusBadRequest, reason: act.Type + " without an object"}
	}
	if act.Type == "Delete" {
		if err := in.originGone(ctx, act.Actor, iri); err != nil {
			return &refusal{status: http.StatusForbidden, reason: "forwarded Delete: " + err.Error()}
		}
		return in.authorize(ctx, act)
	}
	obj, body, err := in.originObject(ctx, act.Actor, iri)
	if err != nil {
		return &refusal{status: http.StatusForbidden, reason: "forwarded " + act.Type + ": " + err.Error()}
	}
	if inner := act.Object.Inline; act.Type == "Create" && inner != nil && !isActorType(inner.Type) {
		forwarded, ferr := signing.ParseNote(inner.Raw)
		fetched, gerr := signing.ParseNote(body)
		if ferr != nil || gerr != nil {
			return &refusal{status: http.StatusBadRequest, reason: fmt.Sprintf("forwarded note %s: %v", iri, errors.Join(ferr, gerr))}
		}
		if err := signing.SameNote(forwarded, fetched); err != nil {
			return &refusal{status: http.StatusForbidden, reason: err.Error()}
		}
	}
	resolved := *act
	resolved.Object = &inbound.Ref{IRI: obj.ID, Inline: obj}
	return in.authorize(ctx, &resolved)
}

// originGone confirms a forwarded Delete with the object's server: it answers 404 or 410, or serves a Tombstone.
func (in *Inbox) originGone(ctx context.Context, actor, iri string) error {
	if !fetch.SameHost(iri, actor) {
		return fmt.Errorf("object %s is not on the actor's host (%s)", iri, fetch.Host(actor))
	}
	body, err := in.cfg.Actors.Client().GetObject(ctx, iri)
	if fetch.Gone(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("its server does not confirm the deletion of %s: %w", iri, err)
	}
	obj, err := inbound.DecodeActivity(body)
	if err == nil && obj.Type == "Tombstone" {
		return nil
	}
	return fmt.Errorf("%s is still served by its server", iri)
}

// resolveStored replaces, before the effects, the object of a stored Create or Update that takes it from its
// server (fromOrigin) with the object as its server serves it now. refused is set when the server answers with
// something that is not that object: the activity then has no effect. A network failure is an error, and the
// worker tries again.
func (in *Inbox) resolveStored(ctx context.Context, act *inbound.Activity) (origin []byte, refused string, err error) {
	obj, body, err := in.originObject(ctx, act.Actor, act.ObjectIRI())
	if errors.Is(err, errOriginRefused) {
		return nil, err.Error(), nil
	}
	if err != nil {
		return nil, "", err
	}
	act.Object = &inbound.Ref{IRI: obj.ID, Inline: obj}
	return body, "", nil
}

// fetchedEvidence is the evidence of a signature whose note was fetched from its server: the note as served.
func (in *Inbox) fetchedEvidence(noteIRI, author string, body []byte) (string, error) {
	ev := signing.Evidence{Kind: signing.EvidenceFetched, Method: http.MethodGet, Body: body,
		KeyOwner: author, ReceivedAt: in.cfg.Now().UTC()}
	if u, err := url.Parse(noteIRI); err == nil {
		ev.Host, ev.Path = u.Host, u.RequestURI()
	}
	return ev.Marshal()
}
