package outbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/as"
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
	// Public, to the followers, as the impulse was.
	body, err := as.DeleteTombstone(urls.Actor(), r.ActivityIRI, urls.Impulse(slug), []string{content.PublicAudience}, []string{urls.Followers()}, imp.RetractedAt)
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
