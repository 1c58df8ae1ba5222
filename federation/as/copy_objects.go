package as

import (
	"context"
	"strings"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// pointToOrigin makes a copy's memo, revisions and impulses name the origin's matching object as their context:
// each is one rendering of an object whose canonical version lives on the origin, at the same path since both run
// this software. On an origin (no copy_of) it does nothing.
func (o Builder) pointToOrigin(ctx context.Context, m map[string]any, id string) {
	path, ok := strings.CutPrefix(id, o.urls.Base)
	if !ok || !(path == "/memo" || strings.HasPrefix(path, "/memo/revisions/") || strings.HasPrefix(path, "/impulses/")) {
		return
	}
	origin, err := o.store.Meta(ctx, storage.MetaCopyOf)
	if err != nil || origin == "" {
		return
	}
	ou, err := content.OriginURLs(origin)
	if err != nil {
		return
	}
	m["context"] = ou.Base + path
}
