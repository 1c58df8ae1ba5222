package federation_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestSignaturesCollectionOverHTTP: the collection counts public and private standing signatures, its pages list
// the public ones newest first by keyset (?page=1, then ?before=ID), each item is resolvable at its own address,
// private, withdrawn and hidden ones are neither listed nor served, and the Article carries the same count.
func TestSignaturesCollectionOverHTTP(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		site := startReadSite(t, store)
		add := func(i int, vis string) storage.Signature {
			t.Helper()
			g, err := store.AddSignature(ctx, storage.Signature{
				ActorIRI: fmt.Sprintf("https://s%d.example/users/u%d", i%7, i), ActorType: "Person",
				Handle: fmt.Sprintf("@u%d@s%d.example", i, i%7), DisplayName: fmt.Sprintf("User %d", i),
				Domain: fmt.Sprintf("s%d.example", i%7), NoteIRI: fmt.Sprintf("https://s%d.example/notes/%d", i%7, i),
				InReplyTo: site.urls.Memo(), Revision: 1, Visibility: vis, SignedAt: time.Unix(1_700_000_000+int64(i), 0),
			})
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		var public []storage.Signature
		for i := 1; i <= 45; i++ {
			public = append(public, add(i, []string{"public", "unlisted"}[i%2]))
		}
		private := add(100, "followers")
		direct := add(101, "direct")
		withdrawn := add(102, "public")
		if _, err := store.WithdrawSignature(ctx, withdrawn.ActorIRI, withdrawn.NoteIRI); err != nil {
			t.Fatal(err)
		}
		hidden := add(103, "public")
		if err := store.SetSignatureHidden(ctx, hidden.ID, true); err != nil {
			t.Fatal(err)
		}
		wantTotal := 45 + 2

		coll := site.getAS(site.urls.Signatures())
		if rsStr(coll, "type") != "OrderedCollection" || rsNum(coll, "totalItems") != wantTotal || rsStr(coll, "first") != site.urls.Signatures()+"?page=1" {
			t.Fatalf("collection = %v", coll)
		}
		article := site.getAS(site.urls.Memo())
		if n := rsNum(article, "signatures", "totalItems"); n != wantTotal {
			t.Errorf("Article's signatures totalItems = %d, want %d", n, wantTotal)
		}

		first := site.getAS(rsStr(coll, "first"))
		items := rsList(first, "orderedItems")
		if len(items) != 40 || rsNum(first, "totalItems") != wantTotal || rsStr(first, "partOf") != site.urls.Signatures() {
			t.Fatalf("first page: %d items, totalItems %d", len(items), rsNum(first, "totalItems"))
		}
		newest := items[0].(map[string]any)
		last := public[len(public)-1]
		if rsStr(newest, "id") != site.urls.Signature(last.ID) || rsStr(newest, "type") != "Signature" ||
			rsStr(newest, "attributedTo") != last.ActorIRI || rsStr(newest, "url") != last.NoteIRI ||
			rsStr(newest, "handle") != last.Handle || rsStr(newest, "instance") != last.Domain ||
			rsStr(newest, "revision") != site.urls.Revision(1) || rsStr(newest, "published") != "2023-11-14T22:14:05Z" {
			t.Errorf("newest item = %v", newest)
		}
		next := rsStr(first, "next")
		if next != fmt.Sprintf("%s?before=%d", site.urls.Signatures(), public[5].ID) {
			t.Fatalf("next = %q", next)
		}
		second := site.getAS(next)
		rest := rsList(second, "orderedItems")
		if len(rest) != 5 || rsStr(second, "next") != "" || rsStr(rest[4].(map[string]any), "id") != site.urls.Signature(public[0].ID) {
			t.Errorf("second page: %d items, next %q", len(rest), rsStr(second, "next"))
		}
		seen := map[string]bool{}
		for _, it := range append(items, rest...) {
			seen[rsStr(it.(map[string]any), "id")] = true
		}
		for _, g := range []storage.Signature{private, direct, withdrawn, hidden} {
			if seen[site.urls.Signature(g.ID)] {
				t.Errorf("signature %d (%s, withdrawn %v, status %s) is listed", g.ID, g.Visibility, g.WithdrawnMS.Valid, g.Status)
			}
			if res := site.get(site.urls.Signature(g.ID), rsAcceptAS); res.Status != http.StatusNotFound {
				t.Errorf("signature %d served with %d, want 404", g.ID, res.Status)
			}
		}

		one := site.getAS(site.urls.Signature(public[3].ID))
		if rsStr(one, "attributedTo") != public[3].ActorIRI || rsStr(one, "inReplyTo") != site.urls.Memo() || rsField(one, "@context") == nil {
			t.Errorf("signature document = %v", one)
		}
		for _, bad := range []string{"?before=abc", "?before=-3", "?page=2"} {
			if res := site.get(site.urls.Signatures()+bad, rsAcceptAS); res.Status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", bad, res.Status)
			}
		}
		if res := site.get(site.urls.Signatures()+"/abc", rsAcceptAS); res.Status != http.StatusBadRequest {
			t.Errorf("/signatures/abc: status %d, want 400", res.Status)
		}
	})
}
