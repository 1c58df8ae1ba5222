package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/inbound"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// The origin's side of relays. A copy's Add{object: reply, target: our signatures} asks us to count a signature
// it collected; its Remove, to withdraw one. We trust no copy: the reply is fetched from the signer's own server
// (a signed GET), and the signature is recorded only if that server says the signer wrote it, it carries a
// signing phrase and it answers a memo object of the copy that relays it. The check runs while the copy's request
// waits, so that a refusal is its answer (4xx, nothing stored) and a signer's server that is down makes the copy
// retry later (503).

// authorizeRelay checks and records a relayed signature or withdrawal. Adds and Removes of other targets are
// not relays and pass on untouched.
func (in *Inbox) authorizeRelay(ctx context.Context, act *inbound.Activity) *refusal {
	var env struct {
		Target json.RawMessage `json:"target"`
	}
	_ = json.Unmarshal(act.Raw, &env)
	if fetch.FirstIRI(env.Target) != in.cfg.URLs.Signatures() {
		return nil
	}
	rel := relayCheck{in: in, copyActor: act.Actor, noteIRI: act.ObjectIRI()}
	if act.Type == "Remove" {
		return rel.withdraw(ctx)
	}
	return rel.add(ctx)
}

// relayCheck is one relay under examination.
type relayCheck struct {
	in        *Inbox
	copyActor string
	noteIRI   string
}

func refuse(status int, format string, args ...any) *refusal {
	return &refusal{status: status, reason: fmt.Sprintf(format, args...)}
}

// knownCopy requires the relaying actor to be a memo actor that follows us and is not blocked; it returns the
// copy's address scheme, whose objects the relayed reply must answer.
func (r relayCheck) knownCopy(ctx context.Context) (storage.Follower, *refusal) {
	st := r.in.cfg.Store
	blocked, err := st.CopyBlocked(ctx, r.copyActor, fetch.Host(r.copyActor))
	if err != nil {
		return storage.Follower{}, refuse(http.StatusServiceUnavailable, "cannot check copy blocks now, retry later")
	}
	if blocked {
		return storage.Follower{}, refuse(http.StatusForbidden, "copy %s is blocked here: its relays are refused", r.copyActor)
	}
	f, err := st.Follower(ctx, r.copyActor)
	if errors.Is(err, storage.ErrNotFound) {
		if pending, perr := st.HasPendingFollow(ctx, r.copyActor); perr == nil && pending {
			return f, refuse(http.StatusServiceUnavailable, "the Follow of %s is not applied yet, retry later", r.copyActor)
		}
		return f, refuse(http.StatusForbidden, "%s does not follow this memo: only copies that follow it may relay signatures", r.copyActor)
	}
	if err != nil {
		return f, refuse(http.StatusServiceUnavailable, "cannot check followers now, retry later")
	}
	return f, nil
}

// fetchReply gets the reply from its own server. gone tells that the server says it no longer exists.
func (r relayCheck) fetchReply(ctx context.Context) (note signing.Note, body []byte, gone bool, ref *refusal) {
	if !strings.HasPrefix(r.noteIRI, "https://") && !strings.HasPrefix(r.noteIRI, "http://") {
		return note, nil, false, refuse(http.StatusBadRequest, "relay object %q is not an http(s) IRI", r.noteIRI)
	}
	body, err := r.in.cfg.Actors.Client().GetObject(ctx, r.noteIRI)
	var se *fetch.StatusError
	switch {
	case fetch.Gone(err):
		return note, nil, true, nil
	case fetch.Refused(err):
		return note, nil, false, refuse(http.StatusBadRequest, "the signer's server does not serve reply %s: %v", r.noteIRI, err)
	case errors.As(err, &se) && se.Code >= 400 && se.Code < 500:
		return note, nil, false, refuse(http.StatusBadRequest, "the signer's server answers HTTP %d for reply %s", se.Code, r.noteIRI)
	case err != nil:
		return note, nil, false, refuse(http.StatusServiceUnavailable, "cannot fetch reply %s now, retry later", r.noteIRI)
	}
	note, err = signing.ParseNote(body)
	if err != nil {
		return note, nil, false, refuse(http.StatusBadRequest, "reply %s: %v", r.noteIRI, err)
	}
	if note.Type == "Tombstone" {
		return note, nil, true, nil
	}
	if note.ID != r.noteIRI {
		return note, nil, false, refuse(http.StatusBadRequest, "reply %s: its server answers with the document %s", r.noteIRI, note.ID)
	}
	return note, body, false, nil
}

