package fetch

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/storage"
)

// RefetchEvery limits how often one key is fetched again after a signature failed with the cached copy: enough
// for key rotation, not a way to make us hammer a server with forged requests.
const RefetchEvery = 10 * time.Minute

// ErrKeyMismatch is returned when a key document does not belong where its keyId says.
var ErrKeyMismatch = errors.New("key does not belong to its actor")

// Actors resolves remote actors and their keys, through the cache in storage.
type Actors struct {
	client *Client
	store  *storage.Store

	mu          sync.Mutex
	lastRefetch map[string]time.Time
}

// NewActors builds a resolver fetching with client and caching in store.
func NewActors(client *Client, store *storage.Store) *Actors {
	return &Actors{client: client, store: store, lastRefetch: map[string]time.Time{}}
}

// Key returns the actor owning keyID and its public key, from the cache unless refresh is set or the cache lacks
// it. fromCache tells whether the answer came from the cache (a failed verification may then refetch once); a
// fetched actor is not cached until the caller stores it (the inbox does, with the activity it verified).
//
// The key is the actor's RSA publicKey, or an Ed25519 key of its FEP-521a assertionMethod (a Multikey whose
// controller is the actor), which RFC 9421 signatures may use; the cache keeps the actor's document, in which the
// latter is found again.
func (a *Actors) Key(ctx context.Context, keyID string, refresh bool) (actor storage.RemoteActor, pub crypto.PublicKey, fromCache bool, err error) {
	if !refresh {
		cached, err := a.store.ActorByKeyID(ctx, keyID)
		if err == nil && !cached.Deleted() && cached.PublicKeyPEM != "" {
			pub, err := httpsign.ParsePublicKeyPEM(cached.PublicKeyPEM)
			if err == nil {
				return cached, pub, true, nil
			}
		} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return actor, nil, false, err
		}
		if docIRI, _, ok := strings.Cut(keyID, "#"); ok && err != nil {
			if cached, err := a.store.Actor(ctx, docIRI); err == nil && !cached.Deleted() {
				if pub, err := ActorKey(cached, keyID); err == nil {
					return cached, pub, true, nil
				}
			}
		}
	}
	actor, err = a.fetchKeyOwner(ctx, keyID)
	if err != nil {
		return actor, nil, false, err
	}
	pub, err = ActorKey(actor, keyID)
	if err != nil {
		return actor, nil, false, fmt.Errorf("key %s: %w", keyID, err)
	}
	return actor, pub, false, nil
}

// ActorKey returns the public key keyID of a verified actor: its RSA publicKey, or an Ed25519 Multikey of its
// assertionMethod found in its stored document.
func ActorKey(actor storage.RemoteActor, keyID string) (crypto.PublicKey, error) {
	if keyID == actor.KeyID {
		return httpsign.ParsePublicKeyPEM(actor.PublicKeyPEM)
	}
	doc, err := ParseActor([]byte(actor.Raw))
	if err != nil {
		return nil, err
	}
	if doc.ID != actor.IRI {
		return nil, fmt.Errorf("stored document of %s has id %q", actor.IRI, doc.ID)
	}
	if k, ok := doc.Multikeys[keyID]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("actor %s publishes no key %s: %w", actor.IRI, keyID, ErrKeyMismatch)
}

// MayRefetch tells whether keyID may be fetched again now, and if so records that it is.
func (a *Actors) MayRefetch(keyID string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if last, ok := a.lastRefetch[keyID]; ok && now.Sub(last) < RefetchEvery {
		return false
	}
	if len(a.lastRefetch) > 10000 {
		// Forged requests naming many keys must not grow the map for ever; expired entries limit nothing.
		for k, t := range a.lastRefetch {
			if now.Sub(t) >= RefetchEvery {
				delete(a.lastRefetch, k)
			}
		}
	}
	a.lastRefetch[keyID] = now
	return true
}

