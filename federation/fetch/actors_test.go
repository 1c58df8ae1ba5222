package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

func TestParseActorFixtures(t *testing.T) {
	cases := []struct{ file, typ string }{
		{"mastodon/actor-person.json", "Person"},
		{"gotosocial/actor-person.json", "Person"},
		{"gotosocial/actor-application-bot.json", "Application"},
		{"misskey/actor-person-null-name.json", "Person"},
		{"pleroma/actor-person-live.json", "Person"},
		{"peertube/actor-person.json", "Person"},
		{"lemmy/actor-group.json", "Group"},
		{"wordpress/actor-person-live.json", "Person"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(fedtest.Testdata(), "activitypub", c.file))
			if err != nil {
				t.Fatal(err)
			}
			var raw struct {
				ID        string `json:"id"`
				Inbox     string `json:"inbox"`
				PublicKey struct {
					ID string `json:"id"`
				} `json:"publicKey"`
			}
			json.Unmarshal(b, &raw)
			doc, err := ParseActor(b)
			if err != nil {
				t.Fatal(err)
			}
			a := doc.Actor
			if a.IRI != raw.ID || a.Type != c.typ || a.Inbox != raw.Inbox || a.Domain == "" || a.Raw == "" {
				t.Errorf("actor = %+v", a)
			}
			if a.KeyID != raw.PublicKey.ID || (a.KeyID != "" && a.PublicKeyPEM == "") {
				t.Errorf("key %q (pem %d bytes), want %q", a.KeyID, len(a.PublicKeyPEM), raw.PublicKey.ID)
			}
		})
	}
	if _, err := ParseActor([]byte(`{"type":"Person"}`)); err == nil {
		t.Error("actor without id parsed")
	}
}