// decide runs the signing rules on the fetched reply as if it had reached the copy's inbox: addressed to the
// copy's objects, written by its author on the author's host.
func (r relayCheck) decide(ctx context.Context, note signing.Note) (signing.Decision, storage.RemoteActor, *refusal) {
	if len(note.AttributedTo) != 1 {
		return signing.Decision{}, storage.RemoteActor{}, refuse(http.StatusBadRequest, "reply %s: want one author, found %d", r.noteIRI, len(note.AttributedTo))
	}
	author := note.AttributedTo[0]
	if err := signing.CheckNoteHost(author, note); err != nil {
		return signing.Decision{}, storage.RemoteActor{}, refuse(http.StatusForbidden, "%v", err)
	}
	if blocked, err := r.in.cfg.Store.IsBlocked(ctx, author, fetch.Host(author)); err != nil {
		return signing.Decision{}, storage.RemoteActor{}, refuse(http.StatusServiceUnavailable, "cannot check blocks now, retry later")
	} else if blocked {
		return signing.Decision{}, storage.RemoteActor{}, refuse(http.StatusForbidden, "the signer %s is blocked here", author)
	}
	ra, err := r.in.cfg.Actors.Actor(ctx, author, false)
	if err != nil {
		return signing.Decision{}, ra, refuse(http.StatusServiceUnavailable, "cannot fetch the signer %s now, retry later", author)
	}
	doc, err := signing.ParseActor([]byte(ra.Raw))
	if err != nil {
		return signing.Decision{}, ra, refuse(http.StatusBadRequest, "signer %s: %v", author, err)
	}
	copyURLs, err := content.OriginURLs(r.copyActor)
	if err != nil {
		return signing.Decision{}, ra, refuse(http.StatusBadRequest, "%v", err)
	}
	current := 1
	if rev, err := r.in.cfg.Store.CurrentRevision(ctx); err == nil {
		current = rev.Number
	}
	target, _ := signing.ReplyTarget(copyURLs, note.InReplyTo) // Decide refuses a reply that answers none
	d, err := signing.Decide(copyURLs, r.in.matcher(), signing.Reply{
		Sender: author, Note: note, Author: doc, CurrentRevision: current, ReceivedAt: r.in.cfg.Now(),
		RevisionPublishedAt: revisionPublished(ctx, r.in.cfg.Store, signing.RevisionSigned(target, current)),
	})
	switch {
	case errors.Is(err, signing.ErrNotOurs):
		return d, ra, refuse(http.StatusBadRequest, "reply %s answers %q, which is not a memo object of copy %s", r.noteIRI, note.InReplyTo, r.copyActor)
	case err != nil:
		return d, ra, refuse(http.StatusForbidden, "reply %s: %v", r.noteIRI, err)
	}
	return d, ra, nil
}

// errSignerBlocked ends the transaction of a relayed signature whose signer is blocked.
var errSignerBlocked = errors.New("signer blocked")

