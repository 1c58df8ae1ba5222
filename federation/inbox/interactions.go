package inbox

import (
	"context"
	"fmt"
	"net/http"

	"github.com/memo-fediverse/memo/federation/inbound"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// authorizeInteraction accepts a Like or an Announce of one of our objects only.
func (in *Inbox) authorizeInteraction(ctx context.Context, act *inbound.Activity) *refusal {
	ok, err := in.ownObject(ctx, act.ObjectIRI())
	if err != nil {
		return &refusal{status: http.StatusServiceUnavailable, reason: "cannot check the object now, retry later"}
	}
	if !ok {
		return &refusal{status: http.StatusBadRequest, reason: fmt.Sprintf("%s of %q: not one of our objects", act.Type, act.ObjectIRI())}
	}
	return nil
}

// authorizeUndo accepts an Undo only of what its actor sent.
func (in *Inbox) authorizeUndo(ctx context.Context, act *inbound.Activity) *refusal {
	if act.Object == nil || act.Object.IRI == "" {
		return &refusal{status: http.StatusBadRequest, reason: "Undo without an object"}
	}
	if inner := act.Object.Inline; inner != nil && inner.Actor != "" && inner.Actor != act.Actor {
		return &refusal{status: http.StatusForbidden, reason: fmt.Sprintf("Undo of an activity by %s, not by the actor", inner.Actor)}
	}
	undone := act.Object.IRI
	other, err := in.cfg.Store.SenderOf(ctx, undone)
	if err == nil && other != act.Actor {
		return &refusal{status: http.StatusForbidden, reason: fmt.Sprintf("Undo of %s, which %s sent, not the actor", undone, other)}
	}
	return nil
}

// applyInteraction stores a Like or an Announce.
func (in *Inbox) applyInteraction(ctx context.Context, tx *storage.Tx, act *inbound.Activity) (string, error) {
	kind := storage.KindLike
	if act.Type == "Announce" {
		kind = storage.KindAnnounce
	}
	added, err := tx.AddInteraction(ctx, storage.Interaction{ActivityIRI: act.ID, Kind: kind, ActorIRI: act.Actor, ObjectIRI: act.ObjectIRI(), Visibility: interactionVisibility(act)})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s stored: %v", kind, added), nil
}

// applyUndo removes the follow, like or share an Undo names.
func (in *Inbox) applyUndo(ctx context.Context, tx *storage.Tx, act *inbound.Activity) (string, error) {
	inner := act.Object.Inline
	typ := ""
	if inner != nil {
		typ = inner.Type
	}
	if typ == "" || typ == "Follow" {
		result, err := in.undoFollow(ctx, tx, act, typ)
		if err != nil || result != "" {
			return result, err
		}
	}
	if typ == "" || typ == "Like" || typ == "Announce" {
		return in.undoInteraction(ctx, tx, act, typ)
	}
	return "ignored: undo of " + typ, nil
}

// undoFollow removes the follower. An Undo that names only an id may undo a like or a share instead: it returns ""
// when no follow was removed.
func (in *Inbox) undoFollow(ctx context.Context, tx *storage.Tx, act *inbound.Activity, typ string) (string, error) {
	inner := act.Object.Inline
	// Mastodon inlines the Follow; Pleroma may send only its id.
	if typ == "Follow" && inner.ObjectIRI() != "" && inner.ObjectIRI() != in.cfg.URLs.Actor() {
		return "ignored: undo of a follow of someone else", nil
	}
	followIRI := ""
	if typ == "" {
		followIRI = act.Object.IRI
	}
	removed, err := tx.RemoveFollower(ctx, act.Actor, followIRI)
	if err != nil {
		return "", err
	}
	if removed || typ == "Follow" {
		return fmt.Sprintf("follower removed: %v", removed), nil
	}
	return "", nil
}

// undoInteraction removes a like or a share (typ "": either), by the undone activity's id, or else by its object.
func (in *Inbox) undoInteraction(ctx context.Context, tx *storage.Tx, act *inbound.Activity, typ string) (string, error) {
	inner := act.Object.Inline
	kinds := []string{storage.KindLike, storage.KindAnnounce}
	if typ == "Like" {
		kinds = kinds[:1]
	} else if typ == "Announce" {
		kinds = kinds[1:]
	}
	removed, err := tx.RemoveInteraction(ctx, act.Object.IRI, act.Actor, kinds...)
	if err != nil {
		return "", err
	}
	if !removed && inner != nil && inner.ObjectIRI() != "" {
		n, err := tx.RemoveInteractionsLike(ctx, act.Actor, kinds[0], inner.ObjectIRI())
		if err != nil {
			return "", err
		}
		removed = n > 0
	}
	return fmt.Sprintf("interaction removed: %v", removed), nil
}

// interactionVisibility is the audience of a Like or an Announce. Likes carry no audience (Mastodon, GoToSocial
// and Misskey send none) and are as visible as the object they like: stored as public. Anything addressed is read
// by signing.Addressed.
func interactionVisibility(act *inbound.Activity) string {
	if act.Type == "Like" && len(act.To) == 0 && len(act.Cc) == 0 && !act.DirectMessage {
		return string(signing.Public)
	}
	return string(signing.Addressed(act.To, act.Cc, act.DirectMessage, ""))
}
