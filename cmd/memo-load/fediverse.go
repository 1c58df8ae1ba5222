package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/memo-fediverse/memo/federation/httpsign"
)

// fediverse is K simulated instances on loopback. Each listens on an address of its own in 127.64.0.0/10 and
// sends from it, so the server sees K hosts and K client addresses, as it would on the internet (its rate limits
// are per address and per host). Actors share a pool of real RSA-2048 keys: generating 20,000 keys would take
// minutes and prove nothing more, while every actor still has its own keyId and actor document, which the server
// fetches and caches one by one.
type fediverse struct {
	instances []*instance
	keys      []*rsa.PrivateKey
	pemJSON   [][]byte // each key's PEM, encoded as a JSON string

	ourKeyID string // the memo actor's key, which deliveries must be signed with
	ourKey   atomic.Pointer[rsa.PublicKey]
	ourHost  string

	updates       atomic.Int64 // instances that acknowledged an Update
	expectUpdates atomic.Int64 // instances with followers, which the fan-out waits for
	updateAfter   atomic.Int64 // Unix ns: only Updates received after this count
	allUpdated    chan struct{}
	closeOnce     sync.Once
}

// instance is one simulated server.
type instance struct {
	fed    *fediverse
	idx    int
	ip     string
	Host   string // ip:port
	Base   string
	srv    *http.Server
	client *http.Client

	mu         sync.Mutex
	byType     map[string]int
	badSig     int
	lastErr    string
	gotUpdate  bool
	actorFetch atomic.Int64
}

func instanceIP(i int) string { return fmt.Sprintf("127.%d.%d.%d", 64+i/62500, (i/250)%250+1, i%250+1) }

// newFediverse starts k instances and makes keys keys.
func newFediverse(k, keys int, ourBase, ourKeyID string) (*fediverse, error) {
	f := &fediverse{ourKeyID: ourKeyID, ourHost: strings.TrimPrefix(strings.TrimPrefix(ourBase, "http://"), "https://"), allUpdated: make(chan struct{})}
	f.keys = make([]*rsa.PrivateKey, keys)
	f.pemJSON = make([][]byte, keys)
	var wg sync.WaitGroup
	var kerr error
	var kmu sync.Mutex
	for i := range keys {
		wg.Go(func() {
			key, err := rsa.GenerateKey(rand.Reader, 2048)
			if err == nil {
				f.keys[i] = key
				var pem string
				if pem, err = httpsign.PublicKeyPEM(&key.PublicKey); err == nil {
					f.pemJSON[i], err = json.Marshal(pem)
				}
			}
			if err != nil {
				kmu.Lock()
				kerr = err
				kmu.Unlock()
			}
		})
	}
	wg.Wait()
	if kerr != nil {
		return nil, fmt.Errorf("generate keys: %w", kerr)
	}
	for i := range k {
		inst, err := f.start(i)
		if err != nil {
			f.close()
			return nil, err
		}
		f.instances = append(f.instances, inst)
	}
	return f, nil
}

func (f *fediverse) start(i int) (*instance, error) {
	ip := instanceIP(i)
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		return nil, fmt.Errorf("instance %d: listen on %s: %w", i, ip, err)
	}
	inst := &instance{fed: f, idx: i, ip: ip, Host: ln.Addr().String(), byType: map[string]int{}}
	inst.Base = "http://" + inst.Host
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	inst.client = &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DialContext: dialer.DialContext, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second,
		},
	}
	inst.srv = &http.Server{Handler: inst, ReadHeaderTimeout: 10 * time.Second}
	go inst.srv.Serve(ln)
	return inst, nil
}

func (f *fediverse) close() {
	for _, inst := range f.instances {
		inst.srv.Close()
		inst.client.CloseIdleConnections()
	}
}

// actor names the g-th actor of the whole fediverse: it lives on instance g mod K.
type actor struct {
	inst  *instance
	name  string
	IRI   string
	KeyID string
	key   *rsa.PrivateKey
}

func (f *fediverse) actor(g int) actor {
	inst := f.instances[g%len(f.instances)]
	name := fmt.Sprintf("u%d", g)
	iri := inst.Base + "/users/" + name
	return actor{inst: inst, name: name, IRI: iri, KeyID: iri + "#main-key", key: f.keys[g%len(f.keys)]}
}

// keyIndex recovers the pool key of actor uG.
func (f *fediverse) keyIndex(name string) (int, bool) {
	var g int
	if _, err := fmt.Sscanf(name, "u%d", &g); err != nil || g < 0 {
		return 0, false
	}
	return g % len(f.keys), true
}

