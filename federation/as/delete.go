package as

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/memo-fediverse/memo/content"
)

// DeleteTombstone is the Delete{Tombstone} of one of our notes, as Mastodon sends it for a removed status: the
// object's former type and the deletion time, so that receivers that keep tombstones can show them, addressed to
// to and cc.
func DeleteTombstone(actor, id, objectIRI string, to, cc []string, at time.Time) ([]byte, error) {
	when := at.UTC().Format(time.RFC3339)
	b, err := json.Marshal(map[string]any{
		"@context":  content.ActivityStreamsContext,
		"id":        id,
		"type":      "Delete",
		"actor":     actor,
		"published": when,
		"to":        to,
		"cc":        cc,
		"object": map[string]any{
			"id":         objectIRI,
			"type":       "Tombstone",
			"formerType": "Note",
			"deleted":    when,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("encode Delete of %s: %w", objectIRI, err)
	}
	return b, nil
}
