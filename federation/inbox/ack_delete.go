package inbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/memo-fediverse/memo/federation/as"
	"github.com/memo-fediverse/memo/storage"
)

// deleteAcknowledgements takes back our acknowledgement of a signature that was withdrawn: the note is marked
// deleted (served as a tombstone from then on) and a Delete of it is queued for the signer, who was its only
// recipient. Left standing, it thanked for a signature that no longer counts and answered a reply that may no
// longer exist (GoToSocial logs the missing parent).
func (in *Inbox) deleteAcknowledgements(ctx context.Context, tx *storage.Tx, signerIRI, replyIRI string) error {
	now := in.cfg.Store.Now()
	notes, err := tx.DeleteAcknowledgements(ctx, replyIRI, now)
	if err != nil || len(notes) == 0 {
		return err
	}
	signer, err := tx.Actor(ctx, signerIRI)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && signer.Inbox == "") {
		return nil // nowhere to send the Delete; the note is a tombstone all the same
	}
	if err != nil {
		return fmt.Errorf("delete acknowledgement: signer %s: %w", signerIRI, err)
	}
	for _, n := range notes {
		id := in.cfg.URLs.Note(n.Slug) + "#delete"
		// Addressed as the acknowledgement was.
		body, err := as.DeleteTombstone(in.cfg.URLs.Actor(), id, in.cfg.URLs.Note(n.Slug), n.To, n.Cc, now)
		if err != nil {
			return err
		}
		if err := tx.InsertActivity(ctx, storage.Activity{IRI: id, Type: "Delete", ObjectIRI: in.cfg.URLs.Note(n.Slug), Body: string(body), PublishedAt: now},
			[]storage.Recipient{{Inbox: signer.Inbox, Domain: signer.Domain}}); err != nil {
			return err
		}
	}
	return nil
}
