package httpsign

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// RFC 9421 HTTP Message Signatures, written here rather than taken from a library: the module proxy served none
// that builds here and passes the RFC's Appendix B vectors (see rfc9421_test.go), and the part the fediverse uses is
// small. Only what a signed inbox POST needs is read: derived components without parameters and header fields.

// Scheme names, as evidence records them.
const (
	SchemeCavage  = "draft-cavage"
	SchemeRFC9421 = "rfc9421"
)

// Algorithms of RFC 9421 we verify. The label is optional: an RSA key without one is read as rsa-v1_5-sha256, the
// algorithm of the RSA keys actors publish (Mastodon signs so).
const (
	AlgRSAv15SHA256 = "rsa-v1_5-sha256"
	AlgRSAPSSSHA512 = "rsa-pss-sha512"
	AlgEd25519      = "ed25519"
)

// Message is a parsed RFC 9421 signature: one label of Signature-Input and of Signature.
type Message struct {
	Label      string
	Components []string // component identifiers, in signing order
	Created    int64    // 0 when absent
	Expires    int64    // 0 when absent
	KeyID      string
	Alg        string
	Signature  []byte
	params     string // the serialized signature parameters: the value of "@signature-params"
}

// signature parameters RFC 9421 defines (section 2.3); any other one is refused.
var knownSigParams = map[string]byte{"created": 'i', "expires": 'i', "keyid": 's', "alg": 's', "nonce": 's', "tag": 's'}

// ReadMessage parses the Signature-Input and Signature fields of h strictly: each field one dictionary (several
// lines are joined with a comma, as HTTP does), one label in both, the same label, components as plain strings
// without parameters and each once, parameters each once and of RFC 9421's names and types, keyid present.
// Several labels are refused rather than one picked: a proxy's added signature would otherwise decide which one
// we check.
func ReadMessage(h http.Header) (Message, error) {
	var m Message
	inLines, sigLines := h.Values("Signature-Input"), h.Values("Signature")
	input, sig := strings.Join(inLines, ", "), strings.Join(sigLines, ", ")
	if len(input) > maxSignatureHeader || len(sig) > maxSignatureHeader {
		return m, errors.New("RFC 9421: Signature-Input or Signature too long")
	}
	if len(sigLines) == 0 || sig == "" {
		return m, errors.New("RFC 9421: Signature-Input without a Signature field")
	}
	inputs, err := parseDictionary(input)
	if err != nil {
		return m, fmt.Errorf("RFC 9421: Signature-Input: %w", err)
	}
	sigs, err := parseDictionary(sig)
	if err != nil {
		return m, fmt.Errorf("RFC 9421: Signature: %w", err)
	}
	if len(inputs) != 1 || len(sigs) != 1 {
		return m, fmt.Errorf("RFC 9421: %d signature inputs and %d signatures: send exactly one", len(inputs), len(sigs))
	}
	in, s := inputs[0], sigs[0]
	if in.key != s.key {
		return m, fmt.Errorf("RFC 9421: Signature-Input label %q but Signature label %q", clip(in.key), clip(s.key))
	}
	if s.isList || s.item.kind != 'b' || len(s.params) > 0 || len(s.item.bytes) == 0 {
		return m, errors.New("RFC 9421: Signature must be one byte sequence (:base64:) without parameters")
	}
	if !in.isList {
		return m, errors.New("RFC 9421: Signature-Input must be an inner list of components")
	}
	m.Label, m.Signature = in.key, s.item.bytes
	seen := map[string]bool{}
	var ser strings.Builder
	ser.WriteByte('(')
	for i, c := range in.list {
		if c.item.kind != 's' {
			return m, errors.New("RFC 9421: a component identifier must be a quoted string")
		}
		if len(c.params) > 0 {
			return m, fmt.Errorf("RFC 9421: component %q has parameters (;%s…), which we do not read", clip(c.item.str), c.params[0].key)
		}
		id := c.item.str
		if id == "" || id != strings.ToLower(id) {
			return m, fmt.Errorf("RFC 9421: component %q must be a lower-case name", clip(id))
		}
		if seen[id] {
			return m, fmt.Errorf("RFC 9421: component %q listed twice", clip(id))
		}
		seen[id] = true
		m.Components = append(m.Components, id)
		if i > 0 {
			ser.WriteByte(' ')
		}
		ser.WriteString(c.item.serialize())
	}
	ser.WriteByte(')')
	for _, q := range in.params {
		kind, ok := knownSigParams[q.key]
		if !ok {
			return m, fmt.Errorf("RFC 9421: unknown signature parameter %q", clip(q.key))
		}
		if q.val.kind != kind {
			return m, fmt.Errorf("RFC 9421: signature parameter %s has the wrong type", q.key)
		}
		switch q.key {
		case "created":
			m.Created = q.val.num
		case "expires":
			m.Expires = q.val.num
		case "keyid":
			m.KeyID = q.val.str
		case "alg":
			m.Alg = q.val.str
		}
	}
	ser.WriteString(serializeParams(in.params))
	m.params = ser.String()
	if m.KeyID == "" {
		return m, errors.New("RFC 9421: no keyid parameter")
	}
	return m, nil
}

