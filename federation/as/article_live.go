package as

import (
	"context"
	"fmt"
	"sync"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// liveMembers are the living memo's members that change without a new revision (its counts, and on a copy the
// origin's address), built once per state and shared by the requests that find the same state: the state is one
// query (storage.ArticleState), and identical members let writeWire reuse their encoding too.
type liveMembers struct {
	mu      sync.Mutex
	state   storage.ArticleState
	members map[string]any // never modified once built
}

// memoArticleCached is memoArticle for the served document: one query for the state, the fixed part from the
// cache, the live members built only when the state changed.
func (o Builder) memoArticleCached(ctx context.Context) (map[string]any, error) {
	memo := o.urls.Memo()
	st, err := o.store.ArticleState(ctx, memo)
	if err != nil {
		return nil, StoreErr(err, "the memo is not published yet")
	}
	m, ok := o.cache.get(articleKey(memo, st.Revision))
	if !ok {
		cur, err := o.store.Revision(ctx, st.Revision)
		if err != nil {
			return nil, StoreErr(err, "the memo is not published yet")
		}
		first, err := o.store.Revision(ctx, 1)
		if err != nil {
			return nil, fmt.Errorf("memo: revision 1: %w", err)
		}
		fixed, err := o.articleText(cur, first, memo)
		if err != nil {
			return nil, err
		}
		m = o.cache.put(articleKey(memo, st.Revision), fixed)
	}
	members, err := o.cache.live.of(o, st)
	if err != nil {
		return nil, err
	}
	for k, v := range members {
		m[k] = v
	}
	return m, nil
}

// of returns the members for state st, building them when st is not the last one seen.
func (l *liveMembers) of(o Builder, st storage.ArticleState) (map[string]any, error) {
	l.mu.Lock()
	if l.members != nil && l.state == st {
		m := l.members
		l.mu.Unlock()
		return m, nil
	}
	l.mu.Unlock()
	memo := o.urls.Memo()
	replies, likes, shares, err := countedCollections(memo, st.Counts)
	if err != nil {
		return nil, fmt.Errorf("interactions of %s: %w", memo, err)
	}
	sigs, err := o.signaturesSummaryOf(st.Signatures)
	if err != nil {
		return nil, err
	}
	m := map[string]any{"replies": replies, "likes": likes, "shares": shares, "signatures": sigs}
	if st.CopyOf != "" {
		// As pointToOrigin does for every object a copy serves.
		if ou, err := content.OriginURLs(st.CopyOf); err == nil {
			m["context"] = ou.Base + "/memo"
		}
	}
	l.mu.Lock()
	l.state, l.members = st, m
	l.mu.Unlock()
	return m, nil
}
