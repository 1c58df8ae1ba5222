package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Signatures: one row per actor (actor_iri is unique). A row stands while withdrawn_at is NULL and status is not
// 'hidden' (status is 'active' or 'hidden'; hiding is a moderator's act, withdrawing the signer's, and the two are
// independent). visibility keeps the reply's addressing: 'public', 'unlisted', 'followers' or 'direct'; only the
// first two are listed by name (listedWhere).
//
// Numbering: a signature's number is its id. Signing again after a withdrawal re-activates the same row, so the
// signer keeps their first number and place in the list; the new reply, text, revision, visibility, time and
// evidence replace the old ones.

// ErrAlreadySigned means the actor has a standing (or hidden) signature: the new reply is a comment, not a
// second signature.
var ErrAlreadySigned = errors.New("actor has already signed")

// Signature is a whole signatures row.
type Signature struct {
	ID          int64         `db:"id"`
	ActorIRI    string        `db:"actor_iri"`
	ActorType   string        `db:"actor_type"` // the ActivityPub type: Person, Organization, Group, Service…
	Handle      string        `db:"handle"`
	DisplayName string        `db:"display_name"`
	Domain      string        `db:"domain"`
	ProfileURL  string        `db:"profile_url"`
	NoteIRI     string        `db:"note_iri"`
	InReplyTo   string        `db:"in_reply_to"`
	Content     string        `db:"content"` // plain text; templates escape it
	Revision    int           `db:"revision"`
	Visibility  string        `db:"visibility"`
	Status      string        `db:"status"`
	ViaCopy     string        `db:"via_copy"`
	Evidence    string        `db:"evidence"` // JSON, see federation/signing.Evidence
	SignedMS    int64         `db:"signed_at"`
	WithdrawnMS sql.NullInt64 `db:"withdrawn_at"`
	SignedAt    time.Time     `db:"-"` // the date shown: the reply's published date when plausible, else ReceivedAt
	WithdrawnAt time.Time     `db:"-"` // zero while it stands
	// ReceivedAt is when this server received the reply (zero when not read, as in lists).
	ReceivedAt time.Time `db:"-"`
	ReceivedMS int64     `db:"received_at"`
	// The last re-check of its note (migration 0011); read by SignatureByID and the re-check queries only.
	CheckedMS     int64     `db:"checked_at"`
	CheckResult   string    `db:"check_result"`
	CheckFailures int       `db:"check_failures"`
	NextCheckMS   int64     `db:"next_check_at"`
	CheckedAt     time.Time `db:"-"` // zero when never re-checked

	// MovedFrom is the account that wrote the note when the signature was carried over by a Move (migration 0018).
	MovedFrom string `db:"moved_from"`
}

// Signature statuses.
const (
	SignatureActive = "active"
	SignatureHidden = "hidden"
)

// Listed tells whether the signature may be shown by name (its reply was public or unlisted).
func (g Signature) Listed() bool { return g.Visibility == "public" || g.Visibility == "unlisted" }

// Standing tells whether the signature counts: not withdrawn, not hidden.
func (g Signature) Standing() bool { return !g.WithdrawnMS.Valid && g.Status != SignatureHidden }

// Organisation tells whether the signer speaks for a group rather than as a person.
func (g Signature) Organisation() bool {
	switch g.ActorType {
	case "Organization", "Group", "Service":
		return true
	}
	return false
}

func (g *Signature) fill() {
	g.SignedAt = fromMS(g.SignedMS)
	g.WithdrawnAt = fromNullMS(g.WithdrawnMS)
	g.ReceivedAt, g.CheckedAt = msOrZero(g.ReceivedMS), msOrZero(g.CheckedMS)
}

func msOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMS(v)
}

const signatureCols = `id, actor_iri, actor_type, handle, display_name, domain, profile_url, note_iri, in_reply_to, content, revision, visibility, status, via_copy, evidence, signed_at, withdrawn_at, moved_from, ` + signatureCheckCols

// signatureCheckCols are the dates and the re-check state (migration 0011).
const signatureCheckCols = `received_at, checked_at, check_result, check_failures, next_check_at`

// AddSignature stores a new signature and returns its row. When the actor signed before and withdrew, the same
// row is re-activated with the new reply (and keeps its number). When the actor has a signature that stands or
// is hidden, it returns ErrAlreadySigned and changes nothing.
func (s *Store) AddSignature(ctx context.Context, g Signature) (Signature, error) {
	var id int64
	err := s.InTx(ctx, func(t *Tx) error {
		var err error
		id, err = t.AddSignature(ctx, g)
		return err
	})
	if err != nil {
		return Signature{}, err
	}
	return s.SignatureByID(ctx, id)
}

