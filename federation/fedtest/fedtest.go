// Package fedtest simulates the rest of the fediverse for tests: remote instances on loopback, each an
// httptest.Server with its own host (127.0.0.1 and its own port), actors with their own RSA keys, WebFinger,
// actor documents, notes, and inboxes that record what they receive and verify the sender's HTTP signatures.
//
// Typical use:
//
//	inst := fedtest.NewInstance(t, "mastodon")       // a remote server, closed when the test ends
//	alice := inst.NewActor("alice")                   // a Person with a fresh 2048-bit key
//	body := alice.Shape(t, fixture, fedtest.Target{Object: ourActorIRI})
//	resp := alice.Post(t, ourInboxURL, body)          // signed as Mastodon signs
//	inst.TrustKey(ourKeyID, &ourKey.PublicKey)        // or let the instance fetch our key from our actor
//	got := inst.WaitReceived(t, 1, 5*time.Second)     // what our server delivered, signature checked
//
// Knobs for the code under test:
//   - Instance.AuthorizedFetch: actor documents and notes answer 401 to unsigned GETs, as GoToSocial does.
//   - Instance.ReducedActors: an unsigned GET of an actor gets Mastodon's reduced document (no name, no url), as
//     Mastodon in secure mode (authorized fetch) serves it; a signed GET gets the whole actor.
//   - Instance.SetFailure: the inboxes (or one inbox path) answer a status (500, 429 with Retry-After, 410, a
//     redirect…), wait, never answer, or hold each request until the test lets it go, for a number of requests or
//     for ever, to exercise delivery retries.
//   - Instance.SetCheck: a further check of every inbox request (MemoDelivery: what our deliveries promise); a
//     request that fails it is refused as a bad signature is.
//   - Instance.Tally and Instance.Refused: what the inboxes accepted, per path, per activity and per kind, counted
//     on arrival and on answer, and what they refused.
//   - Instance.Handle: serve anything at a path (redirects, huge documents, a handler that never answers).
//   - Instance.ServeAs: serve a document at a path with a given Content-Type (a user upload served as text/plain).
//   - Instance.Redirect: answer a path with a redirect to any URL (an open redirect, a moved document).
//   - Actor.Gone: its document answers 410, as after a Mastodon account deletion.
//   - Actor.BareKey: its keyId names a separate key document (id, owner, publicKeyPem), as some servers publish.
//   - Actor.RotateKey: a new key, as after a key rotation; the old one can still sign (Actor.OldKey).
//   - Actor.UseEd25519: an Ed25519 key published as a FEP-521a Multikey in assertionMethod, for RFC 9421 signatures.
//   - Instance.Only9421: the inboxes refuse draft-cavage signatures (401) and accept only RFC 9421 ones;
//     Instance.RefuseRFC9421 the converse.
//
// The fixtures under testdata/ (Mastodon, GoToSocial, Misskey, Pleroma payloads) become activities of a
// simulated actor with Actor.Shape, which rewrites ids, hosts and the actor while keeping each implementation's
// shape (object as IRI or inline, to/cc as string or list, extra fields).
package fedtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/httpsign"
)

// Instance is one simulated remote server.
type Instance struct {
	Name   string
	Server *httptest.Server
	Base   string // http://127.0.0.1:PORT
	Host   string // 127.0.0.1:PORT

	// AuthorizedFetch makes actor documents and notes require a signed GET.
	AuthorizedFetch atomic.Bool
	// ReducedActors answers unsigned actor GETs with the reduced document of Mastodon's authorized-fetch mode.
	ReducedActors atomic.Bool
	// Only9421 makes the inboxes answer 401 to a draft-cavage signature, as a server that reads only RFC 9421.
	Only9421 atomic.Bool
	// RefuseRFC9421 makes the inboxes answer 401 to an RFC 9421 signature, as a server that reads only draft-cavage.
	RefuseRFC9421 atomic.Bool

	mu       sync.Mutex
	actors   map[string]*Actor
	docs     map[string][]byte
	handlers map[string]http.HandlerFunc
	received []Received
	failure  Failure
	failed   int
	check    func(*http.Request, []byte) error
	tally    Tally
	refused  []string
	trusted  map[string]*rsa.PublicKey
	gets     []*http.Request
	seq      int
	notify   chan struct{}
	software *Software // set by RunAs
}

