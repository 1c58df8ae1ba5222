package inbox

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/inbound"
)

// authorize applies the rules that decide, before anything is stored, whether a verified activity may have an
// effect at all. The signer is act.Actor (the inbox checked that the key belongs to it). Types without rules pass.
func (in *Inbox) authorize(ctx context.Context, act *inbound.Activity) *refusal {
	switch act.Type {
	case "Follow":
		return in.authorizeFollow(act)
	case "Like", "Announce":
		return in.authorizeInteraction(ctx, act)
	case "Undo":
		return in.authorizeUndo(ctx, act)
	case "Move":
		return in.authorizeMove(ctx, act)
	case "Add", "Remove":
		return in.authorizeRelay(ctx, act)
	case "Update", "Delete", "Create":
		return in.authorizeObject(ctx, act)
	}
	return nil
}

// authorizeObject applies the rules of a Create, an Update or a Delete: only the origin speaks for an object.
func (in *Inbox) authorizeObject(ctx context.Context, act *inbound.Activity) *refusal {
	obj := act.ObjectIRI()
	if obj == "" {
		return &refusal{status: http.StatusBadRequest, reason: act.Type + " without an object"}
	}
	if act.Type == "Create" {
		if ref, decided := in.authorizeForwardedReply(ctx, act); decided {
			return ref
		}
	}
	// No one updates or deletes what another server holds.
	if !fetch.SameHost(obj, act.Actor) {
		return &refusal{status: http.StatusForbidden, reason: fmt.Sprintf("%s of %s, which is not on the actor's host", act.Type, obj)}
	}
	inner := act.Object.Inline
	if inner == nil {
		if act.Type == "Delete" {
			return nil
		}
		return in.authorizeReferenced(ctx, act)
	}
	author := inner.AttributedTo
	if author == "" && isActorType(inner.Type) {
		author = inner.ID
	}
	if author != "" && author != act.Actor && act.Type != "Delete" {
		return &refusal{status: http.StatusForbidden, reason: fmt.Sprintf("%s of an object by %s, not by the actor", act.Type, author)}
	}
	if act.Type == "Update" && isActorType(inner.Type) {
		return in.authorizeActorKey(ctx, act.Actor, inner.Raw)
	}
	return nil
}

// authorizeForwardedReply decides on a Create of someone else's reply to us, forwarded: it counts only as its own
// server serves it. decided is false when the Create is not such a reply.
func (in *Inbox) authorizeForwardedReply(ctx context.Context, act *inbound.Activity) (ref *refusal, decided bool) {
	inner := act.Object.Inline
	if inner == nil || isActorType(inner.Type) || inner.AttributedTo == "" || inner.AttributedTo == act.Actor {
		return nil, false
	}
	ours, err := in.ownObject(ctx, inner.InReplyTo)
	if err != nil {
		return &refusal{status: http.StatusServiceUnavailable, reason: "cannot check the object now, retry later"}, true
	}
	if !ours {
		return nil, false
	}
	return in.checkForwarded(ctx, act), true
}

// ownObject tells whether iri is one of our objects that exists: the memo, a revision, an impulse or a note.
func (in *Inbox) ownObject(ctx context.Context, iri string) (bool, error) {
	u := in.cfg.URLs
	switch {
	case iri == "":
		return false, nil
	case iri == u.Memo():
		// The memo exists once revision 1 does; reading the current revision would load its whole text on every
		// like and boost.
		return in.cfg.Store.LocalObjectExists(ctx, "revision", "1")
	case strings.HasPrefix(iri, u.Revisions()+"/"):
		n := strings.TrimPrefix(iri, u.Revisions()+"/")
		if _, err := strconv.Atoi(n); err != nil {
			return false, nil
		}
		return in.cfg.Store.LocalObjectExists(ctx, "revision", n)
	case strings.HasPrefix(iri, u.Impulse("")):
		return in.cfg.Store.LocalObjectExists(ctx, "impulse", strings.TrimPrefix(iri, u.Impulse("")))
	case strings.HasPrefix(iri, u.Note("")):
		return in.cfg.Store.LocalObjectExists(ctx, "note", strings.TrimPrefix(iri, u.Note("")))
	}
	return false, nil
}

func isActorType(t string) bool {
	switch t {
	case "Person", "Service", "Application", "Group", "Organization":
		return true
	}
	return false
}
