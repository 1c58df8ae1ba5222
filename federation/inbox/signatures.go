package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/federation/as"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/federation/inbound"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// Signing by reply, as the inbox worker applies it. Everything that needs the network or a read of the store is
// done before the effects' transaction (prepareSigning); the transaction then stores the signature, or the
// withdrawal, and the acknowledgement with its delivery together (applySigning), so a crash never leaves a
// signature without its acknowledgement queued, nor the reverse.

func (in *Inbox) matcher() *signing.Matcher {
	if in.cfg.Signing != nil {
		return in.cfg.Signing
	}
	return signing.DefaultMatcher
}

// signingInput is what the transaction needs to turn a reply (Create) or an edited reply (Update) into a
// signature, a withdrawal or nothing.
type signingInput struct {
	decision signing.Decision
	signer   storage.RemoteActor // the note's author, for the acknowledgement's delivery
	evidence string
	// refused is set when the reply fails the ownership checks: nothing is stored and the result says why.
	refused string
}

// prepareSigning reads a Create or Update of a note that answers one of our objects and decides what it amounts
// to. It returns nil when the activity has nothing to do with signing.
//
// origin is the object as its server served it when the activity took it from there (fromOrigin); the evidence is
// then that document, not the request, which names the note without its text or comes from a forwarder.
func (in *Inbox) prepareSigning(ctx context.Context, row storage.InboxActivity, act *inbound.Activity, origin []byte) (*signingInput, error) {
	inner := act.Object.Inline
	if inner == nil || isActorType(inner.Type) || len(inner.Raw) == 0 {
		return nil, nil
	}
	note, err := signing.ParseNote(inner.Raw)
	if err != nil {
		return &signingInput{refused: err.Error()}, nil
	}
	if act.Type == "Update" && note.InReplyTo == "" {
		// Some servers send an edit without inReplyTo; the reply it edits still says what it answered.
		if g, err := in.cfg.Store.SignatureByNote(ctx, note.ID); err == nil {
			note.InReplyTo = g.InReplyTo
		}
	}
	target, err := signing.ReplyTarget(in.cfg.URLs, note.InReplyTo)
	if err != nil {
		return nil, nil
	}
	if ok, err := in.ownObject(ctx, note.InReplyTo); err != nil || !ok {
		return nil, err
	}
	note.LDSignature = ldSignatureOf([]byte(row.Body))

	sender := row.ActorIRI
	// The sender's cached document is read once: for the key kept with the evidence and, when it wrote the
	// reply, for the signature's record.
	owner, err := in.cfg.Store.Actor(ctx, row.ActorIRI)
	known := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	evidence, err := inboxEvidence(row, owner, known)
	if err != nil {
		return nil, err
	}
	if origin != nil {
		if evidence, err = in.fetchedEvidence(note.ID, row.ActorIRI, origin); err != nil {
			return nil, err
		}
	} else if author := firstAuthor(note); author != "" && author != row.ActorIRI && act.Type == "Create" {
		// Forwarded by someone else: only the note as its own server serves it counts.
		fetched, body, ferr := in.fetchOrigin(ctx, note)
		if errors.Is(ferr, errOriginUnreachable) {
			// It was fetched and matched at reception: a failure now is the network, so the worker tries again.
			return nil, ferr
		}
		if ferr != nil {
			return &signingInput{refused: ferr.Error()}, nil
		}
		note, sender = fetched, author
		if evidence, err = in.fetchedEvidence(note.ID, author, body); err != nil {
			return nil, err
		}
	}

	signer := owner
	if sender != row.ActorIRI || !known || owner.Deleted() {
		if signer, err = in.cfg.Actors.Actor(ctx, sender, false); err != nil {
			return nil, fmt.Errorf("signer %s: %w", sender, err)
		}
	}
	author, err := signingActor(signer)
	if err != nil {
		return nil, fmt.Errorf("signer %s: %w", sender, err)
	}
	if act.DirectMessage && sender == row.ActorIRI {
		// Pleroma sets directMessage on the Create too; the stored reply reads it the same way (replyVisibility).
		note.DirectMessage = true
	}
	current, err := in.cfg.Store.CurrentRevisionNumber(ctx)
	if err != nil {
		return nil, fmt.Errorf("current revision: %w", err)
	}
	d, err := signing.Decide(in.cfg.URLs, in.matcher(), signing.Reply{
		Sender: sender, Note: note, Author: author, CurrentRevision: current, ReceivedAt: row.ReceivedAt,
		RevisionPublishedAt: revisionPublished(ctx, in.cfg.Store, signing.RevisionSigned(target, current)),
	})
	switch {
	case errors.Is(err, signing.ErrForged):
		return &signingInput{refused: err.Error()}, nil
	case errors.Is(err, signing.ErrNotOurs):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("decide on %s: %w", note.ID, err)
	}
	return &signingInput{decision: d, signer: signer, evidence: evidence}, nil
}