// NewInstance starts a simulated instance; it closes when the test ends.
func NewInstance(t testing.TB, name string) *Instance {
	t.Helper()
	inst := &Instance{
		Name: name, actors: map[string]*Actor{}, docs: map[string][]byte{}, handlers: map[string]http.HandlerFunc{},
		trusted: map[string]*rsa.PublicKey{}, notify: make(chan struct{}, 1), tally: newTally(),
	}
	inst.Server = httptest.NewServer(http.HandlerFunc(inst.serve))
	// Close may wait for hung handlers; they end with their request context when the client closes.
	t.Cleanup(func() {
		inst.Server.CloseClientConnections()
		inst.Server.Close()
	})
	inst.Base = inst.Server.URL
	inst.Host = strings.TrimPrefix(inst.Base, "http://")
	return inst
}

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

// SharedInbox is the instance's shared inbox.
func (i *Instance) SharedInbox() string { return i.Base + "/inbox" }

// NextID mints a new id on the instance.
func (i *Instance) NextID(kind string) string {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.seq++
	return fmt.Sprintf("%s/%s/%d-%d", i.Base, kind, time.Now().UnixNano(), i.seq)
}

// TrustKey lets the instance verify requests signed with keyID without fetching it.
func (i *Instance) TrustKey(keyID string, pub *rsa.PublicKey) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.trusted[keyID] = pub
}

// AddDocument serves body as application/activity+json at path (e.g. a note).
func (i *Instance) AddDocument(path string, body []byte) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.docs[path] = body
}

// Handle serves path with h, before anything else.
func (i *Instance) Handle(path string, h http.HandlerFunc) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.handlers[path] = h
}

// ServeAs serves body at path with the given Content-Type, to any GET, signed or not: a file a user uploaded, a
// document served as the wrong type, a forged key document.
func (i *Instance) ServeAs(path, contentType string, body []byte) {
	i.Handle(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	})
}

// Redirect answers path with a 302 to target (another path or another host), as an open redirect does.
func (i *Instance) Redirect(path, target string) {
	i.Handle(path, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusFound) })
}

// Gets returns the GET requests the instance answered (headers only), to check signed fetches.
func (i *Instance) Gets() []*http.Request {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]*http.Request(nil), i.gets...)
}

func (i *Instance) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("User-Agent") == "" {
		// GoToSocial does this; a client that forgets its User-Agent should notice in tests.
		http.Error(w, "no User-Agent", http.StatusTeapot)
		return
	}
	i.mu.Lock()
	h := i.handlers[r.URL.Path]
	i.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	if r.Method == http.MethodPost {
		i.serveInbox(w, r)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	i.mu.Lock()
	i.gets = append(i.gets, r.Clone(r.Context()))
	i.mu.Unlock()
	if r.URL.Path == "/.well-known/webfinger" {
		i.serveWebFinger(w, r)
		return
	}
	if i.AuthorizedFetch.Load() {
		if _, err := i.verify(r, nil, false); err != nil {
			http.Error(w, "signed GET required: "+err.Error(), http.StatusUnauthorized)
			return
		}
	}
	i.mu.Lock()
	doc, ok := i.docs[r.URL.Path]
	i.mu.Unlock()
	if ok {
		writeJSON(w, doc)
		return
	}
	name, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/users/"), "/")
	i.mu.Lock()
	a := i.actors[name]
	i.mu.Unlock()
	if !strings.HasPrefix(r.URL.Path, "/users/") || a == nil || (rest != "" && rest != "main-key") {
		http.NotFound(w, r)
		return
	}
	if a.Gone.Load() {
		http.Error(w, "gone", http.StatusGone)
		return
	}
	if rest == "main-key" && a.BareKey {
		pem, _ := httpsign.PublicKeyPEM(&a.Key.PublicKey)
		b, _ := json.Marshal(map[string]any{"@context": "https://w3id.org/security/v1", "id": a.KeyID, "owner": a.IRI, "publicKeyPem": pem})
		writeJSON(w, b)
		return
	}
	if rest != "" {
		http.NotFound(w, r)
		return
	}
	if i.ReducedActors.Load() && httpsign.SignatureHeader(r) == "" {
		writeJSON(w, a.ReducedDocument())
		return
	}
	writeJSON(w, a.Document())
}

