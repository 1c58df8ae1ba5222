package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// Retraction is what Retract did.
type Retraction struct {
	ActivityIRI string
	Recipients  int  // inboxes the Delete was queued for
	Already     bool // the impulse was retracted and its Delete stored before this call
}

// DeleteIRI is the id of the Delete that retracts an impulse. An impulse is retracted once, so one id per impulse.
func DeleteIRI(urls content.URLs, slug string) string { return urls.Impulse(slug) + "#delete" }

// Retract withdraws an impulse: it is marked retracted (its object answers 410 from then on) and a Delete with a
// Tombstone is queued for every follower. Running it again after a crash between the two steps stores the missing
// Delete; running it on a finished retraction changes nothing.
func Retract(ctx context.Context, store *storage.Store, urls content.URLs, slug string) (Retraction, error) {
	r := Retraction{ActivityIRI: DeleteIRI(urls, slug)}
	imp, err := store.Impulse(ctx, slug)
	if errors.Is(err, storage.ErrNotFound) {
		return r, fmt.Errorf("no impulse %q", slug)
	}
	if err != nil {
		return r, err
	}
	if !imp.Retracted() {
		if err := store.RetractImpulse(ctx, slug); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return r, err
		}
		if imp, err = store.Impulse(ctx, slug); err != nil {
			return r, err
		}
	}
	if _, err := store.ActivityByIRI(ctx, r.ActivityIRI); err == nil {
		r.Already = true
		return r, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return r, err
	}
	body, err := deleteBody(urls, slug, r.ActivityIRI, imp.RetractedAt)
	if err != nil {
		return r, err
	}
	err = store.InTx(ctx, func(tx *storage.Tx) error {
		recipients, err := tx.FollowerRecipients(ctx)
		if err != nil {
			return err
		}
		inboxes := map[string]bool{}
		for _, rc := range recipients {
			inboxes[rc.Inbox] = true
		}
		r.Recipients = len(inboxes)
		return tx.InsertActivity(ctx, storage.Activity{
			IRI: r.ActivityIRI, Type: "Delete", ObjectIRI: urls.Impulse(slug), Body: string(body), PublishedAt: imp.RetractedAt,
		}, recipients)
	})
	if err != nil {
		return r, fmt.Errorf("queue Delete of %s: %w", slug, err)
	}
	return r, nil
}

// deleteBody is the Delete{Tombstone} as Mastodon sends it for a removed status: public, to the followers, with the
// object's former type and deletion time so receivers that keep tombstones can show them.
func deleteBody(urls content.URLs, slug, id string, at time.Time) ([]byte, error) {
	when := at.UTC().Format(time.RFC3339)
	b, err := json.Marshal(map[string]any{
		"@context":  content.ActivityStreamsContext,
		"id":        id,
		"type":      "Delete",
		"actor":     urls.Actor(),
		"published": when,
		"to":        []string{content.PublicAudience},
		"cc":        []string{urls.Followers()},
		"object": map[string]any{
			"id":         urls.Impulse(slug),
			"type":       "Tombstone",
			"formerType": "Note",
			"deleted":    when,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("encode Delete of %s: %w", slug, err)
	}
	return b, nil
}