// fetchKeyOwner fetches keyID's document and returns the actor that owns the key, under these rules (Mastodon's
// ActivityPub::FetchRemoteKeyService, after CVE-2024-23832), so that no document elsewhere on a host can speak for
// one of its actors:
//   - a key URL with a fragment (…/users/a#main-key: Mastodon, Pleroma, Misskey) names a part of the actor
//     document at the URL without it; that document's id must be that URL, and its publicKey must have the key's id;
//   - a key URL without fragment may answer the actor itself (id: the key URL), or a bare key document (id: the key
//     URL, owner: the actor) whose owner, fetched at its own id and on the key's origin, lists that key back;
//   - any other document at a key URL is not trusted at all: GoToSocial answers …/main-key with a minimal actor
//     whose id is the actor's. Only that id is used, to fetch the actor from its own URL (same origin as the key),
//     and that actor must list the key.
//
// Every fetch is under the document rules (redirects within the origin, ActivityPub content type).
func (a *Actors) fetchKeyOwner(ctx context.Context, keyID string) (storage.RemoteActor, error) {
	var none storage.RemoteActor
	keyURL, err := url.Parse(keyID)
	if err != nil || (keyURL.Scheme != "https" && keyURL.Scheme != "http") || keyURL.Host == "" {
		return none, fmt.Errorf("keyId %q is not an http(s) URL", keyID)
	}
	// Cut rather than re-serialise: the ids are compared as strings, as they were written.
	docIRI, _, _ := strings.Cut(keyID, "#")
	doc, err := a.document(ctx, docIRI)
	if err != nil {
		return none, fmt.Errorf("key %s: %w", keyID, err)
	}
	switch {
	case docIRI != keyID:
		// The key is a part of the actor document fetched.
		if doc.ID != docIRI || doc.Actor.IRI == "" {
			return none, fmt.Errorf("key %s: the document at %s has id %q: %w", keyID, docIRI, doc.ID, ErrIDMismatch)
		}
	case doc.Actor.IRI == "" && doc.Owner != "":
		// A bare key: it must be the document at its URL, and its owner, on the same origin, must publish it.
		if doc.ID != keyID {
			return none, fmt.Errorf("key %s: the key document has id %q: %w", keyID, doc.ID, ErrIDMismatch)
		}
		if !SameOrigin(doc.Owner, keyID) {
			return none, fmt.Errorf("key %s owned by %s: %w", keyID, doc.Owner, ErrKeyMismatch)
		}
		owner, err := a.actorAt(ctx, doc.Owner)
		if err != nil {
			return none, fmt.Errorf("key owner %s: %w", doc.Owner, err)
		}
		doc = owner
	case doc.Actor.IRI == keyID:
		// The actor itself, whose key is named by the actor's URL.
	default:
		// A document at the key URL that is not the key's (GoToSocial's minimal actor): only a pointer.
		if doc.Actor.IRI == "" || !SameOrigin(doc.Actor.IRI, keyID) {
			return none, fmt.Errorf("key %s: the document at that URL has id %q: %w", keyID, doc.ID, ErrIDMismatch)
		}
		full, err := a.actorAt(ctx, doc.Actor.IRI)
		if err != nil {
			return none, fmt.Errorf("actor %s of key %s: %w", doc.Actor.IRI, keyID, err)
		}
		doc = full
	}
	if _, multikey := doc.Multikeys[keyID]; multikey && docIRI != keyID {
		// An Ed25519 key of the actor's assertionMethod (FEP-521a), a part of the actor document: ParseActor kept
		// only those whose controller is the actor.
		return doc.Actor, nil
	}
	if doc.KeyID != keyID {
		return none, fmt.Errorf("actor %s publishes key %q, not %s: %w", doc.Actor.IRI, doc.KeyID, keyID, ErrKeyMismatch)
	}
	if doc.Owner != "" && doc.Owner != doc.Actor.IRI {
		return none, fmt.Errorf("key %s owned by %s, served by %s: %w", keyID, doc.Owner, doc.Actor.IRI, ErrKeyMismatch)
	}
	if !SameOrigin(doc.Actor.IRI, keyID) {
		return none, fmt.Errorf("key %s on another origin than its actor %s: %w", keyID, doc.Actor.IRI, ErrKeyMismatch)
	}
	return doc.Actor, nil
}

