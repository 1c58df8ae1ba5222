package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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
	return s.InTx(ctx, func(t *Tx) error { return t.PutActor(ctx, a) })
}

// ErrKeyTaken means an actor names as its key a key id that another cached actor holds: one row per key id, and
// the key's legitimate owner keeps it (see keyHolder).
var ErrKeyTaken = errors.New("key id belongs to another actor")

// PutActor is Store.PutActor in the caller's transaction. A key id held by another actor is refused (ErrKeyTaken)
// and nothing is stored, unless the other actor's claim is the weaker one, which then loses the key.
func (t *Tx) PutActor(ctx context.Context, a RemoteActor) error {
	if a.FetchedAt.IsZero() {
		a.FetchedAt = t.s.now()
	}
	if a.KeyID != "" {
		holder, weaker, err := t.s.keyHolder(ctx, t.tx, a.IRI, a.KeyID)
		if err != nil {
			return err
		}
		if holder != "" && !weaker {
			return fmt.Errorf("store actor %s: key %s is %s's: %w", a.IRI, a.KeyID, holder, ErrKeyTaken)
		}
		if holder != "" {
			if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE actors SET key_id = '', public_key_pem = '' WHERE iri = ?`), holder); err != nil {
				return fmt.Errorf("store actor %s: release key %s from %s: %w", a.IRI, a.KeyID, holder, err)
			}
		}
	}
	_, err := t.tx.ExecContext(ctx, t.tx.Rebind(`INSERT INTO actors (iri, type, username, domain, display_name, url, inbox, shared_inbox, key_id, public_key_pem, raw, fetched_at, deleted_at)
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

// KeyHolder returns the cached actor other than iri that holds keyID and keeps it against iri's claim, or "" when
// iri may take that key id (nobody else holds it, or the holder's claim is the weaker one).
func (s *Store) KeyHolder(ctx context.Context, iri, keyID string) (string, error) {
	h, weaker, err := s.keyHolder(ctx, s.db, iri, keyID)
	if err != nil || weaker {
		return "", err
	}
	return h, nil
}

// keyHolder finds the actor other than iri that holds keyID; weaker tells that its claim yields to iri's: it is
// deleted, or iri's claim is under iri's own IRI (iri#main-key, iri/main-key, as servers name keys) and its is
// not. Otherwise the actor that holds the key keeps it: first come, on the same host only (keys and actors are on
// one host, checked before), so a stranger can never take a key this way.
func (s *Store) keyHolder(ctx context.Context, q querier, iri, keyID string) (holder string, weaker bool, err error) {
	var rows []struct {
		IRI       string        `db:"iri"`
		DeletedMS sql.NullInt64 `db:"deleted_at"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, s.rebind(`SELECT iri, deleted_at FROM actors WHERE key_id = ? AND iri <> ?`), keyID, iri); err != nil {
		return "", false, fmt.Errorf("holder of key %s: %w", keyID, err)
	}
	if len(rows) == 0 {
		return "", false, nil
	}
	h := rows[0]
	return h.IRI, h.DeletedMS.Valid || (KeyUnder(iri, keyID) && !KeyUnder(h.IRI, keyID)), nil
}

// KeyUnder tells whether keyID is named under the actor's own IRI: the IRI itself with a fragment (Mastodon's
// #main-key) or a path below it (GoToSocial's /main-key).
func KeyUnder(iri, keyID string) bool {
	k, _, _ := strings.Cut(keyID, "#")
	return iri != "" && (k == iri || strings.HasPrefix(k, iri+"/"))
}

// ActorByKeyID returns the cached actor that published the key keyID.
func (s *Store) ActorByKeyID(ctx context.Context, keyID string) (RemoteActor, error) {
	return s.actorWhere(ctx, `key_id = ?`, keyID)
}

// KeyCandidates reads in one query what ActorByKeyID(keyID) and Actor(docIRI) would: the cached actor that
// published keyID, and the cached actor whose document is docIRI ("" for none). Either is nil when not cached.
// A first contact finds neither, and cost the inbox two reads before its key was fetched.
func (s *Store) KeyCandidates(ctx context.Context, keyID, docIRI string) (byKey, byDoc *RemoteActor, err error) {
	var rows []struct {
		RemoteActor
		ByKey bool `db:"by_key"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.rebind(`SELECT `+actorCols+`, (key_id = ? AND key_id <> '') AS by_key FROM actors
WHERE (key_id = ? AND key_id <> '') OR iri = ? LIMIT 2`), keyID, keyID, docIRI); err != nil {
		return nil, nil, fmt.Errorf("actors for key %s: %w", keyID, err)
	}
	for i := range rows {
		a := rows[i].RemoteActor
		a.fill()
		if rows[i].ByKey && byKey == nil {
			byKey = &a
		}
		if docIRI != "" && a.IRI == docIRI {
			byDoc = &a
		}
	}
	return byKey, byDoc, nil
}

func (s *Store) actorWhere(ctx context.Context, where string, arg string) (RemoteActor, error) {
	return actorWhere(ctx, s.db, where, arg)
}

// Actor is Store.Actor in a transaction.
func (t *Tx) Actor(ctx context.Context, iri string) (RemoteActor, error) {
	return actorWhere(ctx, t.tx, `iri = ?`, iri)
}

func actorWhere(ctx context.Context, q querier, where string, arg string) (RemoteActor, error) {
	var a RemoteActor
	if err := getRow(ctx, q, &a, "actor "+arg, q.Rebind(`SELECT `+actorCols+` FROM actors WHERE `+where+` LIMIT 1`), arg); err != nil {
		return a, err
	}
	a.fill()
	return a, nil
}

// MarkActorDeleted records that an actor's account is gone: its cached key is dropped (nothing it signs later can
// verify against the cache), it stops following us, and its likes and boosts stop counting.
func (t *Tx) MarkActorDeleted(ctx context.Context, iri string) error {
	now := ms(t.s.now())
	if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE actors SET deleted_at = ?, public_key_pem = '', raw = '' WHERE iri = ?`), now, iri); err != nil {
		return fmt.Errorf("mark actor %s deleted: %w", iri, err)
	}
	if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(`DELETE FROM followers WHERE actor_iri = ?`), iri); err != nil {
		return fmt.Errorf("remove deleted follower %s: %w", iri, err)
	}
	if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(`DELETE FROM interactions WHERE actor_iri = ?`), iri); err != nil {
		return fmt.Errorf("remove interactions of deleted %s: %w", iri, err)
	}
	return nil
}
