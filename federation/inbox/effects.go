package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/inbound"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// authorize applies the rules that decide, before anything is stored, whether a verified activity may have an
// effect at all. The signer is act.Actor (the inbox checked that the key belongs to it).
func (in *Inbox) authorize(ctx context.Context, act *inbound.Activity) *refusal {
	switch act.Type {
	case "Follow":
		if act.ObjectIRI() != in.cfg.URLs.Actor() {
			return &refusal{status: http.StatusBadRequest, reason: fmt.Sprintf("Follow of %q: only %s can be followed here", act.ObjectIRI(), in.cfg.URLs.Actor())}
		}
	case "Like", "Announce":
		ok, err := in.ownObject(ctx, act.ObjectIRI())
		if err != nil {
			return &refusal{status: http.StatusServiceUnavailable, reason: "cannot check the object now, retry later"}
		}
		if !ok {
			return &refusal{status: http.StatusBadRequest, reason: fmt.Sprintf("%s of %q: not one of our objects", act.Type, act.ObjectIRI())}
		}
	case "Undo":
		return in.authorizeUndo(ctx, act)
	case "Move":
		return in.authorizeMove(ctx, act)
	case "Add", "Remove":
		return in.authorizeRelay(ctx, act) // a copy's relay of a signature: copy_verify.go
	case "Update", "Delete", "Create":
		obj := act.ObjectIRI()
		if obj == "" {
			return &refusal{status: http.StatusBadRequest, reason: act.Type + " without an object"}
		}
		if inner := act.Object.Inline; act.Type == "Create" && inner != nil && !isActorType(inner.Type) && inner.AttributedTo != "" && inner.AttributedTo != act.Actor {
			// Someone else's reply to us, forwarded: it counts only as its own server serves it.
			ours, err := in.ownObject(ctx, inner.InReplyTo)
			if err != nil {
				return &refusal{status: http.StatusServiceUnavailable, reason: "cannot check the object now, retry later"}
			}
			if ours {
				return in.checkForwarded(ctx, act)
			}
		}
		// Only the origin speaks for an object: no one updates or deletes what another server holds.
		if !fetch.SameHost(obj, act.Actor) {
			return &refusal{status: http.StatusForbidden, reason: fmt.Sprintf("%s of %s, which is not on the actor's host", act.Type, obj)}
		}
		if act.Object.Inline == nil && act.Type != "Delete" {
			return in.authorizeReferenced(ctx, act)
		}
		if inner := act.Object.Inline; inner != nil {
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
		}
	}
	return nil
}

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

