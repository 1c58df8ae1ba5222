package storage

import (
	"context"
	"errors"
	"fmt"
)

// Read queries behind the collections the federation side serves: interaction counts and reply lists of our
// objects, the followers collection and its delivery inboxes, and outbox pages walked
// towards newer activities.
//
// interactions.kind holds "like", "announce" or "reply"; interactions.visibility holds "public", "unlisted",
// "followers" or "direct". Only public and unlisted replies are listed or counted: the others were not addressed
// to the world.

// InteractionCounts are the totals of an object's replies, likes and shares (boosts).
type InteractionCounts struct {
	Replies int `db:"replies"`
	Likes   int `db:"likes"`
	Shares  int `db:"shares"`
}

// InteractionCounts counts the interactions recorded on one of our objects.
func (s *Store) InteractionCounts(ctx context.Context, objectIRI string) (InteractionCounts, error) {
	// Kept by triggers (migration 0008); an object nobody interacted with has no row.
	var c InteractionCounts
	err := getRow(ctx, s.db, &c, "interaction counts of "+objectIRI, s.rebind(`SELECT replies, likes, shares FROM interaction_counts WHERE object_iri = ?`), objectIRI)
	if errors.Is(err, ErrNotFound) {
		return InteractionCounts{}, nil
	}
	return c, err
}

// ReplyIRIs lists the IRIs of the public and unlisted replies to an object, oldest first, skipping offset.
func (s *Store) ReplyIRIs(ctx context.Context, objectIRI string, offset, limit int) ([]string, error) {
	out := []string{}
	err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT CASE WHEN note_iri <> '' THEN note_iri ELSE activity_iri END
		FROM interactions WHERE object_iri = ? AND kind = 'reply' AND visibility IN ('public', 'unlisted')
		ORDER BY created_at, activity_iri LIMIT ? OFFSET ?`), objectIRI, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("replies of %s: %w", objectIRI, err)
	}
	return out, nil
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

// OutboxPageAfter lists public activities with id > after, newest first: the page just newer than a given one,
// which an OrderedCollectionPage links as prev.
func (s *Store) OutboxPageAfter(ctx context.Context, after int64, limit int) ([]Activity, error) {
	var out []Activity
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT `+activityCols+` FROM activities WHERE in_outbox = TRUE AND id > ? ORDER BY id ASC LIMIT ?`), after, limit); err != nil {
		return nil, fmt.Errorf("outbox page after %d: %w", after, err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	for i := range out {
		out[i].PublishedAt = fromMS(out[i].PublishedMS)
	}
	return out, nil
}

// PublishedObjectCount counts what the publication has put out: the memo, the impulses that stand and the public
// notes (NodeInfo's localPosts).
func (s *Store) PublishedObjectCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT
		(SELECT CASE WHEN COUNT(*) > 0 THEN 1 ELSE 0 END FROM revisions)
		+ (SELECT COUNT(*) FROM impulses WHERE retracted_at IS NULL)
		+ (SELECT COUNT(*) FROM notes WHERE public = TRUE AND deleted_at IS NULL)`)
	if err != nil {
		return 0, fmt.Errorf("count published objects: %w", err)
	}
	return n, nil
}