// AddSignature is Store.AddSignature inside a transaction (the inbox records the reply, the signature and
// the acknowledgement together). It returns the signature's id.
func (t *Tx) AddSignature(ctx context.Context, g Signature) (int64, error) {
	if g.ActorIRI == "" || g.NoteIRI == "" || g.Handle == "" || g.Domain == "" || g.Revision < 1 {
		return 0, fmt.Errorf("add signature: actor, note, handle, domain and revision are required")
	}
	switch g.Visibility {
	case "public", "unlisted", "followers", "direct":
	default:
		return 0, fmt.Errorf("add signature: visibility %q: want public, unlisted, followers or direct", g.Visibility)
	}
	if g.ReceivedAt.IsZero() {
		g.ReceivedAt = g.SignedAt
	}
	if g.ReceivedAt.IsZero() {
		g.ReceivedAt = t.s.now()
	}
	if g.SignedAt.IsZero() {
		g.SignedAt = g.ReceivedAt
	}
	// The reply was read at reception: its first re-check is due a period later.
	nextCheck := ms(g.ReceivedAt.Add(SignatureRecheckDue))
	search := searchTextOf(g)
	res, err := t.tx.ExecContext(ctx, t.tx.Rebind(`INSERT INTO signatures (actor_iri, actor_type, handle, display_name, domain, profile_url, note_iri, in_reply_to, content, revision, visibility, status, via_copy, evidence, signed_at, search_text, received_at, next_check_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?) ON CONFLICT (actor_iri) DO NOTHING`),
		g.ActorIRI, g.ActorType, g.Handle, g.DisplayName, g.Domain, g.ProfileURL, g.NoteIRI, g.InReplyTo, g.Content,
		g.Revision, g.Visibility, g.ViaCopy, g.Evidence, ms(g.SignedAt), search, ms(g.ReceivedAt), nextCheck)
	if err != nil {
		return 0, fmt.Errorf("add signature of %s: %w", g.ActorIRI, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// The actor has a row: re-activate it if it was withdrawn, else this reply is a comment.
		res, err = t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE signatures SET actor_type = ?, handle = ?, display_name = ?, domain = ?, profile_url = ?,
			note_iri = ?, in_reply_to = ?, content = ?, revision = ?, visibility = ?, via_copy = ?, evidence = ?, signed_at = ?, search_text = ?, withdrawn_at = NULL,
			received_at = ?, next_check_at = ?, check_failures = 0
			WHERE actor_iri = ? AND withdrawn_at IS NOT NULL`),
			g.ActorType, g.Handle, g.DisplayName, g.Domain, g.ProfileURL, g.NoteIRI, g.InReplyTo, g.Content, g.Revision,
			g.Visibility, g.ViaCopy, g.Evidence, ms(g.SignedAt), search, ms(g.ReceivedAt), nextCheck, g.ActorIRI)
		if err != nil {
			return 0, fmt.Errorf("re-sign %s: %w", g.ActorIRI, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return 0, ErrAlreadySigned
		}
	}
	if err := t.addSearchWords(ctx, search); err != nil {
		return 0, err
	}
	var id int64
	if err := t.tx.GetContext(ctx, &id, t.tx.Rebind(`SELECT id FROM signatures WHERE actor_iri = ?`), g.ActorIRI); err != nil {
		return 0, fmt.Errorf("read signature id of %s: %w", g.ActorIRI, err)
	}
	return id, nil
}

// SignatureByID returns a whole row, evidence included, whatever its state.
func (s *Store) SignatureByID(ctx context.Context, id int64) (Signature, error) {
	return s.signatureWhere(ctx, `id = ?`, id)
}

// SignatureByNote returns the signature carried by a reply, whatever its state.
func (s *Store) SignatureByNote(ctx context.Context, noteIRI string) (Signature, error) {
	return s.signatureWhere(ctx, `note_iri = ?`, noteIRI)
}

func (s *Store) signatureWhere(ctx context.Context, where string, arg any) (Signature, error) {
	var g Signature
	if err := getRow(ctx, s.db, &g, fmt.Sprintf("signature where %s %v", where, arg), s.rebind(`SELECT `+signatureCols+` FROM signatures WHERE `+where), arg); err != nil {
		return g, err
	}
	g.fill()
	return g, nil
}

// WithdrawSignature withdraws the standing signature carried by noteIRI, which actorIRI wrote (a Delete of the
// reply, or an Update that removed the phrase). ErrNotFound when there is none to withdraw.
func (s *Store) WithdrawSignature(ctx context.Context, actorIRI, noteIRI string) (Signature, error) {
	var id int64
	err := s.InTx(ctx, func(t *Tx) error {
		var err error
		id, err = t.WithdrawSignature(ctx, actorIRI, noteIRI)
		return err
	})
	if err != nil {
		return Signature{}, err
	}
	return s.SignatureByID(ctx, id)
}

// WithdrawSignature is Store.WithdrawSignature in a transaction; it returns the signature's id.
func (t *Tx) WithdrawSignature(ctx context.Context, actorIRI, noteIRI string) (int64, error) {
	var id int64
	if err := getRow(ctx, t.tx, &id, "find signature "+noteIRI, t.tx.Rebind(`SELECT id FROM signatures WHERE note_iri = ? AND actor_iri = ? AND withdrawn_at IS NULL`), noteIRI, actorIRI); err != nil {
		return 0, err
	}
	if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE signatures SET withdrawn_at = ? WHERE id = ?`), ms(t.s.now()), id); err != nil {
		return 0, fmt.Errorf("withdraw signature %d: %w", id, err)
	}
	return id, nil
}

