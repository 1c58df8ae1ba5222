package httpsign

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// RFC 9421 HTTP Message Signatures, written here rather than taken from a library: the module proxy served none
// that builds here and passes the RFC's Appendix B vectors, and the part the fediverse uses is
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