// ownObject tells whether iri is one of our objects that exists: the memo, a revision, an impulse or a note.
func (in *Inbox) ownObject(ctx context.Context, iri string) (bool, error) {
	u := in.cfg.URLs
	switch {
	case iri == "":
		return false, nil
	case iri == u.Memo():
		// The memo exists once revision 1 does; reading the current revision would load its whole text on every
		// like and boost (a fifth of the inbox's time under load).
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

// prepare does what an activity's effects need read or fetched before the write transaction, and returns the
// transaction's work: the effects, and the mark that the activity is processed, in one transaction (either both
// happen or neither, and a second worker finds nothing to do); applyBatch runs several in one.
func (in *Inbox) prepare(ctx context.Context, row storage.InboxActivity) (func(tx *storage.Tx) error, error) {
	if !keepsBody(row.Type) {
		return func(tx *storage.Tx) error {
			if ok, err := tx.ClaimInboxActivity(ctx, row.IRI); err != nil || !ok {
				return err
			}
			return tx.SetInboxResult(ctx, row.IRI, "ignored: type "+row.Type)
		}, nil
	}
	act, err := inbound.DecodeActivity([]byte(row.Body))
	if err != nil {
		return nil, fmt.Errorf("decode stored %s: %w", row.IRI, err)
	}
	act.Actor = row.ActorIRI // verified at reception
	var cached storage.RemoteActor
	if act.Type == "Follow" || act.Type == "Update" {
		// Read before the transaction: SQLite allows one writer, and the actor was cached when its key was.
		cached, err = in.cfg.Store.Actor(ctx, row.ActorIRI)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
	}
	var origin []byte
	if fromOrigin(act, row.KeyID) {
		var refused string
		if origin, refused, err = in.resolveStored(ctx, act); err != nil {
			return nil, err
		}
		if refused != "" {
			return func(tx *storage.Tx) error {
				if ok, err := tx.ClaimInboxActivity(ctx, row.IRI); err != nil || !ok {
					return err
				}
				return tx.SetInboxResult(ctx, row.IRI, "refused: "+refused)
			}, nil
		}
	}
	var ownReply bool
	if act.Type == "Create" && act.Object != nil && act.Object.Inline != nil {
		if ownReply, err = in.ownObject(ctx, act.Object.Inline.InReplyTo); err != nil {
			return nil, err
		}
	}
	var move *movedTo
	if act.Type == "Move" {
		if move, err = in.prepareMove(ctx, act); err != nil {
			return nil, err
		}
	}
	var sig *signingInput
	if (act.Type == "Create" && ownReply) || (act.Type == "Update" && act.Object != nil) {
		if sig, err = in.prepareSigning(ctx, row, act, origin); err != nil {
			return nil, err
		}
	}
	return func(tx *storage.Tx) error {
		ok, err := tx.ClaimInboxActivity(ctx, row.IRI)
		if err != nil || !ok {
			return err
		}
		result, err := in.apply(ctx, tx, row, act, cached, ownReply, sig, move)
		if err != nil {
			return fmt.Errorf("%s %s: %w", act.Type, row.IRI, err)
		}
		in.log.Debug("inbox activity processed", "type", act.Type, "activity", row.IRI, "result", result)
		return tx.SetInboxResult(ctx, row.IRI, result)
	}, nil
}

func (in *Inbox) apply(ctx context.Context, tx *storage.Tx, row storage.InboxActivity, act *inbound.Activity, cached storage.RemoteActor, ownReply bool, sig *signingInput, move *movedTo) (string, error) {
	switch act.Type {
	case "Follow":
		return in.acceptFollow(ctx, tx, row, act, cached)
	case "Undo":
		return in.undo(ctx, tx, act)
	case "Like", "Announce":
		kind := storage.KindLike
		if act.Type == "Announce" {
			kind = storage.KindAnnounce
		}
		added, err := tx.AddInteraction(ctx, storage.Interaction{ActivityIRI: act.ID, Kind: kind, ActorIRI: act.Actor, ObjectIRI: act.ObjectIRI(), Visibility: interactionVisibility(act)})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s stored: %v", kind, added), nil
	case "Create":
		note := act.Object.Inline
		if note == nil {
			return "ignored: object not inline", nil
		}
		if !ownReply {
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
			NoteIRI: note.ID, Content: content.SanitizeHTML(note.Content), Visibility: replyVisibility(act, note, author, cached, sig),
		})
		if err != nil {
			return "", err
		}
		return in.withSigning(ctx, tx, act, sig, fmt.Sprintf("reply stored: %v", added))
	case "Delete":
		obj := act.ObjectIRI()
		if obj == act.Actor {
			if err := tx.MarkActorDeleted(ctx, act.Actor); err != nil {
				return "", err
			}
			erased, err := tx.EraseSignature(ctx, act.Actor)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("actor deleted; signature erased: %v", erased), nil
		}
		removed, err := tx.RemoveReply(ctx, obj, act.Actor)
		if err != nil {
			return "", err
		}
		withdrawn, err := in.withdrawBy(ctx, tx, act.Actor, obj)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("reply removed: %v", removed) + withdrawn, nil
	case "Update":
		inner := act.Object.Inline
		if inner != nil && !isActorType(inner.Type) && inner.ID != "" {
			// An edited reply: keep the stored comment in step with what its author now says.
			if sig != nil && sig.refused != "" {
				return "refused: " + sig.refused, nil
			}
			updated, err := tx.UpdateReply(ctx, inner.ID, act.Actor, content.SanitizeHTML(inner.Content), replyVisibility(act, inner, act.Actor, cached, sig))
			if err != nil {
				return "", err
			}
			return in.withSigning(ctx, tx, act, sig, fmt.Sprintf("reply updated: %v", updated))
		}
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
			doc.Actor.KeyID, doc.Actor.PublicKeyPEM = cached.KeyID, cached.PublicKeyPEM
		}
		// A key taken by another actor meanwhile is found before anything is written: the refusal is the result.
		if err := tx.PutActor(ctx, doc.Actor); errors.Is(err, storage.ErrKeyTaken) {
			return "refused: " + err.Error(), nil
		} else if err != nil {
			return "", err
		}
		return "actor updated", nil
	case "Flag":
		return in.storeReport(ctx, tx, row)
	case "Move":
		return in.applyMove(ctx, tx, act, move)
	case "Block":
		if act.ObjectIRI() != in.cfg.URLs.Actor() {
			return "ignored: block of someone else", nil
		}
		removed, err := tx.RemoveFollower(ctx, act.Actor, "")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("blocked us; follower removed: %v", removed), nil
	}
	return "ignored: type " + act.Type, nil
}

