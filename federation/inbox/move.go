package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/inbound"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// Accounts that move. A Move names the old account as actor and object and the new one as target; it counts only
// when the new account, fetched from its own host, lists the old one in alsoKnownAs (Mastodon's
// ActivityPub::Activity::Move checks the same before MoveWorker carries follows over). Then a follower is replaced
// by its new account, as Mastodon's MoveWorker moves the follows of a moved account, and a signature is carried
// over to the new account once, keeping its number.

// movedTo is what a Move does once its target is checked: the new account as cached.
type movedTo struct {
	target  storage.RemoteActor
	refused string
}

// authorizeMove checks a Move at reception. A Move by someone who neither follows us nor signed is accepted and
// ignored without fetching anything.
func (in *Inbox) authorizeMove(ctx context.Context, act *inbound.Activity) *refusal {
	if act.ObjectIRI() != act.Actor {
		return &refusal{status: http.StatusBadRequest, reason: fmt.Sprintf("Move of %q: only an account moves itself", act.ObjectIRI())}
	}
	concerned, err := in.movesSomething(ctx, act.Actor)
	if err != nil {
		return &refusal{status: http.StatusServiceUnavailable, reason: "cannot check the account now, retry later"}
	}
	if !concerned {
		return nil
	}
	if err := in.checkMoveTarget(ctx, act); err != nil {
		if transient(err) {
			return &refusal{status: http.StatusServiceUnavailable, reason: err.Error() + "; retry later"}
		}
		return &refusal{status: http.StatusForbidden, reason: err.Error()}
	}
	return nil
}

// movesSomething tells whether the account follows us or has a signature.
func (in *Inbox) movesSomething(ctx context.Context, actor string) (bool, error) {
	return in.cfg.Store.FollowsOrSigned(ctx, actor)
}

// checkMoveTarget fetches the Move's target from its own host (the safe client, document rules, nothing cached) and
// requires it to be an actor that lists the old account in alsoKnownAs, and not blocked.
func (in *Inbox) checkMoveTarget(ctx context.Context, act *inbound.Activity) error {
	target := act.Target
	if target == "" || target == act.Actor {
		return fmt.Errorf("%w: Move of %s without another account as target", errMoveRefused, act.Actor)
	}
	blocked, err := in.cfg.Store.IsBlocked(ctx, target, fetch.Host(target))
	if err != nil {
		return fmt.Errorf("cannot check blocks now: %w", err)
	}
	if blocked {
		return fmt.Errorf("%w: Move to %s: account or domain blocked", errMoveRefused, target)
	}
	body, err := in.cfg.Actors.Client().GetObject(ctx, target)
	if err != nil {
		return fmt.Errorf("Move target %s: %w", target, err)
	}
	return movedFrom(act.Actor, target, body)
}

