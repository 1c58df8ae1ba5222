package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// RemoteActor is a fetched remote actor: the cache of its profile, inboxes and key. Raw keeps the document as
// received, since a re-serialised copy would lose what our decoder does not know.
type RemoteActor struct {
	IRI          string        `db:"iri"`
	Type         string        `db:"type"`
	Username     string        `db:"username"`
	Domain       string        `db:"domain"`
	DisplayName  string        `db:"display_name"`
	URL          string        `db:"url"`
	Inbox        string        `db:"inbox"`
	SharedInbox  string        `db:"shared_inbox"`
	KeyID        string        `db:"key_id"`
	PublicKeyPEM string        `db:"public_key_pem"`
	Raw          string        `db:"raw"`
	FetchedMS    int64         `db:"fetched_at"`
	DeletedMS    sql.NullInt64 `db:"deleted_at"`
	FetchedAt    time.Time     `db:"-"`
}

// Deleted tells whether the actor's account is gone (Delete{actor} received).
func (a RemoteActor) Deleted() bool { return a.DeletedMS.Valid }

func (a *RemoteActor) fill() { a.FetchedAt = fromMS(a.FetchedMS) }

const actorCols = `iri, type, username, domain, display_name, url, inbox, shared_inbox, key_id, public_key_pem, raw, fetched_at, deleted_at`

// PutActor inserts or refreshes a cached actor. A fresh copy clears any earlier deletion mark: the server served it
// again, so it exists.
func (s *Store) PutActor(ctx context.Context, a RemoteActor) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return s.PutActorTx(ctx, tx, a) })
}

// PutActorTx is PutActor in the caller's transaction.
func (s *Store) PutActorTx(ctx context.Context, tx *sqlx.Tx, a RemoteActor) error {
	if a.FetchedAt.IsZero() {
		a.FetchedAt = s.now()
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO actors (iri, type, username, domain, display_name, url, inbox, shared_inbox, key_id, public_key_pem, raw, fetched_at, deleted_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
ON CONFLICT (iri) DO UPDATE SET type = excluded.type, username = excluded.username, domain = excluded.domain,
 display_name = excluded.display_name, url = excluded.url, inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,
 key_id = excluded.key_id, public_key_pem = excluded.public_key_pem, raw = excluded.raw, fetched_at = excluded.fetched_at,
 deleted_at = NULL`),
		a.IRI, a.Type, a.Username, a.Domain, a.DisplayName, a.URL, a.Inbox, a.SharedInbox, a.KeyID, a.PublicKeyPEM, a.Raw, ms(a.FetchedAt))
	if err != nil {
		return fmt.Errorf("store actor %s: %w", a.IRI, err)
	}
	return nil
}

// Actor returns a cached actor by IRI, deleted or not.
func (s *Store) Actor(ctx context.Context, iri string) (RemoteActor, error) {
	return s.actorWhere(ctx, `iri = ?`, iri)
}

// ActorByKeyID returns the cached actor that published the key keyID.
func (s *Store) ActorByKeyID(ctx context.Context, keyID string) (RemoteActor, error) {
	return s.actorWhere(ctx, `key_id = ?`, keyID)
}

func (s *Store) actorWhere(ctx context.Context, where string, arg string) (RemoteActor, error) {
	var a RemoteActor
	if err := getRow(ctx, s.db, &a, "actor "+arg, s.rebind(`SELECT `+actorCols+` FROM actors WHERE `+where+` LIMIT 1`), arg); err != nil {
		return a, err
	}
	a.fill()
	return a, nil
}

// MarkActorDeletedTx records that an actor's account is gone: its cached key is dropped (nothing it signs later can
// verify against the cache), it stops following us, and its likes and boosts stop counting.
func (s *Store) MarkActorDeletedTx(ctx context.Context, tx *sqlx.Tx, iri string) error {
	now := ms(s.now())
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE actors SET deleted_at = ?, public_key_pem = '', raw = '' WHERE iri = ?`), now, iri); err != nil {
		return fmt.Errorf("mark actor %s deleted: %w", iri, err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM followers WHERE actor_iri = ?`), iri); err != nil {
		return fmt.Errorf("remove deleted follower %s: %w", iri, err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM interactions WHERE actor_iri = ?`), iri); err != nil {
		return fmt.Errorf("remove interactions of deleted %s: %w", iri, err)
	}
	return nil
}

// CountActors counts the cached actors.
func (s *Store) CountActors(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM actors`); err != nil {
		return 0, fmt.Errorf("count actors: %w", err)
	}
	return n, nil
}