// actorAt fetches the actor iri: the document at that URL, whose id must be iri.
func (a *Actors) actorAt(ctx context.Context, iri string) (ActorDoc, error) {
	doc, err := a.document(ctx, iri)
	if err != nil {
		return doc, err
	}
	if doc.ID != iri || doc.Actor.IRI != iri {
		return ActorDoc{}, fmt.Errorf("the document at %s has id %q: %w", iri, doc.ID, ErrIDMismatch)
	}
	return doc, nil
}

// document fetches and reads an actor or key document, unsigned first (Client.GetPublic). Mastodon in
// authorized-fetch mode answers an unsigned request for an actor with a reduced document (id, type,
// preferredUsername, inbox, outbox, publicKey, endpoints: AccountsController#restrict_fields_to), which would cost
// the signer their display name; such a document is fetched again signed, and its host gets signed fetches from
// then on.
func (a *Actors) document(ctx context.Context, iri string) (ActorDoc, error) {
	body, signed, err := a.client.GetPublic(ctx, iri)
	if err != nil {
		return ActorDoc{}, err
	}
	doc, err := ParseActor(body)
	if err != nil || signed || !doc.Reduced || !a.client.CanSign() {
		return doc, err
	}
	a.client.RequireSigned(Host(iri))
	if body, err = a.client.get(ctx, iri, true, true); err != nil {
		return ActorDoc{}, err
	}
	return ParseActor(body)
}

// Actor returns the actor iri, from the cache unless refresh is set or it is missing.
func (a *Actors) Actor(ctx context.Context, iri string, refresh bool) (storage.RemoteActor, error) {
	if !refresh {
		cached, err := a.store.Actor(ctx, iri)
		if err == nil && !cached.Deleted() {
			return cached, nil
		}
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return cached, err
		}
	}
	doc, err := a.actorAt(ctx, iri)
	if err != nil {
		return storage.RemoteActor{}, fmt.Errorf("actor %s: %w", iri, err)
	}
	if err := a.store.PutActor(ctx, doc.Actor); err != nil {
		return storage.RemoteActor{}, err
	}
	return doc.Actor, nil
}

// SameHost tells whether two URLs name the same host (and port), compared in canonical form
// (content.CanonicalHost).
func SameHost(a, b string) bool {
	ha := content.URLHost(a)
	return ha != "" && ha == content.URLHost(b)
}

// Host returns the canonical host (with port when not the default) of a URL, or "" when it has no valid one.
func Host(iri string) string { return content.URLHost(iri) }

// ActorDoc is what ParseActor found: the actor as cached, plus the key's stated owner (or, for a bare key
// document, Owner alone).
type ActorDoc struct {
	// ID is the document's own id: the actor's, or the bare key's.
	ID    string
	Actor storage.RemoteActor
	KeyID string
	Owner string
	// Multikeys are the Ed25519 keys of the actor's assertionMethod (FEP-521a) whose controller is the actor, by id.
	Multikeys map[string]ed25519.PublicKey
	// Reduced is set for an actor (it has an inbox) without a name property: what Mastodon in authorized-fetch
	// mode serves to an unsigned request. A full Mastodon actor always carries a name, empty or not; a server
	// that leaves it out costs one more fetch, signed.
	Reduced bool
}

type keyJSON struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
}

