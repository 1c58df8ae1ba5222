package copies

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// Relays: a copy tells its origin about each signature it recorded with Add{object: the signer's reply, target:
// the origin's signatures collection}, and about a withdrawal with the matching Remove. Add names the reply by
// its IRI only: the origin trusts no copy and fetches the reply from the signer's own server. Announce would have
// said "boost" to every other server, and our inbox refuses Announces of objects that are not its own.

// RelayIRI is the IRI of the Add that relays signature id (withdraw false) or of the Remove that relays its
// withdrawal. Derived from the signature, so a retry names the same activity.
func RelayIRI(base string, id int64, withdraw bool) string {
	if withdraw {
		return base + "/activities/relay-remove-" + strconv.FormatInt(id, 10)
	}
	return storage.RelayAddPrefix(base) + strconv.FormatInt(id, 10)
}

// Relay queues an Add for each new signature recorded here and a Remove for each relayed one withdrawn since, in
// the transaction that marks them relayed. Delivery workers send them; with the origin down they wait in the
// queue.
func (c *Copy) Relay(ctx context.Context) error {
	if c.origin.actor.IRI == "" {
		return nil
	}
	for _, withdraw := range []bool{false, true} {
		for {
			rows, err := c.cfg.Store.SignaturesToRelay(ctx, withdraw, 100)
			if err != nil {
				return err
			}
			for _, row := range rows {
				if err := c.relayOne(ctx, row, withdraw); err != nil {
					return err
				}
			}
			if len(rows) < 100 {
				break
			}
		}
	}
	return nil
}

func (c *Copy) relayOne(ctx context.Context, row storage.SignatureRelay, withdraw bool) error {
	typ := "Add"
	if withdraw {
		typ = "Remove"
	}
	id := RelayIRI(c.cfg.URLs.Base, row.ID, withdraw)
	body, err := json.Marshal(map[string]any{
		"@context": content.ActivityStreamsContext,
		"id":       id,
		"type":     typ,
		"actor":    c.cfg.URLs.Actor(),
		"object":   row.NoteIRI,
		"target":   c.origin.urls.Signatures(),
		"to":       []string{c.origin.actor.IRI},
	})
	if err != nil {
		return fmt.Errorf("encode relay of signature %d: %w", row.ID, err)
	}
	return c.cfg.Store.InTx(ctx, func(tx *storage.Tx) error {
		ok, err := tx.MarkRelayed(ctx, row.ID, withdraw)
		if err != nil || !ok {
			return err
		}
		return tx.InsertActivity(ctx, storage.Activity{IRI: id, Type: typ, ObjectIRI: row.NoteIRI, Body: string(body)},
			[]storage.Recipient{c.originRecipient()})
	})
}
