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
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