type actorJSON struct {
	ID                string          `json:"id"`
	Type              json.RawMessage `json:"type"`
	PreferredUsername string          `json:"preferredUsername"`
	Name              *string         `json:"name"`
	URL               json.RawMessage `json:"url"`
	Inbox             string          `json:"inbox"`
	Endpoints         struct {
		SharedInbox string `json:"sharedInbox"`
	} `json:"endpoints"`
	PublicKey       json.RawMessage `json:"publicKey"`
	AssertionMethod json.RawMessage `json:"assertionMethod"`
	// Bare key documents.
	Owner        string `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
}

// ParseActor reads an actor document (Person, Service, Application, Group, Organization) as peers publish them,
// or a bare key document (id, owner, publicKeyPem). publicKey may be one object or a list (the first RSA key whose
// owner is the actor wins).
func ParseActor(body []byte) (ActorDoc, error) {
	var doc ActorDoc
	var j actorJSON
	if err := json.Unmarshal(body, &j); err != nil {
		return doc, fmt.Errorf("actor document: %w", err)
	}
	if j.ID == "" {
		return doc, errors.New("actor document: no id")
	}
	if j.PublicKey == nil && j.PublicKeyPem != "" {
		return ActorDoc{ID: j.ID, KeyID: "", Owner: j.Owner, Actor: storage.RemoteActor{PublicKeyPEM: j.PublicKeyPem}}, nil
	}
	typ := FirstString(j.Type)
	if typ == "" {
		return doc, fmt.Errorf("actor %s: no type", j.ID)
	}
	host := Host(j.ID)
	if host == "" {
		return doc, fmt.Errorf("actor %s: id is not a URL", j.ID)
	}
	a := storage.RemoteActor{
		IRI: j.ID, Type: typ, Username: j.PreferredUsername, Domain: host, URL: FirstIRI(j.URL),
		Inbox: j.Inbox, SharedInbox: j.Endpoints.SharedInbox, Raw: string(body),
	}
	if j.Name != nil {
		a.DisplayName = *j.Name
	}
	var keys []keyJSON
	if len(j.PublicKey) > 0 {
		if bytes.HasPrefix(bytes.TrimSpace(j.PublicKey), []byte("[")) {
			json.Unmarshal(j.PublicKey, &keys)
		} else {
			var k keyJSON
			if json.Unmarshal(j.PublicKey, &k) == nil {
				keys = append(keys, k)
			}
		}
	}
	for _, k := range keys {
		if k.PublicKeyPem == "" || (k.Owner != "" && k.Owner != j.ID) {
			continue
		}
		a.KeyID, a.PublicKeyPEM = k.ID, k.PublicKeyPem
		doc.Owner = k.Owner
		break
	}
	doc.ID, doc.Actor, doc.KeyID = j.ID, a, a.KeyID
	doc.Multikeys = multikeys(j.AssertionMethod, j.ID)
	doc.Reduced = j.Name == nil && j.Inbox != ""
	return doc, nil
}

// multikeys reads the Ed25519 Multikeys of an assertionMethod (one object or a list) controlled by actor and
// named within its document (same URL before the fragment); anything else is skipped.
func multikeys(raw json.RawMessage, actor string) map[string]ed25519.PublicKey {
	if len(raw) == 0 {
		return nil
	}
	type multikey struct {
		ID                 string          `json:"id"`
		Type               json.RawMessage `json:"type"`
		Controller         string          `json:"controller"`
		PublicKeyMultibase string          `json:"publicKeyMultibase"`
	}
	var list []multikey
	if json.Unmarshal(raw, &list) != nil {
		var one multikey
		if json.Unmarshal(raw, &one) != nil {
			return nil
		}
		list = []multikey{one}
	}
	out := map[string]ed25519.PublicKey{}
	for _, k := range list {
		doc, _, hasFragment := strings.Cut(k.ID, "#")
		if FirstString(k.Type) != "Multikey" || k.Controller != actor || !hasFragment || doc != actor {
			continue
		}
		if pub, err := httpsign.DecodeMultikey(k.PublicKeyMultibase); err == nil {
			if _, dup := out[k.ID]; !dup {
				out[k.ID] = pub
			}
		}
	}
	return out
}

// FirstString reads a JSON string, or the first string of an array (type may be ["Person", "…"]).
func FirstString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for _, item := range list {
			if json.Unmarshal(item, &s) == nil && s != "" {
				return s
			}
		}
	}
	return ""
}

// FirstIRI reads a link as peers write it: a string, a Link object with href, an object with id, or a list of
// those (the first one wins).
func FirstIRI(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		Href string `json:"href"`
		ID   string `json:"id"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		if obj.Href != "" {
			return obj.Href
		}
		return obj.ID
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for _, item := range list {
			if v := FirstIRI(item); v != "" {
				return v
			}
		}
	}
	return ""
}

// Client is the fetch client the resolver uses, for callers that fetch other documents with the same policy.
func (a *Actors) Client() *Client { return a.client }
