package inbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/storage"
)

// storeReport keeps a Flag (another instance's moderators reporting our actor or objects) for the admin, clipped
// and capped per host (storage.AddReportTx), then drops the activity's body: the report holds what it said.
func (in *Inbox) storeReport(ctx context.Context, tx *storage.Tx, row storage.InboxActivity) (string, error) {
	var flag struct {
		Object  json.RawMessage `json:"object"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal([]byte(row.Body), &flag); err != nil {
		return "", fmt.Errorf("decode Flag: %w", err)
	}
	var comment string
	_ = json.Unmarshal(flag.Content, &comment) // a comment that is not a string is no comment
	added, err := tx.AddReport(ctx, storage.Report{
		ActivityIRI: row.IRI, ActorIRI: row.ActorIRI, Domain: fetch.Host(row.ActorIRI),
		Objects: flagObjects(flag.Object), Comment: comment,
	})
	if err != nil {
		return "", err
	}
	if err := tx.ClearInboxBody(ctx, row.IRI); err != nil {
		return "", err
	}
	return fmt.Sprintf("report stored: %v", added), nil
}

// flagObjects lists the ids a Flag reports: Mastodon sends a list of IRIs (the account, then statuses), others a
// single IRI or inline objects.
func flagObjects(raw json.RawMessage) []string {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		list = []json.RawMessage{raw}
	}
	var out []string
	for _, item := range list {
		if iri := fetch.FirstIRI(item); iri != "" {
			out = append(out, iri)
		}
		if len(out) == storage.MaxReportObjects {
			break
		}
	}
	return out
}
