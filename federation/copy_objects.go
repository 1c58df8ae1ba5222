package federation

import (
	"context"

	"github.com/memo-fediverse/memo/storage"
)

// pointToOrigin makes a copy's living memo name the origin's as its context: the copy's Article is one rendering
// of the memo whose canonical object lives on the origin. On an origin (no copy_of) it does nothing.
func (o objects) pointToOrigin(ctx context.Context, m map[string]any, id string) {
	if id != o.urls.Memo() {
		return // snapshots and impulses already name the living memo, which names the origin's
	}
	origin, err := o.store.Meta(ctx, storage.MetaCopyOf)
	if err != nil || origin == "" {
		return
	}
	ou, err := originURLs(origin)
	if err != nil {
		return
	}
	m["context"] = ou.Memo()
}