// EraseSignature deletes the actor's signature row entirely (the actor was deleted) and returns the IRI of the
// reply that carried it, "" when there was none.
func (t *Tx) EraseSignature(ctx context.Context, actorIRI string) (string, error) {
	var notes []string
	if err := t.tx.SelectContext(ctx, &notes, t.tx.Rebind(`DELETE FROM signatures WHERE actor_iri = ? RETURNING note_iri`), actorIRI); err != nil {
		return "", fmt.Errorf("erase signature of %s: %w", actorIRI, err)
	}
	if len(notes) == 0 {
		return "", nil
	}
	return notes[0], nil
}

// SetSignatureHidden hides a signature from lists and counts, or shows it again. ErrNotFound for an unknown id.
func (s *Store) SetSignatureHidden(ctx context.Context, id int64, hidden bool) error {
	status := SignatureActive
	if hidden {
		status = SignatureHidden
	}
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE signatures SET status = ? WHERE id = ?`), status, id)
	if err != nil {
		return fmt.Errorf("set signature %d %s: %w", id, status, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// NoteAuthor is the account that wrote the signature's note: the signer, or the account it moved from.
func (g Signature) NoteAuthor() string {
	if g.MovedFrom != "" {
		return g.MovedFrom
	}
	return g.ActorIRI
}

// Outcomes of MoveSignature other than success.
var (
	// ErrTargetSigned: the account moved to has a signature of its own; nothing is carried over (see
	// MoveSignature for which one stands).
	ErrTargetSigned = errors.New("the new account has a signature of its own")
	// ErrMovedBefore: the signature was carried over by a Move already; it is carried over once.
	ErrMovedBefore = errors.New("the signature was carried over by a Move already")
)

// Moved is what MoveSignature did: the signature that stands for the signer (its id), and the one withdrawn
// because the signer had two (0 for none).
type Moved struct {
	ID, Withdrawn int64
}

// MoveSignature carries from's signature over to the account to, which its signer moved to: the same row, so
// the number, the note, the evidence and the state are kept; the actor and what is shown of it become to's, and
// moved_from keeps from (the note's author). ErrNotFound when from has no signature, ErrMovedBefore when from's
// signature was carried over already. ErrTargetSigned when to has a signature of its own: nothing is carried over,
// and if both stand, the signer has signed twice and the older (the lower number) is kept, the newer withdrawn.
func (t *Tx) MoveSignature(ctx context.Context, from string, to Signature) (Moved, error) {
	var g Signature
	if err := getRow(ctx, t.tx, &g, "signature of "+from, t.tx.Rebind(`SELECT id, moved_from, withdrawn_at FROM signatures WHERE actor_iri = ?`), from); err != nil {
		return Moved{}, err
	}
	if g.MovedFrom != "" {
		return Moved{ID: g.ID}, ErrMovedBefore
	}
	var other Signature
	err := getRow(ctx, t.tx, &other, "signature of "+to.ActorIRI, t.tx.Rebind(`SELECT id, withdrawn_at FROM signatures WHERE actor_iri = ?`), to.ActorIRI)
	if err == nil {
		kept, newer := g, other
		if other.ID < g.ID {
			kept, newer = other, g
		}
		if g.WithdrawnMS.Valid || other.WithdrawnMS.Valid {
			// Only one stands (or none): it stays the signer's signature.
			if g.WithdrawnMS.Valid {
				return Moved{ID: other.ID}, ErrTargetSigned
			}
			return Moved{ID: g.ID}, ErrTargetSigned
		}
		if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE signatures SET withdrawn_at = ? WHERE id = ?`), ms(t.s.now()), newer.ID); err != nil {
			return Moved{}, fmt.Errorf("withdraw signature %d: %w", newer.ID, err)
		}
		return Moved{ID: kept.ID, Withdrawn: newer.ID}, ErrTargetSigned
	}
	if !errors.Is(err, ErrNotFound) {
		return Moved{}, err
	}
	if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE signatures SET actor_iri = ?, actor_type = ?, handle = ?, display_name = ?, domain = ?, profile_url = ?, search_text = ?, moved_from = ? WHERE id = ?`),
		to.ActorIRI, to.ActorType, to.Handle, to.DisplayName, to.Domain, to.ProfileURL, searchTextOf(to), from, g.ID); err != nil {
		return Moved{}, fmt.Errorf("move signature %d to %s: %w", g.ID, to.ActorIRI, err)
	}
	return Moved{ID: g.ID}, nil
}
