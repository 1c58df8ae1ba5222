package fedtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"sync/atomic"

	"github.com/memo-fediverse/memo/federation/httpsign"
)

// Simulated accounts and their documents, as Mastodon publishes them.

// Actor is a simulated account.
type Actor struct {
	Instance *Instance
	Username string
	IRI      string
	KeyID    string
	Inbox    string
	Type     string
	Name     string
	Key      *rsa.PrivateKey
	OldKey   *rsa.PrivateKey
	// EdKey, when set (UseEd25519), is published as a Multikey in assertionMethod under EdKeyID.
	EdKey   ed25519.PrivateKey
	EdKeyID string

	Gone    atomic.Bool
	BareKey bool
}

// newKey makes a 2048-bit key, the size peers use.
func newKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// NewActor adds a Person named username.
func (i *Instance) NewActor(username string) *Actor {
	a := &Actor{
		Instance: i, Username: username, IRI: i.Base + "/users/" + username, Type: "Person", Name: strings.ToUpper(username[:1]) + username[1:],
		Key: newKey(),
	}
	a.KeyID = a.IRI + "#main-key"
	a.Inbox = a.IRI + "/inbox"
	i.mu.Lock()
	i.actors[username] = a
	i.mu.Unlock()
	return a
}

// NewActorWithKey adds a Person named username that signs with key: many actors without a key generation each.
func (i *Instance) NewActorWithKey(username string, key *rsa.PrivateKey) *Actor {
	a := &Actor{
		Instance: i, Username: username, IRI: i.Base + "/users/" + username, Type: "Person", Name: username,
		Key: key,
	}
	a.KeyID = a.IRI + "#main-key"
	a.Inbox = a.IRI + "/inbox"
	i.mu.Lock()
	i.actors[username] = a
	i.mu.Unlock()
	return a
}

// UseBareKey makes the actor's keyId a separate key document at IRI/main-key (GoToSocial's key path).
func (a *Actor) UseBareKey() {
	a.BareKey = true
	a.KeyID = a.IRI + "/main-key"
}

// UseEd25519 gives the actor an Ed25519 key, published in its document as a FEP-521a Multikey.
func (a *Actor) UseEd25519() {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	a.EdKey, a.EdKeyID = priv, a.IRI+"#ed25519-key"
}

// RotateKey gives the actor a new key and keeps the previous one in OldKey.
func (a *Actor) RotateKey() {
	a.OldKey = a.Key
	a.Key = newKey()
}

// Document is the actor's JSON as Mastodon publishes it.
func (a *Actor) Document() []byte {
	pem, _ := httpsign.PublicKeyPEM(&a.Key.PublicKey)
	doc := map[string]any{
		"@context":          []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":                a.IRI,
		"type":              a.Type,
		"preferredUsername": a.Username,
		"name":              a.Name,
		"url":               a.Instance.Base + "/@" + a.Username,
		"inbox":             a.Inbox,
		"outbox":            a.IRI + "/outbox",
		"followers":         a.IRI + "/followers",
		"endpoints":         map[string]any{"sharedInbox": a.Instance.SharedInbox()},
		"publicKey":         map[string]any{"id": a.KeyID, "owner": a.IRI, "publicKeyPem": pem},
	}
	if a.EdKey != nil {
		doc["@context"] = append(doc["@context"].([]any), "https://w3id.org/security/multikey/v1")
		doc["assertionMethod"] = []any{map[string]any{
			"id": a.EdKeyID, "type": "Multikey", "controller": a.IRI,
			"publicKeyMultibase": httpsign.EncodeMultikey(a.EdKey.Public().(ed25519.PublicKey)),
		}}
	}
	b, _ := json.Marshal(doc)
	return b
}

// ReducedDocument is the actor as Mastodon in authorized-fetch mode serves it to an unsigned GET: only id, type,
// preferredUsername, inbox, outbox, publicKey and endpoints (AccountsController#restrict_fields_to).
func (a *Actor) ReducedDocument() []byte {
	var full map[string]any
	json.Unmarshal(a.Document(), &full)
	for _, k := range []string{"name", "url", "followers"} {
		delete(full, k)
	}
	b, _ := json.Marshal(full)
	return b
}

// PublicKeyPEM is the actor's current public key as its document publishes it.
func (a *Actor) PublicKeyPEM() string {
	pem, _ := httpsign.PublicKeyPEM(&a.Key.PublicKey)
	return pem
}
