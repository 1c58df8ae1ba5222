package fedtest

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/federation/httpsign"
)

// What an instance answers: its inboxes take POSTs; GETs get WebFinger, actors, keys and documents, signed when
// the instance requires authorized fetch. Both are checked as a strict Mastodon checks signatures.

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