// Base builds the signature base of m over r (RFC 9421 section 2.5). origin is the scheme and authority the request
// was sent to as the signer saw it ("https://memo.example"): behind a proxy r itself may not know its scheme.
func (m Message) Base(r *http.Request, origin string) ([]byte, error) {
	var b bytes.Buffer
	for _, id := range m.Components {
		v, err := componentValue(r, origin, id)
		if err != nil {
			return nil, err
		}
		b.WriteString(sfItem{kind: 's', str: id}.serialize() + ": " + v + "\n")
	}
	b.WriteString(`"@signature-params": ` + m.params)
	return b.Bytes(), nil
}

// componentValue derives one component (section 2.2) or reads one header field (section 2.1).
func componentValue(r *http.Request, origin, id string) (string, error) {
	scheme, _, _ := strings.Cut(origin, "://")
	authority := strings.ToLower(r.Host)
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	query := "?" + r.URL.RawQuery
	switch id {
	case "@method":
		return r.Method, nil
	case "@target-uri":
		t := scheme + "://" + authority + path
		if r.URL.RawQuery != "" {
			t += query
		}
		return t, nil
	case "@authority":
		return authority, nil
	case "@scheme":
		return scheme, nil
	case "@request-target":
		return r.URL.RequestURI(), nil
	case "@path":
		return path, nil
	case "@query":
		return query, nil
	}
	if strings.HasPrefix(id, "@") {
		return "", fmt.Errorf("RFC 9421: component %q not supported", clip(id))
	}
	if id == "host" {
		return r.Host, nil
	}
	vals := r.Header.Values(id)
	if len(vals) == 0 {
		return "", fmt.Errorf("RFC 9421: covered header %q is missing", clip(id))
	}
	for i, v := range vals {
		vals[i] = strings.Trim(v, " \t")
	}
	v := strings.Join(vals, ", ")
	if strings.ContainsAny(v, "\r\n") {
		return "", fmt.Errorf("RFC 9421: covered header %q has a line break", clip(id))
	}
	return v, nil
}

// Verify checks m's signature over r with pub: an RSA key (rsa-v1_5-sha256, or rsa-pss-sha512 when alg says so) or
// an Ed25519 key. An alg that does not fit the key is refused.
func (m Message) Verify(r *http.Request, origin string, pub crypto.PublicKey) error {
	base, err := m.Base(r, origin)
	if err != nil {
		return err
	}
	return verifyBase(base, m.Alg, m.Signature, pub)
}

