package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/memo-fediverse/memo/content"
)

// Self-hosted copies, from both sides. On the origin, the copies table lists the copies whose relays it accepted
// (and whether one is blocked); signatures a copy brought carry its actor in via_copy. On a copy, the meta table
// names its origin, and signatures carry relayed_at / unrelayed_at once their Add / Remove is queued.

// Copy is a copy as the origin knows it.
type Copy struct {
	ActorIRI string    `db:"actor_iri"`
	Domain   string    `db:"domain"`
	Inbox    string    `db:"inbox"`
	SinceMS  int64     `db:"since"`
	Blocked  bool      `db:"blocked"`
	Since    time.Time `db:"-"`
	// Signatures counts the standing signatures it brought (hidden ones are not standing).
	Signatures int `db:"signatures"`
}

// Meta keys a copy keeps about its origin.
const (
	MetaCopyOf         = "copy_of"          // the origin's actor IRI
	MetaOriginTotal    = "origin_total"     // the origin's signature count, as last fetched
	MetaOriginSyncedAt = "origin_synced_at" // Unix ms of the last complete sync
)

// AddCopy records a copy the first time one of its relays is accepted; since keeps the first date.
func (s *Store) AddCopy(ctx context.Context, c Copy) error {
	if c.ActorIRI == "" || c.Domain == "" {
		return errors.New("add copy: actor and domain are required")
	}
	d, err := content.CanonicalHost("", c.Domain)
	if err != nil {
		return fmt.Errorf("add copy %s: %w", c.ActorIRI, err)
	}
	c.Domain = d
	if c.Since.IsZero() {
		c.Since = s.now()
	}
	_, err = s.db.ExecContext(ctx, s.rebind(`INSERT INTO copies (actor_iri, domain, inbox, since, blocked) VALUES (?, ?, ?, ?, FALSE)
		ON CONFLICT (actor_iri) DO UPDATE SET inbox = excluded.inbox`), c.ActorIRI, c.Domain, c.Inbox, ms(c.Since))
	if err != nil {
		return fmt.Errorf("add copy %s: %w", c.ActorIRI, err)
	}
	return nil
}

const copyCols = `c.actor_iri, c.domain, c.inbox, c.since, c.blocked,
	(SELECT COUNT(*) FROM signatures g WHERE g.via_copy = c.actor_iri AND g.withdrawn_at IS NULL AND g.status <> 'hidden') AS signatures`

// Copies lists the known copies, oldest first.
func (s *Store) Copies(ctx context.Context) ([]Copy, error) {
	var out []Copy
	if err := s.db.SelectContext(ctx, &out, `SELECT `+copyCols+` FROM copies c ORDER BY c.since, c.actor_iri`); err != nil {
		return nil, fmt.Errorf("list copies: %w", err)
	}
	for i := range out {
		out[i].Since = fromMS(out[i].SinceMS)
	}
	return out, nil
}

// BlockCopies blocks every copy on domain, or unblocks them: a blocked copy's relays are refused and the standing
// signatures it brought are hidden; unblocking shows them again (a hide by a moderator is not told apart from one
// by the block). It returns how many copies and signatures changed. An unknown domain is recorded as a blocked
// copy, so that a copy can be refused before its first relay.
func (s *Store) BlockCopies(ctx context.Context, domain string, blocked bool) (copies, signatures int64, err error) {
	if domain == "" {
		return 0, 0, errors.New("block copy: the domain is required")
	}
	if domain, err = content.CanonicalHost("", domain); err != nil {
		return 0, 0, fmt.Errorf("block copy: %w", err)
	}
	err = s.InTx(ctx, func(t *Tx) error {
		res, err := t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE copies SET blocked = ? WHERE domain = ?`), blocked, domain)
		if err != nil {
			return fmt.Errorf("block copies of %s: %w", domain, err)
		}
		copies, _ = res.RowsAffected()
		if copies == 0 && blocked {
			if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(`INSERT INTO copies (actor_iri, domain, inbox, since, blocked) VALUES (?, ?, '', ?, TRUE)`),
				"domain:"+domain, domain, ms(s.now())); err != nil {
				return fmt.Errorf("block copies of %s: %w", domain, err)
			}
			copies = 1
		}
		from, to := SignatureActive, SignatureHidden
		if !blocked {
			from, to = to, from
		}
		res, err = t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE signatures SET status = ? WHERE status = ? AND withdrawn_at IS NULL AND via_copy IN (SELECT actor_iri FROM copies WHERE domain = ?)`), to, from, domain)
		if err != nil {
			return fmt.Errorf("hide signatures of the copies of %s: %w", domain, err)
		}
		signatures, _ = res.RowsAffected()
		return nil
	})
	return copies, signatures, err
}

// CopyBlocked tells whether the copy actorIRI, or any copy on its domain, is blocked.
func (s *Store) CopyBlocked(ctx context.Context, actorIRI, domain string) (bool, error) {
	if d, err := content.CanonicalHost("", domain); err == nil {
		domain = d
	}
	var n int
	err := s.db.GetContext(ctx, &n, s.rebind(`SELECT COUNT(*) FROM copies WHERE blocked AND (actor_iri = ? OR domain = ?)`), actorIRI, domain)
	if err != nil {
		return false, fmt.Errorf("check copy block of %s: %w", actorIRI, err)
	}
	return n > 0, nil
}

