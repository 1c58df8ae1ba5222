package inbox

import (
	"context"
	"fmt"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/inbound"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// applyReply stores a reply to one of our objects in the thread, and the signature it may carry.
func (in *Inbox) applyReply(ctx context.Context, tx *storage.Tx, p *prepared) (string, error) {
	act, sig := p.act, p.sig
	note := act.Object.Inline
	if note == nil {
		return "ignored: object not inline", nil
	}
	if !p.ownReply {
		return "ignored: not a reply to our objects", nil
	}
	if sig != nil && sig.refused != "" {
		return "refused: " + sig.refused, nil
	}
	author := act.Actor
	if note.AttributedTo != "" {
		author = note.AttributedTo // a forwarded reply, checked against its own server
	}
	// Every reply is in the thread (the replies collection), whether it signs or not.
	added, err := tx.AddInteraction(ctx, storage.Interaction{
		ActivityIRI: act.ID, Kind: storage.KindReply, ActorIRI: author, ObjectIRI: note.InReplyTo,
		NoteIRI: note.ID, Content: content.SanitizeHTML(note.Content), Visibility: replyVisibility(act, note, author, p.cached, sig),
	})
	if err != nil {
		return "", err
	}
	return in.withSigning(ctx, tx, act, sig, fmt.Sprintf("reply stored: %v", added))
}

// updatesNote tells an Update of a note (an edited reply) from an Update of the actor.
func updatesNote(act *inbound.Activity) bool {
	inner := act.Object.Inline
	return inner != nil && !isActorType(inner.Type) && inner.ID != ""
}

// applyReplyUpdate keeps the stored comment in step with what its author now says, and the signature with it.
func (in *Inbox) applyReplyUpdate(ctx context.Context, tx *storage.Tx, p *prepared) (string, error) {
	act, sig := p.act, p.sig
	inner := act.Object.Inline
	if sig != nil && sig.refused != "" {
		return "refused: " + sig.refused, nil
	}
	updated, err := tx.UpdateReply(ctx, inner.ID, act.Actor, content.SanitizeHTML(inner.Content), replyVisibility(act, inner, act.Actor, p.cached, sig))
	if err != nil {
		return "", err
	}
	return in.withSigning(ctx, tx, act, sig, fmt.Sprintf("reply updated: %v", updated))
}

// applyReplyDelete removes a deleted reply and withdraws the signature it carried.
func (in *Inbox) applyReplyDelete(ctx context.Context, tx *storage.Tx, act *inbound.Activity) (string, error) {
	obj := act.ObjectIRI()
	removed, err := tx.RemoveReply(ctx, obj, act.Actor)
	if err != nil {
		return "", err
	}
	withdrawn, err := in.withdrawBy(ctx, tx, act.Actor, obj)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("reply removed: %v", removed) + withdrawn, nil
}

// replyVisibility is the audience a stored reply keeps, read by signing.Addressed like a signature's: the same
// reply can never be public in the thread and private as a signature. When the signing rules decided on the reply
// (from the note as its server serves it and the author's document), their reading is the one kept.
func replyVisibility(act, note *inbound.Activity, author string, cached storage.RemoteActor, sig *signingInput) string {
	if sig != nil && sig.refused == "" && sig.decision.Result.Visibility != "" {
		return string(sig.decision.Result.Visibility)
	}
	followers := ""
	if cached.IRI == author && cached.Raw != "" {
		if doc, err := signing.ParseActor([]byte(cached.Raw)); err == nil {
			followers = doc.Followers
		}
	}
	// Pleroma sets directMessage on the Create; it counts only when the sender wrote the note.
	dm := note.DirectMessage || (act.DirectMessage && author == act.Actor)
	return string(signing.Addressed(note.To, note.Cc, dm, followers))
}

// withSigning applies what the signing rules decided about a reply (nil: nothing to decide) and adds it to result.
func (in *Inbox) withSigning(ctx context.Context, tx *storage.Tx, act *inbound.Activity, sig *signingInput, result string) (string, error) {
	if sig == nil {
		return result, nil
	}
	signed, err := in.applySigning(ctx, tx, act, sig)
	if err != nil {
		return "", err
	}
	if signed != "" {
		result += "; " + signed
	}
	return result, nil
}