func verifyBase(base []byte, alg string, sig []byte, pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "", AlgRSAv15SHA256:
			sum := sha256.Sum256(base)
			if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig); err != nil {
				return fmt.Errorf("RFC 9421 %s: %w", AlgRSAv15SHA256, err)
			}
			return nil
		case AlgRSAPSSSHA512:
			sum := sha512.Sum512(base)
			if err := rsa.VerifyPSS(k, crypto.SHA512, sum[:], sig, &rsa.PSSOptions{SaltLength: 64}); err != nil {
				return fmt.Errorf("RFC 9421 %s: %w", AlgRSAPSSSHA512, err)
			}
			return nil
		}
	case ed25519.PublicKey:
		if alg == "" || alg == AlgEd25519 {
			if !ed25519.Verify(k, base, sig) {
				return errors.New("RFC 9421 ed25519: verification error")
			}
			return nil
		}
	default:
		return fmt.Errorf("RFC 9421: key of type %T not supported", pub)
	}
	return fmt.Errorf("RFC 9421: algorithm %q not supported with this key (use %s, %s or %s)", clip(alg), AlgRSAv15SHA256, AlgRSAPSSSHA512, AlgEd25519)
}

// CheckAlgorithm refuses an alg label we do not verify at all, before any key is fetched.
func (m Message) CheckAlgorithm() *Error {
	switch m.Alg {
	case "", AlgRSAv15SHA256, AlgRSAPSSSHA512, AlgEd25519:
		return nil
	}
	return refuse(http.StatusUnauthorized, "RFC 9421 signature algorithm %q not supported (use %s, %s or %s)", clip(m.Alg), AlgRSAv15SHA256, AlgRSAPSSSHA512, AlgEd25519)
}

// CoversPost refuses a signature of an inbox POST that lacks what binds it to this request: the method, the
// target (@target-uri, or @authority and @path), and content-digest, whose value binds the body.
func (m Message) CoversPost() *Error {
	has := map[string]bool{}
	for _, c := range m.Components {
		has[c] = true
	}
	switch {
	case !has["@method"]:
		return refuse(http.StatusUnauthorized, "RFC 9421 signature must cover @method (it covers %s)", m.covered())
	case !has["@target-uri"] && !(has["@authority"] && has["@path"]):
		return refuse(http.StatusUnauthorized, "RFC 9421 signature must cover @target-uri, or @authority and @path (it covers %s)", m.covered())
	case !has["content-digest"]:
		return refuse(http.StatusUnauthorized, "RFC 9421 signature must cover content-digest (it covers %s)", m.covered())
	}
	return nil
}

func (m Message) covered() string {
	if len(m.Components) == 0 {
		return "nothing"
	}
	return clip(strings.Join(m.Components, " "))
}

// CheckTime requires created within MaxClockSkew of now, either way, and refuses a signature past its expires.
func (m Message) CheckTime(now time.Time) *Error {
	if m.Created == 0 {
		return refuse(http.StatusUnauthorized, "RFC 9421 signature without created")
	}
	created := time.Unix(m.Created, 0)
	if skew := now.Sub(created); skew > MaxClockSkew {
		return refuse(http.StatusUnauthorized, "RFC 9421 signature created %s is too old (more than %s before our clock)", created.UTC().Format(time.RFC3339), MaxClockSkew)
	} else if -skew > MaxClockSkew {
		return refuse(http.StatusUnauthorized, "RFC 9421 signature created %s is too far ahead (more than %s after our clock)", created.UTC().Format(time.RFC3339), MaxClockSkew)
	}
	if m.Expires != 0 && now.Unix() > m.Expires {
		return refuse(http.StatusUnauthorized, "RFC 9421 signature expired")
	}
	return nil
}

// CheckContentDigest checks the Content-Digest field (RFC 9530) against body: sha-256 and sha-512 are read, others
// skipped; at least one must be there and every one there must match.
func CheckContentDigest(values []string, body []byte) *Error {
	if len(values) == 0 {
		return refuse(http.StatusUnauthorized, "no Content-Digest field")
	}
	d, err := parseDictionary(strings.Join(values, ", "))
	if err != nil {
		return refuse(http.StatusBadRequest, "Content-Digest: %v", err)
	}
	found := false
	for _, e := range d {
		var sum []byte
		switch e.key {
		case "sha-256":
			s := sha256.Sum256(body)
			sum = s[:]
		case "sha-512":
			s := sha512.Sum512(body)
			sum = s[:]
		default:
			continue
		}
		if e.isList || e.item.kind != 'b' {
			return refuse(http.StatusBadRequest, "Content-Digest %s must be a byte sequence", e.key)
		}
		if subtle.ConstantTimeCompare(e.item.bytes, sum) != 1 {
			return refuse(http.StatusUnauthorized, "Content-Digest %s does not match the body", e.key)
		}
		found = true
	}
	if !found {
		return refuse(http.StatusUnauthorized, "no sha-256 or sha-512 in Content-Digest")
	}
	return nil
}