// ImportRevision stores a revision under the number the origin gave it, replacing what a copy holds under that
// number (the copy's seeded revision 1 is the shipped text; the origin's may differ).
func (s *Store) ImportRevision(ctx context.Context, rev Revision) error {
	if rev.Number < 1 {
		return fmt.Errorf("import revision: number %d", rev.Number)
	}
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO revisions (`+revisionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (number) DO UPDATE SET title = excluded.title, summary = excluded.summary, markdown = excluded.markdown,
		html = excluded.html, changelog = excluded.changelog, published_at = excluded.published_at`),
		rev.Number, rev.Title, rev.Summary, rev.Markdown, rev.HTML, rev.Changelog, ms(rev.PublishedAt))
	if err != nil {
		return fmt.Errorf("import revision %d: %w", rev.Number, err)
	}
	return nil
}

// SignatureRelay is what a copy needs to relay one of its signatures.
type SignatureRelay struct {
	ID       int64  `db:"id"`
	ActorIRI string `db:"actor_iri"`
	NoteIRI  string `db:"note_iri"`
}

// SignaturesToRelay lists the copy's own standing signatures not relayed yet (withdraw=false), or its relayed
// signatures withdrawn since and whose withdrawal is not relayed yet (withdraw=true). Private signatures are
// relayed too: the origin fetches the reply itself, and counts it only if the signer's server lets it.
func (s *Store) SignaturesToRelay(ctx context.Context, withdraw bool, limit int) ([]SignatureRelay, error) {
	where := `via_copy = '' AND relayed_at IS NULL AND withdrawn_at IS NULL AND status <> 'hidden'`
	if withdraw {
		where = `via_copy = '' AND relayed_at IS NOT NULL AND unrelayed_at IS NULL AND withdrawn_at IS NOT NULL`
	}
	var out []SignatureRelay
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT id, actor_iri, note_iri FROM signatures WHERE `+where+` ORDER BY id LIMIT ?`), limit); err != nil {
		return nil, fmt.Errorf("signatures to relay: %w", err)
	}
	return out, nil
}

// MarkRelayed records, in the transaction that queues the relay, that signature id's Add (or Remove) is
// queued. It returns false when another worker did it first, and then the caller must roll back.
func (t *Tx) MarkRelayed(ctx context.Context, id int64, withdraw bool) (bool, error) {
	q := `UPDATE signatures SET relayed_at = ? WHERE id = ? AND relayed_at IS NULL`
	if withdraw {
		q = `UPDATE signatures SET unrelayed_at = ? WHERE id = ? AND unrelayed_at IS NULL`
	}
	res, err := t.tx.ExecContext(ctx, t.tx.Rebind(q), ms(t.s.now()), id)
	if err != nil {
		return false, fmt.Errorf("mark signature %d relayed: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UnconfirmedRelays counts the copy's standing signatures the origin has not confirmed yet: not relayed, or
// whose relay is still in the queue. The copy adds them to the origin's count to show the network total. A relay's
// activity IRI is relayPrefix followed by the signature's id; delivered rows are pruned after days, and a missing
// row then means delivered.
func (s *Store) UnconfirmedRelays(ctx context.Context, relayPrefix string) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.rebind(`SELECT COUNT(*) FROM signatures g
		WHERE g.via_copy = '' AND g.withdrawn_at IS NULL AND g.status <> 'hidden' AND (g.relayed_at IS NULL OR EXISTS (
			SELECT 1 FROM deliveries d WHERE d.activity_iri = ? || CAST(g.id AS TEXT) AND d.state <> 'delivered'))`), relayPrefix)
	if err != nil {
		return 0, fmt.Errorf("unconfirmed relays: %w", err)
	}
	return n, nil
}

// RelayAddPrefix is what the IRI of every relay Add a copy sends starts with, before the signature's id.
func RelayAddPrefix(base string) string { return base + "/activities/relay-add-" }

// LatestFromActor is the reception time (Unix ms) of the newest activity received from actorIRI, 0 if none.
func (s *Store) LatestFromActor(ctx context.Context, actorIRI string) (int64, error) {
	var v sql.NullInt64
	if err := s.db.GetContext(ctx, &v, s.rebind(`SELECT MAX(received_at) FROM inbox_activities WHERE actor_iri = ?`), actorIRI); err != nil {
		return 0, fmt.Errorf("latest activity of %s: %w", actorIRI, err)
	}
	return v.Int64, nil
}

// RelayedSignatures lists, by id after afterID, the standing signatures copies brought, for the origin's
// periodic re-check of their replies.
func (s *Store) RelayedSignatures(ctx context.Context, afterID int64, limit int) ([]SignatureRelay, error) {
	var out []SignatureRelay
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT id, actor_iri, note_iri FROM signatures
		WHERE via_copy <> '' AND withdrawn_at IS NULL AND id > ? ORDER BY id LIMIT ?`), afterID, limit); err != nil {
		return nil, fmt.Errorf("relayed signatures: %w", err)
	}
	return out, nil
}

// HasPendingFollow tells whether a Follow from actorIRI was received and its effects are not applied yet: a copy's
// first relay may arrive right behind its Follow.
func (s *Store) HasPendingFollow(ctx context.Context, actorIRI string) (bool, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, s.rebind(`SELECT COUNT(*) FROM inbox_activities WHERE actor_iri = ? AND type = 'Follow' AND processed_at IS NULL`), actorIRI); err != nil {
		return false, fmt.Errorf("pending follow of %s: %w", actorIRI, err)
	}
	return n > 0, nil
}
