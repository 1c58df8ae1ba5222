package federation_test

import (
	"context"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/outbox"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestMemoArticleCacheStaysLive: the memo's Article is built once per revision, yet a like, a boost and a new
// revision each show in the next answer, and an answer changed by one request does not leak into the next.
func TestMemoArticleCacheStaysLive(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		site := startReadSite(t, store)
		memo := site.urls.Memo()
		first := site.getAS(memo)
		if rsNum(first, "likes", "totalItems") != 0 || rsNum(first, "shares", "totalItems") != 0 {
			t.Fatalf("fresh memo has interactions: %v %v", first["likes"], first["shares"])
		}
		add := func(id, kind string) {
			t.Helper()
			err := store.InTx(ctx, func(tx *storage.Tx) error {
				_, err := tx.AddInteraction(ctx, storage.Interaction{
					ActivityIRI: "https://remote.example/" + id, Kind: kind, ActorIRI: "https://remote.example/users/a", ObjectIRI: memo,
				})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		add("like/1", storage.KindLike)
		add("boost/1", storage.KindAnnounce)
		again := site.getAS(memo)
		if rsNum(again, "likes", "totalItems") != 1 || rsNum(again, "shares", "totalItems") != 1 {
			t.Errorf("after a like and a boost: likes %v, shares %v", again["likes"], again["shares"])
		}
		if rsStr(again, "content") != rsStr(first, "content") || rsStr(again, "updated") != rsStr(first, "updated") {
			t.Errorf("the text changed without a revision")
		}

		doc, err := content.Parse([]byte("# Titre révisé\n\nUn texte nouveau, mis en cache à son tour.\n"))
		if err != nil {
			t.Fatal(err)
		}
		n, err := outbox.PublishRevision(ctx, store, site.urls, doc, "Nouveau texte.")
		if err != nil {
			t.Fatal(err)
		}
		revised := site.getAS(memo)
		if rsStr(revised, "name") != "Titre révisé" || !strings.Contains(rsStr(revised, "content"), "Un texte nouveau") {
			t.Errorf("revision %d not served: name %q", n, rsStr(revised, "name"))
		}
		if rsNum(revised, "likes", "totalItems") != 1 {
			t.Errorf("likes after the revision: %v", revised["likes"])
		}
		// The first revision's snapshot is still the first text.
		if snap := site.getAS(site.urls.Revision(1)); rsStr(snap, "name") != rsStr(first, "name") {
			t.Errorf("revision 1 snapshot: name %q, want %q", rsStr(snap, "name"), rsStr(first, "name"))
		}
	})
}
