package inbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/inbound"
	"github.com/memo-fediverse/memo/storage"
)

// keepsBody tells whether an activity of this type is stored with its body: the types apply acts on, and Add and
// Remove (signature relays from copies). Any other type only changes nothing, so only its id is recorded, for
// idempotence: a flood of large junk activities does not grow the database by their size.
func keepsBody(typ string) bool {
	switch typ {
	case "Follow", "Undo", "Like", "Announce", "Create", "Delete", "Update", "Block", "Add", "Remove", "Flag", "Move":
		return true
	}
	return false
}

// prepared is a stored activity with what its effects need from the network or from reads of the store, gathered
// before their transaction: SQLite allows one writer, and no transaction should wait on another server.
type prepared struct {
	row storage.InboxActivity
	act *inbound.Activity
	// cached is the sender as cached with its key (Follow and Update only).
	cached storage.RemoteActor
	// ownReply tells that a Create answers one of our objects.
	ownReply bool
	sig      *signingInput
	move     *movedTo
}

// work prepares one stored activity and returns its transaction: the effects and the mark that it is processed,
// together (either both happen or neither, and a second worker finds nothing to do). applyBatch runs several
// such transactions as one.
func (in *Inbox) work(ctx context.Context, row storage.InboxActivity) (func(tx *storage.Tx) error, error) {
	if !keepsBody(row.Type) {
		return settled(ctx, row.IRI, "ignored: type "+row.Type), nil
	}
	p, refused, err := in.prepare(ctx, row)
	if err != nil {
		return nil, err
	}
	if refused != "" {
		return settled(ctx, row.IRI, "refused: "+refused), nil
	}
	return func(tx *storage.Tx) error {
		ok, err := tx.ClaimInboxActivity(ctx, row.IRI)
		if err != nil || !ok {
			return err
		}
		// The reception checked the blocks as they stood then; one made since leaves the activity without effects.
		// Checked in this transaction, the answer holds until its commit (storage.Tx.BlockMadeSince).
		blocked, err := blockedSince(ctx, tx, row)
		if err != nil {
			return err
		}
		if blocked {
			return tx.SetInboxResult(ctx, row.IRI, storage.BlockedResult)
		}
		result, err := in.apply(ctx, tx, p)
		if err != nil {
			return fmt.Errorf("%s %s: %w", p.act.Type, row.IRI, err)
		}
		in.log.Debug("inbox activity processed", "type", p.act.Type, "activity", row.IRI, "result", result)
		return tx.SetInboxResult(ctx, row.IRI, result)
	}, nil
}

// blockedSince tells whether a block made since the activity's reception covers its actor, the actor's host or the
// host of the key that signed it.
func blockedSince(ctx context.Context, tx *storage.Tx, row storage.InboxActivity) (bool, error) {
	if recent, err := tx.BlockMadeSince(ctx, row.ReceivedAt); err != nil || !recent {
		return false, err
	}
	host := fetch.Host(row.ActorIRI)
	blocked, err := tx.IsBlocked(ctx, row.ActorIRI, host)
	if err == nil && !blocked && row.KeyID != "" && fetch.Host(row.KeyID) != host {
		blocked, err = tx.IsBlocked(ctx, "", fetch.Host(row.KeyID))
	}
	return blocked, err
}

// settled is the transaction that marks an activity processed, with a result and no effect.
func settled(ctx context.Context, iri, result string) func(tx *storage.Tx) error {
	return func(tx *storage.Tx) error {
		if ok, err := tx.ClaimInboxActivity(ctx, iri); err != nil || !ok {
			return err
		}
		return tx.SetInboxResult(ctx, iri, result)
	}
}

// settle marks an activity processed, with a result and no effect.
func (in *Inbox) settle(ctx context.Context, iri, result string) error {
	return in.cfg.Store.InTx(ctx, settled(ctx, iri, result))
}

// prepare decodes a stored activity and gathers what its effects need. refused is set when the object's server
// answers with something that is not the object: the activity then has no effect.
func (in *Inbox) prepare(ctx context.Context, row storage.InboxActivity) (p *prepared, refused string, err error) {
	act, err := inbound.DecodeActivity([]byte(row.Body))
	if err != nil {
		return nil, "", fmt.Errorf("decode stored %s: %w", row.IRI, err)
	}
	act.Actor = row.ActorIRI // verified at reception
	p = &prepared{row: row, act: act}
	if act.Type == "Follow" || act.Type == "Update" {
		// The actor was cached when its key was.
		p.cached, err = in.cfg.Store.Actor(ctx, row.ActorIRI)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, "", err
		}
	}
	var origin []byte
	if fromOrigin(act, row.KeyID) {
		if origin, refused, err = in.resolveStored(ctx, act); err != nil || refused != "" {
			return nil, refused, err
		}
	}
	if act.Type == "Create" && act.Object != nil && act.Object.Inline != nil {
		if p.ownReply, err = in.ownObject(ctx, act.Object.Inline.InReplyTo); err != nil {
			return nil, "", err
		}
	}
	if act.Type == "Move" {
		if p.move, err = in.prepareMove(ctx, act); err != nil {
			return nil, "", err
		}
	}
	if (act.Type == "Create" && p.ownReply) || (act.Type == "Update" && act.Object != nil) {
		if p.sig, err = in.prepareSigning(ctx, row, act, origin); err != nil {
			return nil, "", err
		}
	}
	return p, "", nil
}

// apply hands a prepared activity to the effects of its type, in the effects' transaction, and returns the result
// the inbox records.
func (in *Inbox) apply(ctx context.Context, tx *storage.Tx, p *prepared) (string, error) {
	act := p.act
	switch act.Type {
	case "Follow":
		return in.applyFollow(ctx, tx, p)
	case "Undo":
		return in.applyUndo(ctx, tx, act)
	case "Like", "Announce":
		return in.applyInteraction(ctx, tx, act)
	case "Create":
		return in.applyReply(ctx, tx, p)
	case "Update":
		if updatesNote(act) {
			return in.applyReplyUpdate(ctx, tx, p)
		}
		return in.applyActorUpdate(ctx, tx, p)
	case "Delete":
		if act.ObjectIRI() == act.Actor {
			return in.applyActorDelete(ctx, tx, act)
		}
		return in.applyReplyDelete(ctx, tx, act)
	case "Flag":
		return in.storeReport(ctx, tx, p.row)
	case "Move":
		return in.applyMove(ctx, tx, act, p.move)
	case "Block":
		return in.applyBlock(ctx, tx, act)
	case "Add", "Remove":
		// A copy's relay is checked and recorded as it is received (authorizeRelay): nothing is left to apply.
		return "relay recorded on reception", nil
	}
	return "ignored: type " + act.Type, nil
}