// revisionPublished is when revision n was published, zero when it cannot be read (the reply's date is then
// only checked against its reception).
func revisionPublished(ctx context.Context, st *storage.Store, n int) time.Time {
	at, err := st.RevisionPublishedAt(ctx, n)
	if err != nil {
		return time.Time{}
	}
	return at
}

// errOriginUnreachable marks a forwarded note that its server did not serve.
var errOriginUnreachable = errors.New("origin did not serve the note")

// fetchOrigin fetches a forwarded note from its own server (a signed GET through the safe client) and requires it
// to match what was forwarded.
func (in *Inbox) fetchOrigin(ctx context.Context, forwarded signing.Note) (signing.Note, []byte, error) {
	author := firstAuthor(forwarded)
	if err := signing.CheckNoteHost(author, forwarded); err != nil {
		return forwarded, nil, err
	}
	body, err := in.cfg.Actors.Client().GetObject(ctx, forwarded.ID)
	if fetch.Refused(err) {
		// Its server answered with something that is not that note (another id, a redirect off its host, not
		// ActivityPub): asking again will not change that.
		return forwarded, nil, fmt.Errorf("%w: forwarded note %s cannot be fetched from its server: %v", signing.ErrForged, forwarded.ID, err)
	}
	if err != nil {
		return forwarded, nil, fmt.Errorf("%w: %w: forwarded note %s cannot be fetched from its server: %v", signing.ErrForged, errOriginUnreachable, forwarded.ID, err)
	}
	fetched, err := signing.ParseNote(body)
	if err != nil {
		return forwarded, nil, fmt.Errorf("%w: forwarded note %s: %v", signing.ErrForged, forwarded.ID, err)
	}
	if err := signing.SameNote(forwarded, fetched); err != nil {
		return forwarded, nil, err
	}
	return fetched, body, nil
}

// checkForwarded runs at reception, so that a forwarded reply that does not hold is refused with a 4xx and not
// stored at all.
func (in *Inbox) checkForwarded(ctx context.Context, act *inbound.Activity) *refusal {
	note, err := signing.ParseNote(act.Object.Inline.Raw)
	if err != nil {
		return &refusal{status: http.StatusBadRequest, reason: err.Error()}
	}
	author := firstAuthor(note)
	if len(note.AttributedTo) != 1 {
		return &refusal{status: http.StatusForbidden, reason: fmt.Sprintf("note %s has %d authors, want one", note.ID, len(note.AttributedTo))}
	}
	blocked, err := in.cfg.Store.IsBlocked(ctx, author, fetch.Host(author))
	if err != nil {
		return &refusal{status: http.StatusServiceUnavailable, reason: "cannot check blocks now, retry later"}
	}
	if blocked {
		return &refusal{status: http.StatusForbidden, reason: "the note's author or their domain is blocked"}
	}
	if _, _, err := in.fetchOrigin(ctx, note); err != nil {
		return &refusal{status: http.StatusForbidden, reason: err.Error()}
	}
	return nil
}

