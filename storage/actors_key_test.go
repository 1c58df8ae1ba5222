package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// One row per key id: an actor naming a key another actor holds is refused and stores nothing, unless the
// holder's claim is the weaker one (the key is named under the newcomer's IRI and not under the holder's, or the
// holder is deleted), which then loses the key.
func TestActorKeyOwnership(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		actor := func(name, keyID, pem string) storage.RemoteActor {
			return storage.RemoteActor{IRI: "https://social.example/users/" + name, Type: "Person", Username: name,
				Domain: "social.example", KeyID: keyID, PublicKeyPEM: pem}
		}
		key := func(name string) string { return "https://social.example/users/" + name + "#main-key" }
		mustHold := func(keyID, iri, pem string) {
			t.Helper()
			a, err := s.ActorByKeyID(ctx, keyID)
			if err != nil || a.IRI != iri || a.PublicKeyPEM != pem {
				t.Fatalf("key %s: held by %s (%q), %v; want %s (%q)", keyID, a.IRI, a.PublicKeyPEM, err, iri, pem)
			}
		}

		alice := actor("alice", key("alice"), "alice-pem")
		if err := s.PutActor(ctx, alice); err != nil {
			t.Fatal(err)
		}
		// mallory names alice's key: refused, nothing stored.
		err := s.PutActor(ctx, actor("mallory", key("alice"), "mallory-pem"))
		if !errors.Is(err, storage.ErrKeyTaken) {
			t.Fatalf("mallory taking alice's key: %v, want ErrKeyTaken", err)
		}
		if _, err := s.Actor(ctx, "https://social.example/users/mallory"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("the refused actor was stored: %v", err)
		}
		mustHold(key("alice"), alice.IRI, "alice-pem")
		if h, err := s.KeyHolder(ctx, "https://social.example/users/mallory", key("alice")); err != nil || h != alice.IRI {
			t.Fatalf("KeyHolder for mallory = %q, %v", h, err)
		}
		// alice herself refreshes her key: fine.
		if err := s.PutActor(ctx, actor("alice", key("alice"), "alice-pem-2")); err != nil {
			t.Fatal(err)
		}
		mustHold(key("alice"), alice.IRI, "alice-pem-2")

		// A stale row holds bob's key before bob is known: bob, whose IRI the key is named under, takes it back.
		if err := s.PutActor(ctx, actor("squatter", key("bob"), "squatter-pem")); err != nil {
			t.Fatal(err)
		}
		if h, err := s.KeyHolder(ctx, "https://social.example/users/bob", key("bob")); err != nil || h != "" {
			t.Fatalf("KeyHolder for bob = %q, %v; want none (his claim is stronger)", h, err)
		}
		if err := s.PutActor(ctx, actor("bob", key("bob"), "bob-pem")); err != nil {
			t.Fatal(err)
		}
		mustHold(key("bob"), "https://social.example/users/bob", "bob-pem")
		if sq, err := s.Actor(ctx, "https://social.example/users/squatter"); err != nil || sq.KeyID != "" || sq.PublicKeyPEM != "" {
			t.Fatalf("the squatter kept a key: %+v, %v", sq, err)
		}

		// A key named elsewhere (a bare key document): the first holder keeps it against anyone.
		bare := "https://social.example/keys/42"
		if err := s.PutActor(ctx, actor("carol", bare, "carol-pem")); err != nil {
			t.Fatal(err)
		}
		if err := s.PutActor(ctx, actor("dan", bare, "dan-pem")); !errors.Is(err, storage.ErrKeyTaken) {
			t.Fatalf("dan taking carol's bare key: %v", err)
		}
		mustHold(bare, "https://social.example/users/carol", "carol-pem")

		n, err := storagetest.CountActors(ctx, s)
		if err != nil || n != 4 {
			t.Fatalf("actors: %d, %v; want alice, squatter, bob, carol", n, err)
		}
	})
}

// KeyCandidates answers in one query what ActorByKeyID and Actor answer in two: by key id, by document, both in one
// row, or neither.
func TestKeyCandidates(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		const base = "https://social.example/users/"
		for _, a := range []storage.RemoteActor{
			{IRI: base + "alice", Type: "Person", Username: "alice", Domain: "social.example", KeyID: base + "alice#main-key", PublicKeyPEM: "alice-pem"},
			{IRI: base + "bob", Type: "Person", Username: "bob", Domain: "social.example", KeyID: base + "bob#main-key", PublicKeyPEM: "bob-pem"},
			{IRI: base + "nokey", Type: "Person", Username: "nokey", Domain: "social.example"},
		} {
			if err := s.PutActor(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		iri := func(a *storage.RemoteActor) string {
			if a == nil {
				return ""
			}
			return a.IRI
		}
		for _, c := range []struct {
			keyID, doc       string
			wantKey, wantDoc string
		}{
			{base + "alice#main-key", base + "alice", base + "alice", base + "alice"},
			{base + "alice#ed25519", base + "alice", "", base + "alice"},
			{base + "bob#main-key", base + "alice", base + "bob", base + "alice"},
			{base + "carol#main-key", base + "carol", "", ""},
			{base + "nokey#main-key", "", "", ""},
			{"", "", "", ""},
		} {
			byKey, byDoc, err := s.KeyCandidates(ctx, c.keyID, c.doc)
			if err != nil || iri(byKey) != c.wantKey || iri(byDoc) != c.wantDoc {
				t.Errorf("KeyCandidates(%q, %q) = %q, %q, %v; want %q, %q", c.keyID, c.doc, iri(byKey), iri(byDoc), err, c.wantKey, c.wantDoc)
			}
			if byKey != nil && (byKey.PublicKeyPEM == "" || byKey.FetchedAt.IsZero()) {
				t.Errorf("KeyCandidates(%q): the actor by key is not read whole: %+v", c.keyID, *byKey)
			}
		}
	})
}
