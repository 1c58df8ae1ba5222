package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
		if err != nil || cached || got.IRI != alice.IRI || !alice.Key.PublicKey.Equal(pub) || got.SharedInbox != inst.SharedInbox() {
			t.Fatalf("Key: %+v cached=%v err=%v", got, cached, err)
		}
		if n, err := storagetest.CountActors(ctx, store); err != nil || n != 0 {
			t.Errorf("cached before the caller stored it: %d, %v", n, err)
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
		if err != nil || got.IRI != bob.IRI || got.Inbox != bob.Inbox || !bob.Key.PublicKey.Equal(pub) {
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
		if err != nil || got.IRI != carol.IRI || got.Inbox != carol.Inbox || got.SharedInbox != inst.SharedInbox() || !carol.Key.PublicKey.Equal(pub) {
			t.Fatalf("key served as an actor stub: %+v %v", got, err)
		}

		// A key document whose owner lists another key.
		mallory := inst.NewActor("mallory")
		inst.ServeAs("/keys/stolen", "application/activity+json", []byte(`{"id":"`+inst.Base+`/keys/stolen","owner":"`+mallory.IRI+`","publicKeyPem":"x"}`))
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

// TestKeyDocumentRules: a document served somewhere on a host cannot speak for an actor of that host. Each forged
// or misserved key is refused with the rule it breaks and nothing is cached; the legitimate shapes (Mastodon's
// #main-key, a bare key document, GoToSocial's minimal actor at …/main-key) resolve.
func TestKeyDocumentRules(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		inst := fedtest.NewInstance(t, "big")
		elsewhere := fedtest.NewInstance(t, "elsewhere")
		actors := NewActors(New(Config{AllowPrivate: true, UserAgent: "memo/test"}), store)
		victim := inst.NewActor("victim")
		attacker := elsewhere.NewActor("attacker") // only its key is used
		pem := attacker.PublicKeyPEM()
		doc := func(m map[string]any) []byte {
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		const ap = "application/activity+json"
		forgedActor := func(id, keyID string) []byte {
			return doc(map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Person",
				"preferredUsername": "victim", "name": "Victim", "inbox": id + "/inbox",
				"publicKey": map[string]any{"id": keyID, "owner": id, "publicKeyPem": pem}})
		}

		// A user upload on the victim's host: the victim's actor, with the attacker's key named by the upload's URL.
		inst.ServeAs("/uploads/actor.json", ap, forgedActor(victim.IRI, inst.Base+"/uploads/actor.json"))
		// The same as a bare key naming the victim as owner.
		inst.ServeAs("/uploads/key.json", ap, doc(map[string]any{"id": inst.Base + "/uploads/key.json", "owner": victim.IRI, "publicKeyPem": pem}))
		// A bare key whose id is not its URL.
		inst.ServeAs("/uploads/key2.json", ap, doc(map[string]any{"id": victim.KeyID, "owner": victim.IRI, "publicKeyPem": pem}))
		// A document at a #fragment key URL whose id is another actor's.
		inst.ServeAs("/users/impostor", ap, forgedActor(victim.IRI, inst.Base+"/users/impostor#main-key"))
		// The victim's own key URL, served as text/plain, as JSON, as HTML.
		inst.ServeAs("/uploads/plain.json", "text/plain; charset=utf-8", forgedActor(inst.Base+"/uploads/plain.json", inst.Base+"/uploads/plain.json"))
		inst.ServeAs("/uploads/json.json", "application/json", forgedActor(inst.Base+"/uploads/json.json", inst.Base+"/uploads/json.json"))
		inst.ServeAs("/uploads/page.html", "text/html", forgedActor(inst.Base+"/uploads/page.html", inst.Base+"/uploads/page.html"))
		// An open redirect on the victim's host, to a document on the attacker's host claiming the victim.
		elsewhere.ServeAs("/evil", ap, forgedActor(victim.IRI, inst.Base+"/redirect"))
		inst.Redirect("/redirect", elsewhere.Base+"/evil")
		inst.Redirect("/users/moved", elsewhere.Base+"/evil")
		// A key whose owner is on another host.
		inst.ServeAs("/keys/foreign-owner", ap, doc(map[string]any{"id": inst.Base + "/keys/foreign-owner", "owner": attacker.IRI, "publicKeyPem": pem}))

		cases := []struct {
			name, keyID string
			want        error
		}{
			{"an upload claiming the victim's actor", inst.Base + "/uploads/actor.json", ErrKeyMismatch},
			{"an uploaded bare key naming the victim as owner", inst.Base + "/uploads/key.json", ErrKeyMismatch},
			{"a bare key whose id is not its URL", inst.Base + "/uploads/key2.json", ErrIDMismatch},
			{"a #fragment key whose document has another id", inst.Base + "/users/impostor#main-key", ErrIDMismatch},
			{"text/plain", inst.Base + "/uploads/plain.json", ErrContentType},
			{"application/json", inst.Base + "/uploads/json.json", ErrContentType},
			{"text/html", inst.Base + "/uploads/page.html", ErrContentType},
			{"a key URL redirecting to another host", inst.Base + "/redirect", ErrRedirectOffHost},
			{"a #fragment key URL redirecting to another host", inst.Base + "/users/moved#main-key", ErrRedirectOffHost},
			{"a bare key owned on another host", inst.Base + "/keys/foreign-owner", ErrKeyMismatch},
			{"not an http(s) URL", "ftp://" + inst.Host + "/key", nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, _, _, err := actors.Key(ctx, c.keyID, false)
				if err == nil {
					t.Fatalf("accepted as %s", got.IRI)
				}
				if c.want != nil && !errors.Is(err, c.want) {
					t.Errorf("err %v, want %v", err, c.want)
				}
			})
		}
		if n, err := storagetest.CountActors(ctx, store); err != nil || n != 0 {
			t.Errorf("actors cached after the refusals: %d, %v", n, err)
		}

		// Actor: the document at an actor's URL must have that id.
		inst.ServeAs("/users/alias", ap, victim.Document())
		if _, err := actors.Actor(ctx, inst.Base+"/users/alias", true); !errors.Is(err, ErrIDMismatch) {
			t.Errorf("actor whose id is not its URL: %v, want ErrIDMismatch", err)
		}
		if _, err := actors.Actor(ctx, inst.Base+"/uploads/plain.json", true); !errors.Is(err, ErrContentType) {
			t.Errorf("actor served as text/plain: %v, want ErrContentType", err)
		}
		if n, err := storagetest.CountActors(ctx, store); err != nil || n != 0 {
			t.Errorf("actors cached after the refusals: %d, %v", n, err)
		}

		// The legitimate shapes.
		if got, pub, _, err := actors.Key(ctx, victim.KeyID, false); err != nil || got.IRI != victim.IRI || !victim.Key.PublicKey.Equal(pub) {
			t.Errorf("Mastodon #main-key: %+v %v", got, err)
		}
		bare := inst.NewActor("bare")
		bare.UseBareKey()
		if got, pub, _, err := actors.Key(ctx, bare.KeyID, false); err != nil || got.IRI != bare.IRI || !bare.Key.PublicKey.Equal(pub) {
			t.Errorf("bare key document: %+v %v", got, err)
		}
		gts := inst.NewActor("gts")
		gts.UseBareKey()
		inst.ServeAs("/users/gts/main-key", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`, doc(map[string]any{
			"@context": []string{"https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"},
			"id":       gts.IRI, "type": "Person", "preferredUsername": "gts",
			"publicKey": map[string]string{"id": gts.KeyID, "owner": gts.IRI, "publicKeyPem": gts.PublicKeyPEM()},
		}))
		if got, pub, _, err := actors.Key(ctx, gts.KeyID, false); err != nil || got.IRI != gts.IRI || got.Inbox != gts.Inbox || !gts.Key.PublicKey.Equal(pub) {
			t.Errorf("GoToSocial minimal actor at the key URL: %+v %v", got, err)
		}
		// A minimal actor at a key URL only points: the actor it names must list that key.
		inst.ServeAs("/uploads/stub.json", ap, doc(map[string]any{"id": victim.IRI, "type": "Person",
			"publicKey": map[string]string{"id": inst.Base + "/uploads/stub.json", "owner": victim.IRI, "publicKeyPem": pem}}))
		if _, _, _, err := actors.Key(ctx, inst.Base+"/uploads/stub.json", false); !errors.Is(err, ErrKeyMismatch) {
			t.Errorf("a minimal actor pointing at an actor that does not list the key: %v, want ErrKeyMismatch", err)
		}
		// …and be on the key's origin.
		inst.ServeAs("/uploads/stub2.json", ap, doc(map[string]any{"id": attacker.IRI, "type": "Person"}))
		if _, _, _, err := actors.Key(ctx, inst.Base+"/uploads/stub2.json", false); !errors.Is(err, ErrIDMismatch) {
			t.Errorf("a minimal actor pointing to another host: %v, want ErrIDMismatch", err)
		}
	})
}

// TestParseActorMultikeys: an Ed25519 Multikey of assertionMethod (FEP-521a) is kept only when the actor controls it
// and it is named within the actor's document.
func TestParseActorMultikeys(t *testing.T) {
	const key = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
	doc := `{"id":"https://a.example/users/a","type":"Person","inbox":"https://a.example/users/a/inbox","name":"A",
"assertionMethod":[
 {"id":"https://a.example/users/a#ed25519-key","type":"Multikey","controller":"https://a.example/users/a","publicKeyMultibase":"` + key + `"},
 {"id":"https://a.example/users/b#ed25519-key","type":"Multikey","controller":"https://a.example/users/a","publicKeyMultibase":"` + key + `"},
 {"id":"https://a.example/users/a#other","type":"Multikey","controller":"https://a.example/users/b","publicKeyMultibase":"` + key + `"},
 {"id":"https://a.example/users/a#rsa","type":"Multikey","controller":"https://a.example/users/a","publicKeyMultibase":"zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"},
 {"id":"https://a.example/users/a","type":"Multikey","controller":"https://a.example/users/a","publicKeyMultibase":"` + key + `"}
]}`
	d, err := ParseActor([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Multikeys) != 1 || d.Multikeys["https://a.example/users/a#ed25519-key"] == nil {
		t.Fatalf("multikeys %v, want only #ed25519-key", d.Multikeys)
	}
	single := strings.Replace(doc, `"assertionMethod":[`, `"assertionMethod":`, 1)
	single = single[:strings.Index(single, "},")+1] + "}"
	if d, err := ParseActor([]byte(single)); err != nil || len(d.Multikeys) != 1 {
		t.Fatalf("one assertionMethod object: %v %v", d.Multikeys, err)
	}
}