func (inst *instance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/users/"):
		inst.serveActor(w, r)
	case r.Method == http.MethodPost && (r.URL.Path == "/inbox" || strings.HasSuffix(r.URL.Path, "/inbox")):
		inst.serveInbox(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (inst *instance) serveActor(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/users/")
	k, ok := inst.fed.keyIndex(name)
	if !ok || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	inst.actorFetch.Add(1)
	w.Header().Set("Content-Type", "application/activity+json")
	w.Write(inst.actorDoc(name, k))
}

// actorDoc is actor name's document, with the members Mastodon sends, appended from parts encoded once: a burst's
// first contacts fetch 20,000 of them from the cores the server is measured on, and encoding a map for each took
// a share of those cores that real instances, on machines of their own, would not. name is "uN" and the base an
// address and port, so neither needs escaping; the key's PEM was encoded as a JSON string once.
func (inst *instance) actorDoc(name string, k int) []byte {
	iri := inst.Base + "/users/" + name
	b := make([]byte, 0, 768+len(inst.fed.pemJSON[k]))
	b = append(b, `{"@context":["https://www.w3.org/ns/activitystreams","https://w3id.org/security/v1"],"id":"`...)
	b = append(b, iri...)
	b = append(b, `","type":"Person","preferredUsername":"`...)
	b = append(b, name...)
	b = append(b, `","name":"Load `...)
	b = append(b, name...)
	b = append(b, `","url":"`...)
	b = append(b, inst.Base...)
	b = append(b, "/@"...)
	b = append(b, name...)
	for _, m := range [...]string{"inbox", "outbox", "followers"} {
		b = append(b, `","`...)
		b = append(b, m...)
		b = append(b, `":"`...)
		b = append(b, iri...)
		b = append(b, '/')
		b = append(b, m...)
	}
	b = append(b, `","endpoints":{"sharedInbox":"`...)
	b = append(b, inst.Base...)
	b = append(b, `/inbox"},"publicKey":{"id":"`...)
	b = append(b, iri...)
	b = append(b, `#main-key","owner":"`...)
	b = append(b, iri...)
	b = append(b, `","publicKeyPem":`...)
	b = append(b, inst.fed.pemJSON[k]...)
	return append(b, "}}"...)
}

// serveInbox checks a delivery as a strict Mastodon does (signature with the memo actor's key, Digest, Date,
// Host) and counts it by activity type.
func (inst *instance) serveInbox(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if err := inst.fed.verify(r, body, inst.Host); err != nil {
		inst.mu.Lock()
		inst.badSig++
		inst.lastErr = err.Error()
		inst.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	typ := activityType(body)
	inst.mu.Lock()
	inst.byType[typ]++
	first := typ == "Update" && !inst.gotUpdate && time.Now().UnixNano() > inst.fed.updateAfter.Load() && inst.fed.updateAfter.Load() > 0
	if first {
		inst.gotUpdate = true
	}
	inst.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	if first && inst.fed.updates.Add(1) == inst.fed.expectUpdates.Load() {
		inst.fed.closeOnce.Do(func() { close(inst.fed.allUpdated) })
	}
}

// activityType reads an activity's top-level type. Decoding a whole Update (the memo's full text, twice) for each of
// a thousand instances takes CPU from the cores the server is being measured on; Go writes object keys sorted, so
// the server's activities end with their type: `"type":"Update"}`. A value found there is
// the top-level one only when a single brace follows it; anything else is decoded whole.
func activityType(body []byte) string {
	trimmed := bytes.TrimRight(body, " \n\r\t")
	if rest, ok := bytes.CutSuffix(trimmed, []byte(`"}`)); ok {
		if i := bytes.LastIndex(rest, []byte(`"type":"`)); i >= 0 {
			if v := rest[i+len(`"type":"`):]; !bytes.ContainsAny(v, `"\{}`) {
				return string(v)
			}
		}
	}
	var act struct {
		Type string `json:"type"`
	}
	json.Unmarshal(body, &act)
	return act.Type
}

func (f *fediverse) verify(r *http.Request, body []byte, host string) error {
	p, err := httpsign.ReadRequest(r.Header)
	if err != nil {
		return err
	}
	if p.KeyID != f.ourKeyID {
		return fmt.Errorf("signed with %s, want %s", p.KeyID, f.ourKeyID)
	}
	if e := p.Request(r, body, host, time.Now()); e != nil {
		return e
	}
	pub := f.ourKey.Load()
	if pub == nil {
		return fmt.Errorf("memo actor's key not loaded")
	}
	return httpsign.VerifySignature(r, p, pub)
}

// loadOurKey fetches the memo actor's public key once, as a remote server would on its first delivery.
func (f *fediverse) loadOurKey(ctx context.Context, actorIRI string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, actorIRI, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch actor %s: %w", actorIRI, err)
	}
	defer resp.Body.Close()
	var doc struct {
		PublicKey struct {
			ID  string `json:"id"`
			PEM string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return fmt.Errorf("actor %s: %w", actorIRI, err)
	}
	if doc.PublicKey.ID != f.ourKeyID {
		return fmt.Errorf("actor %s publishes key %q, want %s", actorIRI, doc.PublicKey.ID, f.ourKeyID)
	}
	pub, err := httpsign.ParsePublicKeyPEM(doc.PublicKey.PEM)
	if err != nil {
		return fmt.Errorf("actor %s: %w", actorIRI, err)
	}
	f.ourKey.Store(pub)
	return nil
}

// received sums what every instance's inboxes accepted, by activity type, and the deliveries refused.
func (f *fediverse) received() (map[string]int, int, string) {
	total := map[string]int{}
	bad, last := 0, ""
	for _, inst := range f.instances {
		inst.mu.Lock()
		for t, n := range inst.byType {
			total[t] += n
		}
		bad += inst.badSig
		if inst.lastErr != "" {
			last = inst.lastErr
		}
		inst.mu.Unlock()
	}
	return total, bad, last
}

// actorFetches is how many actor documents the server fetched.
func (f *fediverse) actorFetches() int64 {
	var n int64
	for _, inst := range f.instances {
		n += inst.actorFetch.Load()
	}
	return n
}
