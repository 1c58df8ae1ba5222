package signing

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/federation/httpsign"
)

// Evidence is what proves a signature: the signed inbox request as it was received and the key that verified it.
// Stored as JSON with the signature and exported with --evidence, it lets anyone re-check the HTTP signature
// without trusting this server: rebuild the request from method, path, host and headers, compare the Digest with
// the SHA-256 of the body, and verify the Signature header with the PEM key (draft-cavage, rsa-sha256); or, for an
// RFC 9421 signature, compare Content-Digest with the body and verify Signature-Input and Signature (the key may then
// be Ed25519).
type Evidence struct {
	// Kind is "inbox" for a signed request; "fetched" for a forwarded reply accepted after fetching it from its
	// own server, which carries no HTTP signature of its author.
	Kind     string      `json:"kind"`
	Method   string      `json:"method"`
	Path     string      `json:"path"` // request target: path and query
	Host     string      `json:"host"`
	Headers  http.Header `json:"headers"`
	Body     []byte      `json:"body"` // exact bytes received (base64 in JSON)
	KeyID    string      `json:"key_id"`
	KeyOwner string      `json:"key_owner"`
	KeyPEM   string      `json:"key_pem"`
	// Scheme is the HTTP signature scheme of an inbox request: httpsign.SchemeCavage ("" in evidence kept before RFC
	// 9421 was read) or httpsign.SchemeRFC9421.
	Scheme string `json:"scheme,omitempty"`
	// Origin is the scheme and host the request was sent to, which an RFC 9421 @target-uri covers.
	Origin string `json:"origin,omitempty"`
	// LDSignature is an embedded Linked Data signature of the activity, if it had one.
	LDSignature json.RawMessage `json:"ld_signature,omitempty"`
	ReceivedAt  time.Time       `json:"received_at"`
}

const (
	EvidenceInbox   = "inbox"
	EvidenceFetched = "fetched"
)

// ErrEvidence marks evidence that does not prove its signature.
var ErrEvidence = errors.New("evidence does not verify")

// NewEvidence records a verified inbox request. body must be the exact bytes read from it.
func NewEvidence(r *http.Request, body []byte, keyID, keyOwner, keyPEM string, received time.Time) Evidence {
	h := r.Header.Clone()
	if h.Get("Host") == "" {
		h.Set("Host", r.Host)
	}
	ev := Evidence{
		Kind: EvidenceInbox, Method: r.Method, Path: r.URL.RequestURI(), Host: r.Host, Headers: h, Body: body,
		KeyID: keyID, KeyOwner: keyOwner, KeyPEM: keyPEM, ReceivedAt: received.UTC(), Scheme: httpsign.SchemeCavage,
	}
	if len(h.Values("Signature-Input")) > 0 {
		ev.Scheme = httpsign.SchemeRFC9421
	}
	var act struct {
		Signature json.RawMessage `json:"signature"`
	}
	if json.Unmarshal(body, &act) == nil && len(act.Signature) > 0 {
		ev.LDSignature = act.Signature
	}
	return ev
}

// Marshal encodes the evidence for the store.
func (e Evidence) Marshal() (string, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encode evidence: %w", err)
	}
	return string(b), nil
}

// ParseEvidence decodes stored evidence.
func ParseEvidence(s string) (Evidence, error) {
	var e Evidence
	if err := json.Unmarshal([]byte(s), &e); err != nil {
		return e, fmt.Errorf("%w: unreadable: %v", ErrEvidence, err)
	}
	return e, nil
}

