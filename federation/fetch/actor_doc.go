package fetch

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/storage"
)

// Actor and key documents as peers publish them: each implementation writes links, types and keys its own way.

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
