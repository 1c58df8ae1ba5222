package federation

import (
	"context"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// EnsurePublished records the outbox activities of seeded objects that lack one.
func EnsurePublished(ctx context.Context, store *storage.Store, urls content.URLs) error {
	return nil
}

// PublishRevision stores doc as the next revision with its outgoing activities and returns its number.
func PublishRevision(ctx context.Context, store *storage.Store, urls content.URLs, doc content.Document, changelog string) (int, error) {
	return store.AddRevision(ctx, storage.Revision{Title: doc.Title, Summary: content.Abstract, Markdown: doc.Markdown, HTML: doc.HTML, Changelog: changelog})
}