func (r relayCheck) add(ctx context.Context) *refusal {
	follower, ref := r.knownCopy(ctx)
	if ref != nil {
		return ref
	}
	note, body, gone, ref := r.fetchReply(ctx)
	if ref != nil {
		return ref
	}
	if gone {
		return refuse(http.StatusBadRequest, "reply %s does not exist on the signer's server", r.noteIRI)
	}
	d, ra, ref := r.decide(ctx, note)
	if ref != nil {
		return ref
	}
	if !d.Result.Signature {
		return refuse(http.StatusBadRequest, "reply %s carries no signing phrase: a comment, not a signature", r.noteIRI)
	}
	ev := signing.Evidence{
		Kind: signing.EvidenceFetched, Method: http.MethodGet, Host: fetch.Host(r.noteIRI),
		Body: body, KeyOwner: ra.IRI, KeyID: ra.KeyID, KeyPEM: ra.PublicKeyPEM, ReceivedAt: r.in.cfg.Now().UTC(),
	}
	if u, err := url.Parse(r.noteIRI); err == nil {
		ev.Path = u.RequestURI()
	}
	evidence, err := ev.Marshal()
	if err != nil {
		return refuse(http.StatusInternalServerError, "cannot keep the evidence of %s", r.noteIRI)
	}
	row := d.Record.Row(ra.Type, evidence)
	row.ViaCopy = r.copyActor
	st := r.in.cfg.Store
	if err := st.AddCopy(ctx, storage.Copy{ActorIRI: r.copyActor, Domain: fetch.Host(r.copyActor), Inbox: follower.Inbox, Since: follower.CreatedAt}); err != nil {
		r.in.log.Error("relay: record copy", "copy", r.copyActor, "err", err)
		return refuse(http.StatusServiceUnavailable, "cannot record the copy now, retry later")
	}
	// The signer's block is read again in the transaction that records the signature: a block made since decide
	// read it waits for this one, or is seen by it (storage.Tx.IsBlocked).
	err = st.InTx(ctx, func(tx *storage.Tx) error {
		blocked, err := tx.IsBlocked(ctx, row.ActorIRI, fetch.Host(row.ActorIRI))
		if err != nil {
			return err
		}
		if blocked {
			return errSignerBlocked
		}
		_, err = tx.AddSignature(ctx, row)
		return err
	})
	switch {
	case errors.Is(err, errSignerBlocked):
		return refuse(http.StatusForbidden, "the signer %s is blocked here", row.ActorIRI)
	case err != nil && !errors.Is(err, storage.ErrAlreadySigned):
		r.in.log.Error("relay: record signature", "note", r.noteIRI, "err", err)
		return refuse(http.StatusServiceUnavailable, "cannot record the signature now, retry later")
	case err == nil:
		r.in.log.Info("relayed signature recorded", "signer", row.ActorIRI, "copy", r.copyActor)
	}
	// A signer who signed here or through another copy already keeps that first signature: one per person.
	return nil
}

// withdraw honours a relayed withdrawal only from the copy that relayed the signature, and only when the signer's
// server confirms it: the reply answers 404 or 410 or is a Tombstone, or it is still the signer's and no longer
// carries a signing phrase. Anything else (the sender is another copy or a follower, the signature was made here
// directly, the reply still signs, the server cannot be reached or answers 5xx) changes nothing and is refused
// with its reason; a signature made here directly is withdrawn only by its author (Delete or Update of the reply,
// Delete of the account).
func (r relayCheck) withdraw(ctx context.Context) *refusal {
	if _, ref := r.knownCopy(ctx); ref != nil {
		return ref
	}
	sig, err := r.in.cfg.Store.SignatureByNote(ctx, r.noteIRI)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // nothing recorded for that reply: nothing to withdraw
	}
	if err != nil {
		return refuse(http.StatusServiceUnavailable, "cannot read signatures now, retry later")
	}
	if ref := relayedBy(sig, r.copyActor); ref != nil {
		return ref
	}
	if sig.WithdrawnMS.Valid {
		return nil // already withdrawn: a retry of a Remove that was honoured
	}
	note, _, gone, ref := r.fetchReply(ctx)
	if ref != nil {
		return ref
	}
	if !gone {
		if err := signing.CheckAuthor(sig.ActorIRI, note); err != nil {
			return refuse(http.StatusConflict, "reply %s is no longer the signer's on their server: %v", r.noteIRI, err)
		}
		if err := signing.CheckNoteHost(sig.ActorIRI, note); err != nil {
			return refuse(http.StatusConflict, "reply %s: %v", r.noteIRI, err)
		}
		if signing.Classify(note, "", r.in.matcher()).Signature {
			return refuse(http.StatusConflict, "reply %s still stands with a signing phrase on the signer's server", r.noteIRI)
		}
	}
	if _, err := r.in.cfg.Store.WithdrawSignature(ctx, sig.ActorIRI, sig.NoteIRI); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return refuse(http.StatusServiceUnavailable, "cannot withdraw the signature now, retry later")
	}
	r.in.log.Info("relayed withdrawal honoured", "signer", sig.ActorIRI, "copy", r.copyActor, "gone", gone)
	return nil
}

// relayedBy refuses a withdrawal of sig relayed by copyActor unless that copy is the one that relayed it.
func relayedBy(sig storage.Signature, copyActor string) *refusal {
	switch sig.ViaCopy {
	case copyActor:
		return nil
	case "":
		return refuse(http.StatusForbidden, "the signature carried by %s was made here directly: only its author can withdraw it (Delete or Update of the reply)", sig.NoteIRI)
	}
	return refuse(http.StatusForbidden, "the signature carried by %s was relayed by %s, not by %s: only that copy may relay its withdrawal", sig.NoteIRI, sig.ViaCopy, copyActor)
}