// movedFrom requires the target's document to be an actor listing old in alsoKnownAs.
func movedFrom(old, target string, doc []byte) error {
	var d struct {
		Type        json.RawMessage `json:"type"`
		AlsoKnownAs json.RawMessage `json:"alsoKnownAs"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return fmt.Errorf("%w: Move target %s: %v", errMoveRefused, target, err)
	}
	if !isActorType(fetch.FirstString(d.Type)) {
		return fmt.Errorf("%w: Move target %s is not an actor", errMoveRefused, target)
	}
	aka := bytes.TrimSpace(d.AlsoKnownAs)
	var list []json.RawMessage
	if len(aka) > 0 && aka[0] == '[' {
		json.Unmarshal(aka, &list)
	} else if len(aka) > 0 {
		list = []json.RawMessage{aka}
	}
	for _, item := range list {
		if fetch.FirstIRI(item) == old {
			return nil
		}
	}
	return fmt.Errorf("%w: Move to %s: its alsoKnownAs does not name %s", errMoveRefused, target, old)
}

// prepareMove runs before the effects' transaction: the target is fetched again (and cached, for its inbox) and
// checked again, since the effects may run long after the reception.
func (in *Inbox) prepareMove(ctx context.Context, act *inbound.Activity) (*movedTo, error) {
	if act.ObjectIRI() != act.Actor {
		return &movedTo{refused: "not a Move of the actor itself"}, nil
	}
	concerned, err := in.movesSomething(ctx, act.Actor)
	if err != nil || !concerned {
		return nil, err
	}
	if err := in.checkMoveTarget(ctx, act); err != nil {
		if transient(err) {
			return nil, err
		}
		return &movedTo{refused: err.Error()}, nil
	}
	target, err := in.cfg.Actors.Actor(ctx, act.Target, true)
	if err != nil {
		return nil, fmt.Errorf("Move target %s: %w", act.Target, err)
	}
	return &movedTo{target: target}, nil
}

// errMoveRefused marks a Move the rules refuse, whatever the network does.
var errMoveRefused = errors.New("Move refused")

// transient tells a failure to reach the target (worth a retry: the network, a 5xx, a 429) from an answer.
func transient(err error) bool {
	if errors.Is(err, errMoveRefused) || fetch.Refused(err) {
		return false
	}
	var se *fetch.StatusError
	if errors.As(err, &se) {
		return se.Code >= 500 || se.Code == http.StatusTooManyRequests
	}
	return true
}

// applyMove replaces the follower and carries the signature over, in the effects' transaction.
func (in *Inbox) applyMove(ctx context.Context, tx *storage.Tx, act *inbound.Activity, m *movedTo) (string, error) {
	if m == nil {
		return "ignored: Move of an account that neither follows nor signed", nil
	}
	if m.refused != "" {
		return "refused: " + m.refused, nil
	}
	old, to := act.Actor, m.target
	result := ""
	removed, err := tx.RemoveFollower(ctx, old, "")
	if err != nil {
		return "", err
	}
	if removed && to.Inbox != "" {
		if err := tx.AddFollower(ctx, storage.Follower{
			ActorIRI: to.IRI, FollowIRI: act.ID, Inbox: to.Inbox, SharedInbox: to.SharedInbox, Domain: to.Domain,
		}); err != nil {
			return "", err
		}
		result = "follower replaced by " + to.IRI
	} else if removed {
		result = "follower removed (the new account has no inbox)"
	}
	row, err := in.movedSignature(to)
	if err != nil {
		return "", err
	}
	moved, err := tx.MoveSignature(ctx, old, row)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case errors.Is(err, storage.ErrTargetSigned) && moved.Withdrawn != 0:
		result = join(result, fmt.Sprintf("%s has signed already: the older signature, %d, is kept, and %d withdrawn (one signature per signer)", to.IRI, moved.ID, moved.Withdrawn))
	case errors.Is(err, storage.ErrTargetSigned):
		result = join(result, fmt.Sprintf("%s has signed already: signature %d stands, nothing carried over", to.IRI, moved.ID))
	case errors.Is(err, storage.ErrMovedBefore):
		result = join(result, fmt.Sprintf("signature %d not carried over: it was carried over once already", moved.ID))
	case err != nil:
		return "", err
	default:
		result = join(result, fmt.Sprintf("signature %d carried over to %s", moved.ID, to.IRI))
	}
	if result == "" {
		result = "nothing to move"
	}
	return result, nil
}

// movedSignature is what a signature shows of its new account.
func (in *Inbox) movedSignature(to storage.RemoteActor) (storage.Signature, error) {
	a, err := signingActor(to)
	if err != nil {
		return storage.Signature{}, err
	}
	r, err := signing.NewRecord(a, signing.Note{}, signing.Public, 1, in.cfg.Now())
	if err != nil {
		return storage.Signature{}, fmt.Errorf("new account %s: %w", to.IRI, err)
	}
	g := r.Row(a.Type, "")
	return g, nil
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