// request checks an inbox POST signed under RFC 9421, as Params.Request does for draft-cavage.
func (m Message) request(r *http.Request, body []byte, host string, now time.Time) *Error {
	if e := m.CheckAlgorithm(); e != nil {
		return e
	}
	if e := m.CoversPost(); e != nil {
		return e
	}
	if !strings.EqualFold(r.Host, host) {
		return refuse(http.StatusBadRequest, "Host %q is not this server (%s)", r.Host, host)
	}
	if e := m.CheckTime(now); e != nil {
		return e
	}
	return CheckContentDigest(r.Header.Values("Content-Digest"), body)
}

// ContentDigest is the Content-Digest field value of body, with SHA-256.
func ContentDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha-256=" + sfItem{kind: 'b', bytes: sum[:]}.serialize()
}

// Sign9421Options says how to sign; zero values give what we send: @method, @target-uri and content-digest,
// rsa-v1_5-sha256 without an alg label, as Mastodon does.
type Sign9421Options struct {
	Components []string
	Alg        string // written into the signature parameters when set
	Label      string // "sig1" by default
	Created    time.Time
	Expires    time.Time // none when zero
}

// SignRequest9421 signs req under RFC 9421 with key (an *rsa.PrivateKey or an ed25519.PrivateKey) under keyID. body
// is the exact request body; Content-Digest is set from it. origin is "scheme://authority" of req's URL.
func SignRequest9421(req *http.Request, body []byte, key crypto.Signer, keyID string, o Sign9421Options) error {
	if o.Label == "" {
		o.Label = "sig1"
	}
	if o.Components == nil {
		o.Components = []string{"@method", "@target-uri", "content-digest"}
	}
	if o.Created.IsZero() {
		o.Created = time.Now()
	}
	req.Host = req.URL.Host
	if body != nil || req.Method == http.MethodPost {
		req.Header.Set("Content-Digest", ContentDigest(body))
	}
	quoted := make([]string, len(o.Components))
	for i, c := range o.Components {
		quoted[i] = sfItem{kind: 's', str: c}.serialize()
	}
	params := []sfParam{{"created", sfItem{kind: 'i', num: o.Created.Unix()}}}
	if !o.Expires.IsZero() {
		params = append(params, sfParam{"expires", sfItem{kind: 'i', num: o.Expires.Unix()}})
	}
	params = append(params, sfParam{"keyid", sfItem{kind: 's', str: keyID}})
	if o.Alg != "" {
		params = append(params, sfParam{"alg", sfItem{kind: 's', str: o.Alg}})
	}
	input := "(" + strings.Join(quoted, " ") + ")" + serializeParams(params)
	m := Message{Label: o.Label, Components: o.Components, KeyID: keyID, Alg: o.Alg, params: input}
	base, err := m.Base(req, req.URL.Scheme+"://"+req.URL.Host)
	if err != nil {
		return fmt.Errorf("sign %s %s: %w", req.Method, req.URL, err)
	}
	var sig []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if o.Alg == AlgRSAPSSSHA512 {
			sum := sha512.Sum512(base)
			sig, err = rsa.SignPSS(rand.Reader, k, crypto.SHA512, sum[:], &rsa.PSSOptions{SaltLength: 64})
		} else {
			sum := sha256.Sum256(base)
			sig, err = rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
		}
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, base)
	default:
		err = fmt.Errorf("key of type %T not supported", key)
	}
	if err != nil {
		return fmt.Errorf("sign %s %s: %w", req.Method, req.URL, err)
	}
	req.Header.Set("Signature-Input", o.Label+"="+input)
	req.Header.Set("Signature", o.Label+"="+sfItem{kind: 'b', bytes: sig}.serialize())
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	return nil
}