// Verify re-checks, offline, that the evidence proves actorIRI sent noteIRI: the Digest matches the body, the
// signature covers the request target, host, date and digest and verifies with the stored key, the key belongs to
// the actor, and the body is an activity of that actor carrying that note. Evidence of kind "fetched" has no HTTP
// signature; only its body is checked, and ErrUnsigned says so.
func (e Evidence) Verify(actorIRI, noteIRI string) error {
	if err := e.checkBody(actorIRI, noteIRI); err != nil {
		return err
	}
	if e.Kind == EvidenceFetched {
		return ErrUnsigned
	}
	if e.KeyOwner != actorIRI {
		return fmt.Errorf("%w: key %s belongs to %s, not %s", ErrEvidence, e.KeyID, e.KeyOwner, actorIRI)
	}
	if kh, err := hostOf(e.KeyID); err != nil || kh != mustHost(actorIRI) {
		return fmt.Errorf("%w: key %s is not on the actor's host", ErrEvidence, e.KeyID)
	}
	req, err := http.NewRequest(e.Method, "http://"+e.Host+e.Path, bytes.NewReader(e.Body))
	if err != nil {
		return fmt.Errorf("%w: rebuild request: %v", ErrEvidence, err)
	}
	req.Header = e.Headers.Clone()
	req.Host = e.Host
	// The inbox's reader and refusals: a header that httpsig would read otherwise than we do fails here too.
	params, err := httpsign.ReadRequest(req.Header)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrEvidence, err)
	}
	if params.KeyID != e.KeyID {
		return fmt.Errorf("%w: signature keyId %q is not the stored key %q", ErrEvidence, params.KeyID, e.KeyID)
	}
	if want := e.Scheme; want != params.Scheme && !(want == "" && params.Scheme == httpsign.SchemeCavage) {
		return fmt.Errorf("%w: evidence says scheme %q, its headers carry %s", ErrEvidence, want, params.Scheme)
	}
	if params.Scheme == httpsign.SchemeRFC9421 {
		m := params.Message()
		if serr := m.CheckAlgorithm(); serr != nil {
			return fmt.Errorf("%w: %v", ErrEvidence, serr)
		}
		if serr := m.CoversPost(); serr != nil {
			return fmt.Errorf("%w: %v", ErrEvidence, serr)
		}
		if serr := httpsign.CheckContentDigest(e.Headers.Values("Content-Digest"), e.Body); serr != nil {
			return fmt.Errorf("%w: %v", ErrEvidence, serr)
		}
		params.Origin = e.Origin
	} else {
		if err := e.checkDigest(); err != nil {
			return err
		}
		if serr := params.CheckAlgorithm(); serr != nil {
			return fmt.Errorf("%w: %v", ErrEvidence, serr)
		}
		if serr := params.Covers(httpsign.RequiredPostHeaders); serr != nil {
			return fmt.Errorf("%w: %v", ErrEvidence, serr)
		}
	}
	pub, err := httpsign.ParseAnyPublicKeyPEM(e.KeyPEM)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrEvidence, err)
	}
	if err := httpsign.VerifySignature(req, params, pub); err != nil {
		return fmt.Errorf("%w: HTTP signature: %v", ErrEvidence, err)
	}
	return nil
}

// ErrUnsigned tells that evidence holds a fetched note, which has no HTTP signature to re-check.
var ErrUnsigned = errors.New("fetched from the author's server: no HTTP signature to re-check")

func (e Evidence) checkDigest() error {
	want := e.bodySum()
	for _, part := range strings.Split(e.Headers.Get("Digest"), ",") {
		algo, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(algo, "SHA-256") {
			if subtle.ConstantTimeCompare([]byte(val), []byte(want)) == 1 {
				return nil
			}
			return fmt.Errorf("%w: Digest does not match the body", ErrEvidence)
		}
	}
	return fmt.Errorf("%w: no SHA-256 Digest header", ErrEvidence)
}

// bodySum is the base64 SHA-256 of the body, as the Digest header carries it.
func (e Evidence) bodySum() string {
	sum := sha256.Sum256(e.Body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// checkBody requires the body to be an activity by actorIRI whose object is, or names, noteIRI.
func (e Evidence) checkBody(actorIRI, noteIRI string) error {
	var m map[string]any
	if err := json.Unmarshal(e.Body, &m); err != nil {
		return fmt.Errorf("%w: body is not JSON: %v", ErrEvidence, err)
	}
	if e.Kind == EvidenceFetched {
		n, err := NoteFromMap(m)
		if err != nil || n.ID != noteIRI {
			return fmt.Errorf("%w: fetched body is not note %s", ErrEvidence, noteIRI)
		}
		return CheckAuthor(actorIRI, n)
	}
	if idOf(m["actor"]) != actorIRI {
		return fmt.Errorf("%w: body's actor is %q, not %s", ErrEvidence, idOf(m["actor"]), actorIRI)
	}
	if idOf(m["object"]) != noteIRI {
		return fmt.Errorf("%w: body's object is %q, not %s", ErrEvidence, idOf(m["object"]), noteIRI)
	}
	return nil
}

func mustHost(iri string) string {
	h, _ := hostOf(iri)
	return h
}

// RFC9421Headers keeps what re-checking an RFC 9421 signature of r needs, in the form the inbox stores signed
// headers: the request target and host, the origin it was sent to, Signature-Input and Signature, and every covered
// header field.
func RFC9421Headers(r *http.Request, p httpsign.Params) string {
	h := map[string]string{
		"(request-target)": strings.ToLower(r.Method) + " " + r.URL.RequestURI(),
		"host":             r.Host,
		"(origin)":         p.Origin,
		"signature-input":  strings.Join(r.Header.Values("Signature-Input"), ", "),
		"signature":        strings.Join(r.Header.Values("Signature"), ", "),
	}
	for _, c := range p.Headers {
		if !strings.HasPrefix(c, "@") && c != "host" {
			h[c] = strings.Join(r.Header.Values(c), ", ")
		}
	}
	b, _ := json.Marshal(h)
	return string(b)
}