// TestKeyResolution fetches keys from simulated instances: an actor document carrying the key, a bare key
// document whose owner is fetched next, servers that demand signed GETs; and refuses a key whose document says it
// belongs elsewhere.
func TestKeyResolution(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		ours := fedtest.NewInstance(t, "ours") // only to own a key for signed GETs
		me := ours.NewActor("memo")
		inst := fedtest.NewInstance(t, "remote")
		inst.AuthorizedFetch.Store(true)
		inst.TrustKey(me.KeyID, &me.Key.PublicKey)
		client := New(Config{AllowPrivate: true, UserAgent: "memo/test", Key: me.Key, KeyID: me.KeyID})
		actors := NewActors(client, store)

		alice := inst.NewActor("alice")
		got, pub, cached, err := actors.Key(ctx, alice.KeyID, false)
		if err != nil || cached || got.IRI != alice.IRI || !pub.Equal(&alice.Key.PublicKey) || got.SharedInbox != inst.SharedInbox() {
			t.Fatalf("Key: %+v cached=%v err=%v", got, cached, err)
		}
		if n, err := store.CountActors(ctx); err != nil || n != 0 {
			t.Errorf("cached before the caller stored it: %d (%v)", n, err)
		}
		if err := store.PutActor(ctx, got); err != nil {
			t.Fatal(err)
		}
		if _, _, cached, err := actors.Key(ctx, alice.KeyID, false); err != nil || !cached {
			t.Errorf("second lookup: cached=%v err=%v", cached, err)
		}

		bob := inst.NewActor("bob")
		bob.UseBareKey()
		got, pub, _, err = actors.Key(ctx, bob.KeyID, false)
		if err != nil || got.IRI != bob.IRI || got.Inbox != bob.Inbox || !pub.Equal(&bob.Key.PublicKey) {
			t.Fatalf("bare key: %+v %v", got, err)
		}

		// GoToSocial's key URL answers a stub of the actor (id, type, publicKey, no inbox): the full actor is then
		// fetched from its id, as a real GoToSocial (v0.20) required.
		carol := inst.NewActor("carol")
		carol.UseBareKey()
		inst.Handle("/users/carol/main-key", func(w http.ResponseWriter, r *http.Request) {
			stub, _ := json.Marshal(map[string]any{
				"@context": []string{"https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"},
				"id":       carol.IRI, "type": "Person", "preferredUsername": "carol",
				"publicKey": map[string]string{"id": carol.KeyID, "owner": carol.IRI, "publicKeyPem": carol.PublicKeyPEM()},
			})
			w.Header().Set("Content-Type", "application/activity+json")
			w.Write(stub)
		})
		got, pub, _, err = actors.Key(ctx, carol.KeyID, false)
		if err != nil || got.IRI != carol.IRI || got.Inbox != carol.Inbox || got.SharedInbox != inst.SharedInbox() || !pub.Equal(&carol.Key.PublicKey) {
			t.Fatalf("key served as an actor stub: %+v %v", got, err)
		}

		// A key document whose owner lists another key.
		mallory := inst.NewActor("mallory")
		inst.Handle("/keys/stolen", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"id":"` + inst.Base + `/keys/stolen","owner":"` + mallory.IRI + `","publicKeyPem":"x"}`))
		})
		if _, _, _, err := actors.Key(ctx, inst.Base+"/keys/stolen", false); !errors.Is(err, ErrKeyMismatch) {
			t.Errorf("foreign key: %v, want ErrKeyMismatch", err)
		}
		// Without our signature, the server in authorized-fetch mode refuses.
		unsigned := NewActors(New(Config{AllowPrivate: true, UserAgent: "memo/test"}), store)
		var se *StatusError
		if _, _, _, err := unsigned.Key(ctx, alice.KeyID, true); !errors.As(err, &se) || se.Code != http.StatusUnauthorized {
			t.Errorf("unsigned fetch: %v, want 401", err)
		}
		// A gone actor.
		alice.Gone.Store(true)
		if _, _, _, err := actors.Key(ctx, alice.KeyID, true); !Gone(err) {
			t.Errorf("gone actor: %v", err)
		}
	})
}

// TestKeyFetchUnsignedFirst: keys are fetched unsigned (a signature costs an RSA private-key operation); a host
// that answers 401, or Mastodon's reduced actor in authorized-fetch mode, is asked again signed and gets signed
// fetches from then on, and the cached actor is the whole one.
func TestKeyFetchUnsignedFirst(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		ours := fedtest.NewInstance(t, "ours")
		me := ours.NewActor("memo")
		client := New(Config{AllowPrivate: true, UserAgent: "memo/test", Key: me.Key, KeyID: me.KeyID})
		actors := NewActors(client, store)
		signed := func(inst *fedtest.Instance) (yes, no int) {
			for _, g := range inst.Gets() {
				if g.Header.Get("Signature") != "" {
					yes++
				} else {
					no++
				}
			}
			return yes, no
		}

		open := fedtest.NewInstance(t, "open")
		for _, name := range []string{"a", "b"} {
			a := open.NewActor(name)
			if got, _, _, err := actors.Key(ctx, a.KeyID, false); err != nil || got.DisplayName != a.Name {
				t.Fatalf("open instance: %+v %v", got, err)
			}
		}
		if yes, no := signed(open); yes != 0 || no != 2 {
			t.Errorf("open instance: %d signed and %d unsigned GETs, want 0 and 2", yes, no)
		}

		gts := fedtest.NewInstance(t, "authorized")
		gts.AuthorizedFetch.Store(true)
		gts.TrustKey(me.KeyID, &me.Key.PublicKey)
		for _, name := range []string{"a", "b"} {
			a := gts.NewActor(name)
			if got, _, _, err := actors.Key(ctx, a.KeyID, false); err != nil || got.IRI != a.IRI {
				t.Fatalf("401 instance: %+v %v", got, err)
			}
		}
		if yes, no := signed(gts); yes != 2 || no != 1 {
			t.Errorf("401 instance: %d signed and %d unsigned GETs, want 2 and 1 (one refusal, then signed only)", yes, no)
		}

		secure := fedtest.NewInstance(t, "secure")
		secure.ReducedActors.Store(true)
		for _, name := range []string{"a", "b"} {
			a := secure.NewActor(name)
			got, _, _, err := actors.Key(ctx, a.KeyID, false)
			if err != nil || got.DisplayName != a.Name || got.URL == "" || got.Inbox != a.Inbox {
				t.Fatalf("reduced actor kept: %+v %v", got, err)
			}
		}
		if yes, no := signed(secure); yes != 2 || no != 1 {
			t.Errorf("reduced-actor instance: %d signed and %d unsigned GETs, want 2 and 1", yes, no)
		}

		// Without a key there is nothing to retry with: the refusal stands.
		keyless := NewActors(New(Config{AllowPrivate: true, UserAgent: "memo/test"}), store)
		var se *StatusError
		if _, _, _, err := keyless.Key(ctx, gts.NewActor("c").KeyID, false); !errors.As(err, &se) || se.Code != http.StatusUnauthorized {
			t.Errorf("keyless fetch from a 401 instance: %v, want 401", err)
		}
	})
}