func (in *Inbox) acceptFollow(ctx context.Context, tx *storage.Tx, row storage.InboxActivity, act *inbound.Activity, follower storage.RemoteActor) (string, error) {
	if follower.Inbox == "" {
		return "ignored: follower has no inbox", nil
	}
	if err := tx.AddFollower(ctx, storage.Follower{
		ActorIRI: act.Actor, FollowIRI: act.ID, Inbox: follower.Inbox, SharedInbox: follower.SharedInbox, Domain: follower.Domain,
	}); err != nil {
		return "", err
	}
	accept := in.cfg.URLs.Activity(acceptNumber(act.ID))
	body, err := json.Marshal(map[string]any{
		"@context": content.ActivityStreamsContext,
		"id":       accept,
		"type":     "Accept",
		"actor":    in.cfg.URLs.Actor(),
		"to":       []string{act.Actor},
		"object":   json.RawMessage(row.Body), // the Follow as received: peers match it by id and content
	})
	if err != nil {
		return "", fmt.Errorf("encode Accept: %w", err)
	}
	if err := tx.InsertActivity(ctx, storage.Activity{
		IRI: accept, Type: "Accept", ObjectIRI: act.ID, Body: string(body),
	}, []storage.Recipient{{Inbox: follower.Inbox, Domain: follower.Domain}}); err != nil {
		return "", err
	}
	return "follower added, Accept queued", nil
}

// acceptNumber derives the Accept's number from the Follow's id, so that processing one Follow twice (two
// replicas, a retry) names the same Accept and stores it once.
func acceptNumber(followIRI string) int64 {
	sum := sha256.Sum256([]byte("accept " + followIRI))
	return int64(binary.BigEndian.Uint64(sum[:8]) >> 11) // 53 bits: exact in JSON numbers everywhere
}

func (in *Inbox) undo(ctx context.Context, tx *storage.Tx, act *inbound.Activity) (string, error) {
	inner := act.Object.Inline
	undone := act.Object.IRI
	typ := ""
	if inner != nil {
		typ = inner.Type
	}
	if typ == "" || typ == "Follow" {
		// Mastodon inlines the Follow; Pleroma may send only its id.
		if typ == "Follow" && inner.ObjectIRI() != "" && inner.ObjectIRI() != in.cfg.URLs.Actor() {
			return "ignored: undo of a follow of someone else", nil
		}
		followIRI := ""
		if typ == "" {
			followIRI = undone
		}
		removed, err := tx.RemoveFollower(ctx, act.Actor, followIRI)
		if err != nil {
			return "", err
		}
		if removed || typ == "Follow" {
			return fmt.Sprintf("follower removed: %v", removed), nil
		}
	}
	if typ == "" || typ == "Like" || typ == "Announce" {
		kinds := []string{storage.KindLike, storage.KindAnnounce}
		if typ == "Like" {
			kinds = kinds[:1]
		} else if typ == "Announce" {
			kinds = kinds[1:]
		}
		removed, err := tx.RemoveInteraction(ctx, undone, act.Actor, kinds...)
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
	return "ignored: undo of " + typ, nil
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

// interactionVisibility is the audience of a Like or an Announce. Likes carry no audience (Mastodon, GoToSocial
// and Misskey send none) and are as visible as the object they like: stored as public. Anything addressed is read
// by signing.Addressed.
func interactionVisibility(act *inbound.Activity) string {
	if act.Type == "Like" && len(act.To) == 0 && len(act.Cc) == 0 && !act.DirectMessage {
		return string(signing.Public)
	}
	return string(signing.Addressed(act.To, act.Cc, act.DirectMessage, ""))
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

// storeReport keeps a Flag (another instance's moderators reporting our actor or objects) for the admin, clipped
// and capped per host (storage.AddReportTx), then drops the activity's body: the report holds what it said.
func (in *Inbox) storeReport(ctx context.Context, tx *storage.Tx, row storage.InboxActivity) (string, error) {
	var flag struct {
		Object  json.RawMessage `json:"object"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal([]byte(row.Body), &flag); err != nil {
		return "", fmt.Errorf("decode Flag: %w", err)
	}
	var comment string
	_ = json.Unmarshal(flag.Content, &comment) // a comment that is not a string is no comment
	added, err := tx.AddReport(ctx, storage.Report{
		ActivityIRI: row.IRI, ActorIRI: row.ActorIRI, Domain: fetch.Host(row.ActorIRI),
		Objects: flagObjects(flag.Object), Comment: comment,
	})
	if err != nil {
		return "", err
	}
	if err := tx.ClearInboxBody(ctx, row.IRI); err != nil {
		return "", err
	}
	return fmt.Sprintf("report stored: %v", added), nil
}

// flagObjects lists the ids a Flag reports: Mastodon sends a list of IRIs (the account, then statuses), others a
// single IRI or inline objects.
func flagObjects(raw json.RawMessage) []string {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		list = []json.RawMessage{raw}
	}
	var out []string
	for _, item := range list {
		if iri := fetch.FirstIRI(item); iri != "" {
			out = append(out, iri)
		}
		if len(out) == storage.MaxReportObjects {
			break
		}
	}
	return out
}
