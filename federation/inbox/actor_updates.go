package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/inbound"
	"github.com/memo-fediverse/memo/storage"
)

// applyActorUpdate caches the actor's new document, keeping the key we verify with when the document has none.
func (in *Inbox) applyActorUpdate(ctx context.Context, tx *storage.Tx, p *prepared) (string, error) {
	act := p.act
	inner := act.Object.Inline
	if inner == nil || inner.ID != act.Actor || !isActorType(inner.Type) {
		return "ignored: not an update of the actor", nil
	}
	doc, err := fetch.ParseActor(inner.Raw)
	if err != nil {
		return "", fmt.Errorf("updated actor: %w", err)
	}
	if reason := actorKeyProblem(act.Actor, inner.Raw); reason != "" {
		return "refused: " + reason, nil // checked at reception too; kept here for activities stored before
	}
	if doc.Actor.PublicKeyPEM == "" {
		// An Update without the key must not erase the key we verify with.
		doc.Actor.KeyID, doc.Actor.PublicKeyPEM = p.cached.KeyID, p.cached.PublicKeyPEM
	}
	// A key taken by another actor meanwhile is found before anything is written: the refusal is the result.
	if err := tx.PutActor(ctx, doc.Actor); errors.Is(err, storage.ErrKeyTaken) {
		return "refused: " + err.Error(), nil
	} else if err != nil {
		return "", err
	}
	return "actor updated", nil
}

// applyActorDelete marks a deleted account and erases its signature: the row itself, not only its place in lists.
func (in *Inbox) applyActorDelete(ctx context.Context, tx *storage.Tx, act *inbound.Activity) (string, error) {
	if err := tx.MarkActorDeleted(ctx, act.Actor); err != nil {
		return "", err
	}
	reply, err := tx.EraseSignature(ctx, act.Actor)
	if err != nil || reply == "" {
		return "actor deleted; no signature", err
	}
	// Our acknowledgement named them and their number: it goes with the row. No Delete is sent, their account
	// being gone.
	if _, err := tx.DeleteAcknowledgements(ctx, reply, in.cfg.Store.Now()); err != nil {
		return "", err
	}
	return "actor deleted; signature erased", nil
}

// authorizeActorKey applies the key rules to an actor's Update of itself (actorKeyProblem), and refuses a key id
// another cached actor holds: one actor per key id, and the key's first, legitimate owner keeps it.
func (in *Inbox) authorizeActorKey(ctx context.Context, actor string, raw []byte) *refusal {
	if reason := actorKeyProblem(actor, raw); reason != "" {
		return &refusal{status: http.StatusForbidden, reason: reason}
	}
	doc, err := fetch.ParseActor(raw)
	if err != nil {
		return &refusal{status: http.StatusBadRequest, reason: "updated actor: " + err.Error()}
	}
	if doc.Actor.KeyID == "" {
		return nil
	}
	holder, err := in.cfg.Store.KeyHolder(ctx, actor, doc.Actor.KeyID)
	if err != nil {
		return &refusal{status: http.StatusServiceUnavailable, reason: "cannot check the key now, retry later"}
	}
	if holder != "" {
		return &refusal{status: http.StatusForbidden, reason: fmt.Sprintf("key %s belongs to %s, not to %s", doc.Actor.KeyID, holder, actor)}
	}
	return nil
}

// actorKeyProblem says what is wrong with the keys an actor document publishes, or "": a key is accepted only on
// the actor's host and as the actor's own (its owner is the actor; a key without an owner must be named under the
// actor's IRI, as iri#main-key).
func actorKeyProblem(actor string, raw []byte) string {
	var doc struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.PublicKey) == 0 {
		return ""
	}
	var keys []struct {
		ID    string `json:"id"`
		Owner string `json:"owner"`
	}
	if err := json.Unmarshal(doc.PublicKey, &keys); err != nil {
		keys = keys[:0]
		var one struct {
			ID    string `json:"id"`
			Owner string `json:"owner"`
		}
		if err := json.Unmarshal(doc.PublicKey, &one); err != nil {
			return "publicKey is neither a key nor a list of keys"
		}
		keys = append(keys, one)
	}
	for _, k := range keys {
		switch {
		case k.ID == "":
			continue
		case !fetch.SameHost(k.ID, actor):
			return fmt.Sprintf("key %s is not on the actor's host (%s)", k.ID, fetch.Host(actor))
		case k.Owner != "" && k.Owner != actor:
			return fmt.Sprintf("key %s is owned by %s, not by the actor %s", k.ID, k.Owner, actor)
		case k.Owner == "" && !storage.KeyUnder(actor, k.ID):
			return fmt.Sprintf("key %s names no owner and is not under the actor's IRI", k.ID)
		}
	}
	return ""
}
