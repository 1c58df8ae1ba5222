package fetch

import (
	"context"
	"crypto"
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
		docIRI, _, _ := strings.Cut(keyID, "#")
		if docIRI == keyID {
			docIRI = "" // a key id without a fragment names no document to look in
		}
		byKey, byDoc, err := a.store.KeyCandidates(ctx, keyID, docIRI)
		if err != nil {
			return actor, nil, false, err
		}
		switch {
		case byKey != nil:
			if !byKey.Deleted() && byKey.PublicKeyPEM != "" {
				if pub, err := httpsign.ParsePublicKeyPEM(byKey.PublicKeyPEM); err == nil {
					return *byKey, pub, true, nil
				}
			}
		case byDoc != nil && !byDoc.Deleted():
			// Nobody holds the key id: it may be another key of the document (an RFC 9421 Ed25519 key).
			if pub, err := ActorKey(*byDoc, keyID); err == nil {
				return *byDoc, pub, true, nil
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

// Client is the fetch client the resolver uses, for callers that fetch other documents with the same policy.
func (a *Actors) Client() *Client { return a.client }