func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/activity+json")
	w.Write(b)
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

func (i *Instance) serveWebFinger(w http.ResponseWriter, r *http.Request) {
	res := r.URL.Query().Get("resource")
	user, host, _ := strings.Cut(strings.TrimPrefix(res, "acct:"), "@")
	i.mu.Lock()
	a := i.actors[user]
	i.mu.Unlock()
	if a == nil || host != i.Host {
		http.NotFound(w, r)
		return
	}
	b, _ := json.Marshal(map[string]any{
		"subject": res,
		"links": append([]any{
			map[string]any{"rel": "self", "type": "application/activity+json", "href": a.IRI},
		}, i.webfingerTemplates()...),
	})
	w.Header().Set("Content-Type", "application/jrd+json")
	w.Write(b)
}

// verify checks a request as a strict Mastodon does: the signature, the signed-header set, Date, Digest (on
// POST) and Host. The key comes from TrustKey or is fetched from keyId with a plain GET.
func (i *Instance) verify(r *http.Request, body []byte, post bool) (string, error) {
	p, err := httpsign.ReadRequest(r.Header)
	if err != nil {
		return "", err
	}
	p.Origin = i.Base
	if post {
		if e := p.Request(r, body, i.Host, time.Now()); e != nil {
			return p.KeyID, e
		}
	} else {
		signed := strings.Join(p.Headers, " ")
		for _, h := range httpsign.GetHeaders {
			if !strings.Contains(" "+signed+" ", " "+h+" ") {
				return p.KeyID, fmt.Errorf("GET signature must cover %s", h)
			}
		}
	}
	pub, err := i.key(r, p.KeyID)
	if err != nil {
		return p.KeyID, err
	}
	return p.KeyID, httpsign.VerifySignature(r, p, pub)
}

func (i *Instance) key(r *http.Request, keyID string) (*rsa.PublicKey, error) {
	i.mu.Lock()
	pub := i.trusted[keyID]
	i.mu.Unlock()
	if pub != nil {
		return pub, nil
	}
	u, err := url.Parse(keyID)
	if err != nil {
		return nil, err
	}
	u.Fragment = ""
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	req.Header.Set("Accept", "application/activity+json")
	req.Header.Set("User-Agent", "fedtest")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch key %s: %w", keyID, err)
	}
	defer resp.Body.Close()
	var doc struct {
		PublicKey struct {
			ID  string `json:"id"`
			PEM string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("key %s: %w", keyID, err)
	}
	if doc.PublicKey.ID != keyID {
		return nil, fmt.Errorf("key %s: document publishes %q", keyID, doc.PublicKey.ID)
	}
	return httpsign.ParsePublicKeyPEM(doc.PublicKey.PEM)
}

// PublicKeyPEM is the actor's current public key as its document publishes it.
func (a *Actor) PublicKeyPEM() string {
	pem, _ := httpsign.PublicKeyPEM(&a.Key.PublicKey)
	return pem
}

var (
	serverKeyOnce sync.Once
	serverKey     *rsa.PrivateKey
)

// ServerKey is the key of the server under test: one per test process, since generating one is slow.
func ServerKey() *rsa.PrivateKey {
	serverKeyOnce.Do(func() { serverKey = newKey() })
	return serverKey
}

// MustAccept fails the test unless an inbox answered 202.
func MustAccept(t testing.TB, resp *Response) {
	t.Helper()
	if resp.Status != http.StatusAccepted {
		t.Fatalf("status %d (%s), want 202", resp.Status, strings.TrimSpace(resp.Body))
	}
}

// MustJSON encodes v or fails the test.
func MustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