// applySigning stores what prepareSigning decided, in the effects' transaction. It returns a description for the
// inbox result, or "" when the reply is only a comment.
func (in *Inbox) applySigning(ctx context.Context, tx *storage.Tx, act *inbound.Activity, s *signingInput) (string, error) {
	d := s.decision
	if !d.Result.Signature {
		if act.Type != "Update" {
			return "", nil
		}
		id, err := tx.WithdrawSignature(ctx, act.Actor, act.Object.Inline.ID)
		if errors.Is(err, storage.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		if err := in.deleteAcknowledgements(ctx, tx, act.Actor, act.Object.Inline.ID); err != nil {
			return "", err
		}
		return fmt.Sprintf("signature %d withdrawn (phrase removed)", id), nil
	}
	row := d.Record.Row(s.signer.Type, s.evidence)
	id, err := tx.AddSignature(ctx, row)
	if errors.Is(err, storage.ErrAlreadySigned) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	row.ID = id
	if in.cfg.NoAcknowledgement {
		return fmt.Sprintf("signature %d (%s)", id, row.Visibility), nil
	}
	if err := in.queueAcknowledgement(ctx, tx, row, s.signer); err != nil {
		return "", err
	}
	return fmt.Sprintf("signature %d (%s), acknowledgement queued", id, row.Visibility), nil
}

// withdrawBy withdraws the signature a deleted reply carried, if any.
func (in *Inbox) withdrawBy(ctx context.Context, tx *storage.Tx, actorIRI, noteIRI string) (string, error) {
	id, err := tx.WithdrawSignature(ctx, actorIRI, noteIRI)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if err := in.deleteAcknowledgements(ctx, tx, actorIRI, noteIRI); err != nil {
		return "", err
	}
	return fmt.Sprintf("; signature %d withdrawn", id), nil
}

// queueAcknowledgement stores the memo actor's reply to a signer and its delivery to the signer's inbox.
func (in *Inbox) queueAcknowledgement(ctx context.Context, tx *storage.Tx, g storage.Signature, signer storage.RemoteActor) error {
	n, err := signing.Acknowledgement(in.cfg.URLs, g)
	if err != nil {
		return err
	}
	n.PublishedAt = in.cfg.Store.Now()
	if _, err := tx.InsertNote(ctx, n); err != nil {
		return err
	}
	o := as.New(in.cfg.URLs, in.cfg.Store, nil)
	note, err := o.NewNote(n)
	if err != nil {
		return fmt.Errorf("acknowledgement of signature %d: %w", g.ID, err)
	}
	id := o.ActivityIRI(as.CreateNoteName(n.Slug))
	body, err := as.EncodeJSON(as.TopLevel(in.cfg.URLs, map[string]any{
		"id": id, "type": "Create", "actor": in.cfg.URLs.Actor(), "published": note["published"],
		"to": n.To, "cc": n.Cc, "object": note,
	}))
	if err != nil {
		return fmt.Errorf("acknowledgement of signature %d: %w", g.ID, err)
	}
	inbox := signer.Inbox
	if inbox == "" {
		return nil // nowhere to send it; the signature stands anyway
	}
	return tx.InsertActivity(ctx, storage.Activity{
		IRI: id, Type: "Create", ObjectIRI: in.cfg.URLs.Note(n.Slug), Body: strings.TrimSuffix(string(body), "\n"),
		PublishedAt: n.PublishedAt,
	}, []storage.Recipient{{Inbox: inbox, Domain: signer.Domain}})
}

// inboxEvidence rebuilds the signed request from what the inbox kept of it: the signed headers, the body and
// the key.
func inboxEvidence(row storage.InboxActivity, owner storage.RemoteActor, known bool) (string, error) {
	var kept map[string]string
	if err := json.Unmarshal([]byte(row.Headers), &kept); err != nil {
		return "", fmt.Errorf("evidence of %s: headers: %w", row.IRI, err)
	}
	ev := signing.Evidence{Kind: signing.EvidenceInbox, Headers: http.Header{}, Body: []byte(row.Body),
		KeyID: row.KeyID, KeyOwner: row.ActorIRI, ReceivedAt: row.ReceivedAt.UTC(), LDSignature: ldSignatureOf([]byte(row.Body))}
	for name, v := range kept {
		switch name {
		case "(request-target)":
			method, path, _ := strings.Cut(v, " ")
			ev.Method, ev.Path = strings.ToUpper(method), path
		case "host":
			ev.Host = v
			ev.Headers.Set("Host", v)
		case "(origin)":
			ev.Origin = v
		default:
			ev.Headers.Set(http.CanonicalHeaderKey(name), v)
		}
	}
	ev.Scheme = httpsign.SchemeCavage
	if ev.Headers.Get("Signature-Input") != "" {
		ev.Scheme = httpsign.SchemeRFC9421
	}
	if known {
		ev.KeyPEM = owner.PublicKeyPEM
		if row.KeyID != owner.KeyID {
			// An RFC 9421 signature may use an Ed25519 key of the actor's document.
			if pub, kerr := fetch.ActorKey(owner, row.KeyID); kerr == nil {
				ev.KeyPEM, _ = httpsign.PublicKeyPEM(pub)
			}
		}
	}
	return ev.Marshal()
}

// signingActor reads the fields a record keeps from a cached actor, its stored document first.
func signingActor(a storage.RemoteActor) (signing.Actor, error) {
	if a.Raw != "" {
		if doc, err := signing.ParseActor([]byte(a.Raw)); err == nil && doc.IRI == a.IRI {
			return doc, nil
		}
	}
	if a.IRI == "" {
		return signing.Actor{}, errors.New("actor without id")
	}
	return signing.Actor{IRI: a.IRI, Type: a.Type, PreferredUsername: a.Username, Name: a.DisplayName, URL: a.URL}, nil
}

func ldSignatureOf(body []byte) json.RawMessage {
	var m struct {
		Signature json.RawMessage `json:"signature"`
	}
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	return m.Signature
}

func firstAuthor(n signing.Note) string {
	if len(n.AttributedTo) == 0 {
		return ""
	}
	return n.AttributedTo[0]
}
