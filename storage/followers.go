package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/content"
)

// Follower is a remote actor following ours, with where to deliver to it.
type Follower struct {
	ActorIRI    string    `db:"actor_iri"`
	FollowIRI   string    `db:"follow_iri"`
	Inbox       string    `db:"inbox"`
	SharedInbox string    `db:"shared_inbox"`
	Domain      string    `db:"domain"`
	CreatedMS   int64     `db:"created_at"`
	CreatedAt   time.Time `db:"-"`
}

// Cursor is the opaque position after f in FollowersPage.
func (f Follower) Cursor() string { return strconv.FormatInt(f.CreatedMS, 10) + "," + f.ActorIRI }

const followerCols = `actor_iri, follow_iri, inbox, shared_inbox, domain, created_at`

// AddFollower stores a follower. Following again (a new Follow id) keeps the original date, so the follower keeps
// its place in the collection, and records the latest Follow id, the one a later Undo names.
func (t *Tx) AddFollower(ctx context.Context, f Follower) error {
	if f.CreatedAt.IsZero() {
		f.CreatedAt = t.s.now()
	}
	_, err := t.tx.ExecContext(ctx, t.tx.Rebind(`INSERT INTO followers (actor_iri, follow_iri, inbox, shared_inbox, domain, created_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (actor_iri) DO UPDATE SET follow_iri = excluded.follow_iri, inbox = excluded.inbox, shared_inbox = excluded.shared_inbox, domain = excluded.domain`),
		f.ActorIRI, f.FollowIRI, f.Inbox, f.SharedInbox, f.Domain, ms(f.CreatedAt))
	if err != nil {
		return fmt.Errorf("add follower %s: %w", f.ActorIRI, err)
	}
	return nil
}

// RemoveFollower removes actorIRI from the followers; when followIRI is not empty, only if that is the Follow
// it followed with (an old Undo must not cancel a newer Follow). It reports whether a row went.
func (t *Tx) RemoveFollower(ctx context.Context, actorIRI, followIRI string) (bool, error) {
	q, args := `DELETE FROM followers WHERE actor_iri = ?`, []any{actorIRI}
	if followIRI != "" {
		q, args = q+` AND follow_iri = ?`, append(args, followIRI)
	}
	res, err := t.tx.ExecContext(ctx, t.tx.Rebind(q), args...)
	if err != nil {
		return false, fmt.Errorf("remove follower %s: %w", actorIRI, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Follower returns one follower.
func (s *Store) Follower(ctx context.Context, actorIRI string) (Follower, error) {
	var f Follower
	if err := getRow(ctx, s.db, &f, "follower "+actorIRI, s.rebind(`SELECT `+followerCols+` FROM followers WHERE actor_iri = ?`), actorIRI); err != nil {
		return f, err
	}
	f.CreatedAt = fromMS(f.CreatedMS)
	return f, nil
}

// FollowersCount is the followers collection's totalItems.
func (s *Store) FollowersCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM followers`); err != nil {
		return 0, fmt.Errorf("count followers: %w", err)
	}
	return n, nil
}

// FollowersOn returns the followers whose IRI is origin (scheme://host[:port]) or under it: FEP-8fcf's partial
// followers collection for the server at origin. It reads the followers of origin's host through their index (the
// delivery worker asks once per delivery) and keeps those on origin's scheme and port.
func (s *Store) FollowersOn(ctx context.Context, origin string) ([]string, error) {
	host := content.URLHost(origin)
	if host == "" {
		return []string{}, nil
	}
	var onHost []string
	if err := s.db.SelectContext(ctx, &onHost, s.rebind(`SELECT actor_iri FROM followers WHERE domain = ? ORDER BY actor_iri`), host); err != nil {
		return nil, fmt.Errorf("followers on %s: %w", origin, err)
	}
	out := []string{}
	for _, iri := range onHost {
		if iri == origin || strings.HasPrefix(iri, origin+"/") {
			out = append(out, iri)
		}
	}
	return out, nil
}

// FollowsOrSigned tells whether the actor follows us or has a signature row, whatever its state.
func (s *Store) FollowsOrSigned(ctx context.Context, actorIRI string) (bool, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, s.rebind(`SELECT (SELECT COUNT(*) FROM followers WHERE actor_iri = ?) + (SELECT COUNT(*) FROM signatures WHERE actor_iri = ?)`), actorIRI, actorIRI); err != nil {
		return false, fmt.Errorf("follows or signed %s: %w", actorIRI, err)
	}
	return n > 0, nil
}

// FollowersCollectionPage lists follower actor IRIs, oldest first, skipping offset.
func (s *Store) FollowersCollectionPage(ctx context.Context, offset, limit int) ([]string, error) {
	out := []string{}
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT actor_iri FROM followers ORDER BY created_at, actor_iri LIMIT ? OFFSET ?`), limit, offset); err != nil {
		return nil, fmt.Errorf("followers page: %w", err)
	}
	return out, nil
}

// FollowerRecipients returns one recipient per follower, its shared inbox when it has one, read in the
// transaction so an activity and the list of its deliveries agree. InsertActivity removes duplicate inboxes.
func (t *Tx) FollowerRecipients(ctx context.Context) ([]Recipient, error) {
	rows := []struct {
		Inbox  string `db:"inbox"`
		Domain string `db:"domain"`
	}{}
	if err := t.tx.SelectContext(ctx, &rows, `SELECT CASE WHEN shared_inbox <> '' THEN shared_inbox ELSE inbox END AS inbox, domain
		FROM followers ORDER BY domain, actor_iri`); err != nil {
		return nil, fmt.Errorf("follower inboxes: %w", err)
	}
	out := make([]Recipient, 0, len(rows))
	for _, r := range rows {
		out = append(out, Recipient{Inbox: r.Inbox, Domain: r.Domain})
	}
	return out, nil
}
