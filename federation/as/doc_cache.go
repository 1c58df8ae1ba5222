package as

import (
	"maps"
	"strconv"
	"sync"
)

// docCache keeps the parts of documents that cannot change once built: an Article of revision n, minus its
// counts, is the same until the text changes, and the text of a revision never does. Building the memo's Article
// through the vocabulary library cost more than everything else in serving it (cmd/memo-load, memo JSON).
// Entries are shared, so they are never modified: callers get a shallow copy to add the live parts to.
type docCache struct {
	mu   sync.Mutex
	docs map[string]map[string]any
	byID map[string][]*wire // the same documents by their id, with their encoding
	live liveMembers        // the living memo's counts
	// actor is the actor's encoding, kept apart: it is asked for with every signed request a peer checks, and
	// from the first revision on it never changes (KeptActor).
	actor *wire
}

// maxCachedDocs bounds the cache; a publication has a handful of revisions, and a new revision's key replaces
// nothing, so past the bound the cache simply starts again.
const maxCachedDocs = 64

func newDocCache() *docCache {
	return &docCache{docs: map[string]map[string]any{}, byID: map[string][]*wire{}}
}

func articleKey(id string, revision int) string { return id + "@" + strconv.Itoa(revision) }

// get returns a copy of the cached document's top level, or false. A nil cache holds nothing.
func (c *docCache) get(key string) (map[string]any, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	m, ok := c.docs[key]
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	return maps.Clone(m), true
}

// put keeps m, which the caller must not modify afterwards, and returns a copy of its top level to finish.
func (c *docCache) put(key string, m map[string]any) map[string]any {
	if c == nil {
		return m
	}
	c.mu.Lock()
	if len(c.docs) >= maxCachedDocs {
		clear(c.docs)
		clear(c.byID)
	}
	w := c.keepWire(m)
	if key == actorKey {
		c.actor = w
	}
	c.docs[key] = m
	c.mu.Unlock()
	return maps.Clone(m)
}
