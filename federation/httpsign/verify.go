package httpsign

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// MaxClockSkew is how far a signed request's Date may be from our clock, either way. Mastodon accepts about an hour
// each way (its signature lifetime plus a skew margin); a tighter window would refuse deliveries that it retries
// from its queue, a looser one lets a captured request be replayed for longer.
const MaxClockSkew = time.Hour

// RequiredPostHeaders must all be covered by an inbox POST's signature. Without (request-target) a signature can be
// replayed to another path, without host to another server, without date forever, without digest with another body.
var RequiredPostHeaders = []string{httpsig.RequestTarget, "host", "date", "digest"}

// Params is a parsed signature: a draft-cavage Signature header, or an RFC 9421 Signature-Input and Signature.
type Params struct {
	KeyID     string
	Algorithm string
	Headers   []string // lower case, in signing order; "date" when the header omits the list; RFC 9421: components
	Signature []byte
	Created   int64
	Expires   int64
	// Scheme is SchemeCavage or SchemeRFC9421.
	Scheme string
	// Origin is the scheme and authority the request was sent to ("https://memo.example"), which an RFC 9421
	// @target-uri covers; behind a proxy the request does not know its scheme. "https://" and the Host when empty.
	Origin string
	msg    *Message
}

// Message returns the RFC 9421 signature of an RFC 9421 Params, or nil.
func (p Params) Message() *Message { return p.msg }

// Error is a refusal of a signed request: Status is the HTTP status to answer, Reason says why in words a remote
// admin can act on.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return e.Reason }

func refuse(status int, format string, args ...any) *Error {
	return &Error{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// maxSignatureHeader bounds the header we parse; real ones are under 1 KB.
const maxSignatureHeader = 8 << 10

// ErrNotSigned is the refusal of a request that carries no signature at all.
var ErrNotSigned = errors.New("request is not signed (no Signature header)")

// The one grammar of a draft-cavage Signature header that both we and go-fed/httpsig v1.1.0 read alike. httpsig
// (getSignatureScheme and getSignatureComponents in verifying.go) splits the value on every comma, splits each part
// at its first "=", matches the names keyId, algorithm, headers, signature, created and expires exactly, trims
// quotes off the value, ignores any other name and lets the last of two equal names win; it takes the first
// Signature header line, or `Authorization: Signature …` when the Signature header lacks the parameters. Whatever
// it would read otherwise than we do is refused here, so that the header set we check is the one that is signed.
const (
	paramKeyID     = "keyId"
	paramAlgorithm = "algorithm"
	paramHeaders   = "headers"
	paramSignature = "signature"
	paramCreated   = "created"
	paramExpires   = "expires"
)

var knownParams = []string{paramKeyID, paramAlgorithm, paramHeaders, paramSignature, paramCreated, paramExpires}

// ReadRequest finds and parses the signature of a request with headers h. It is the one reader of signatures: the
// inbox, the offline evidence check and the test instances all use it. A request with a Signature-Input field is
// read as RFC 9421 (ReadMessage), any other as draft-cavage.
func ReadRequest(h http.Header) (Params, error) {
	if len(h.Values("Signature-Input")) > 0 {
		for _, a := range h.Values("Authorization") {
			if looksSigned(a) {
				return Params{}, errors.New("both an RFC 9421 signature and an Authorization: Signature header: send one")
			}
		}
		m, err := ReadMessage(h)
		if err != nil {
			return Params{}, err
		}
		return Params{KeyID: m.KeyID, Algorithm: m.Alg, Headers: m.Components, Signature: m.Signature,
			Created: m.Created, Expires: m.Expires, Scheme: SchemeRFC9421, msg: &m}, nil
	}
	sig, auth := h.Values("Signature"), h.Values("Authorization")
	if len(sig) > 1 {
		return Params{}, fmt.Errorf("%d Signature header lines: send one", len(sig))
	}
	if len(sig) == 1 {
		// httpsig refuses a request whose Authorization also carries signature parameters and ignores it
		// otherwise; we refuse any Authorization that looks like a signature, so that nobody has to guess.
		for _, a := range auth {
			if looksSigned(a) {
				return Params{}, errors.New("both a Signature header and an Authorization: Signature header: send one")
			}
		}
		return withScheme(ParseSignatureHeader(sig[0]))
	}
	if len(auth) == 0 {
		return Params{}, ErrNotSigned
	}
	if len(auth) > 1 {
		return Params{}, fmt.Errorf("%d Authorization header lines: send one", len(auth))
	}
	rest, ok := strings.CutPrefix(auth[0], "Signature ")
	if !ok {
		if len(auth[0]) >= 10 && strings.EqualFold(auth[0][:10], "signature ") {
			return Params{}, errors.New(`Authorization scheme must be written "Signature " exactly (httpsig reads it so)`)
		}
		return Params{}, ErrNotSigned
	}
	return withScheme(ParseSignatureHeader(rest))
}

func withScheme(p Params, err error) (Params, error) {
	p.Scheme = SchemeCavage
	return p, err
}

// looksSigned tells whether an Authorization value may be read as a signature, by httpsig (which looks for the
// parameter names anywhere in it) or by a reader that takes the scheme name without case.
func looksSigned(v string) bool {
	l := strings.ToLower(v)
	return strings.Contains(l, "signature") || strings.Contains(l, "keyid") || strings.Contains(l, "headers")
}

// SignatureHeader returns the signature parameters of r as ReadRequest finds them: the Signature header, or the
// parameters of an `Authorization: Signature …` header, which some older implementations send.
func SignatureHeader(r *http.Request) string {
	if v := r.Header.Get("Signature"); v != "" {
		return v
	}
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Signature "); ok {
		return v
	}
	return ""
}

// ParseSignatureHeader parses `keyId="…",algorithm="…",headers="…",signature="…"` strictly: parameters separated by
// a bare comma, names exactly as the draft writes them, each at most once, values quoted (created and expires may
// be bare numbers), not empty, without commas, quotes or control characters; headers is lower-case names
// separated by single spaces, each once. keyId and signature are required. See ReadRequest for why.
func ParseSignatureHeader(v string) (Params, error) {
	var p Params
	if len(v) > maxSignatureHeader {
		return p, errors.New("signature header too long")
	}
	if v == "" {
		return p, errors.New("signature header is empty")
	}
	if name, ok := commaInQuotes(v); ok {
		return p, fmt.Errorf("signature header: comma inside the quoted value of %q: httpsig splits on every comma, so it would read another header than we do", clip(name))
	}
	seen := map[string]bool{}
	var headers string
	for _, part := range strings.Split(v, ",") {
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return p, fmt.Errorf("signature header: expected name=\"value\" at %q", clip(part))
		}
		if err := checkParamName(name); err != nil {
			return p, err
		}
		if seen[name] {
			return p, fmt.Errorf("signature header: %s given twice", name)
		}
		seen[name] = true
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		} else if name != paramCreated && name != paramExpires {
			return p, fmt.Errorf("signature header: value of %s must be one quoted string", name)
		}
		if val == "" {
			return p, fmt.Errorf("signature header: empty %s", name)
		}
		for i := 0; i < len(val); i++ {
			if c := val[i]; c < 0x20 || c == 0x7f || c == '"' {
				return p, fmt.Errorf("signature header: quote or control character in the value of %s", name)
			}
		}
		switch name {
		case paramKeyID:
			p.KeyID = val
		case paramAlgorithm:
			p.Algorithm = strings.ToLower(val)
		case paramHeaders:
			headers = val
		case paramSignature:
			b, err := base64.StdEncoding.DecodeString(val)
			if err != nil {
				return p, fmt.Errorf("signature header: signature is not base64: %w", err)
			}
			p.Signature = b
		case paramCreated, paramExpires:
			n, err := parseTime(val)
			if err != nil {
				return p, fmt.Errorf("signature header: %s is not a Unix time", name)
			}
			if name == paramCreated {
				p.Created = n
			} else {
				p.Expires = n
			}
		}
	}
	if p.KeyID == "" {
		return p, errors.New("signature header: no keyId")
	}
	if len(p.Signature) == 0 {
		return p, errors.New("signature header: no signature")
	}
	if !seen[paramHeaders] {
		p.Headers = []string{"date"} // the draft's default, and httpsig's
		return p, nil
	}
	list, err := parseHeaderList(headers)
	if err != nil {
		return p, err
	}
	for _, h := range list {
		if h == "(created)" && p.Created == 0 || h == "(expires)" && p.Expires == 0 {
			return p, fmt.Errorf("signature header: headers list %s without its parameter", h)
		}
	}
	p.Headers = list
	return p, nil
}

// commaInQuotes finds a comma inside a quoted value and returns the name of that value's parameter.
func commaInQuotes(v string) (string, bool) {
	quoted, start, lastComma := false, 0, -1
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			if !quoted {
				start = i
			}
			quoted = !quoted
		case ',':
			if quoted {
				return strings.TrimSuffix(v[lastComma+1:start], "="), true
			}
			lastComma = i
		}
	}
	return "", false
}

// checkParamName refuses a name that httpsig would not read as we do: another case, surrounding blanks, or a name
// it ignores.
func checkParamName(name string) error {
	for _, k := range knownParams {
		if name == k {
			return nil
		}
	}
	if t := strings.TrimSpace(name); t != name {
		return fmt.Errorf("signature header: blank around parameter name %q: separate parameters with a bare comma", clip(t))
	}
	for _, k := range knownParams {
		if strings.EqualFold(name, k) {
			return fmt.Errorf("signature header: parameter %q must be written %q", clip(name), k)
		}
	}
	return fmt.Errorf("signature header: unknown parameter %q", clip(name))
}

// parseTime reads created and expires: decimal digits only, quoted or not.
func parseTime(v string) (int64, error) {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, errors.New("not digits")
		}
	}
	return strconv.ParseInt(v, 10, 64)
}

// parseHeaderList reads the headers parameter: lower-case names separated by single spaces, each once. httpsig
// splits it on single spaces, so a doubled or outer space would name an empty header.
func parseHeaderList(v string) ([]string, error) {
	list := strings.Split(v, " ")
	seen := map[string]bool{}
	for _, h := range list {
		if h == "" {
			return nil, errors.New("signature header: headers list with an empty name (separate names with one space)")
		}
		if !headerName(h) {
			return nil, fmt.Errorf("signature header: %q in the headers list is not a lower-case header name", clip(h))
		}
		if seen[h] {
			return nil, fmt.Errorf("signature header: %s listed twice in headers", h)
		}
		seen[h] = true
	}
	return list, nil
}

func headerName(h string) bool {
	switch h {
	case httpsig.RequestTarget, "(created)", "(expires)":
		return true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Request checks what httpsig's verifier does not, on an inbox POST whose whole body is body: the algorithm, the
// set of signed headers, the Digest against the body, the Date window and that Host names us (host, as
// content.URLs.Host gives it). It does not check the signature itself: see VerifySignature.
func (p Params) Request(r *http.Request, body []byte, host string, now time.Time) *Error {
	if p.msg != nil {
		return p.msg.request(r, body, host, now)
	}
	if e := p.CheckAlgorithm(); e != nil {
		return e
	}
	if e := p.Covers(RequiredPostHeaders); e != nil {
		return e
	}
	if !strings.EqualFold(r.Host, host) {
		return refuse(http.StatusBadRequest, "Host %q is not this server (%s)", r.Host, host)
	}
	dateHeader := r.Header.Get("Date")
	if dateHeader == "" {
		return refuse(http.StatusUnauthorized, "no Date header")
	}
	date, err := http.ParseTime(dateHeader)
	if err != nil {
		return refuse(http.StatusUnauthorized, "Date %q is not an HTTP date", dateHeader)
	}
	if skew := now.Sub(date); skew > MaxClockSkew {
		return refuse(http.StatusUnauthorized, "Date %s is too old (more than %s before our clock)", dateHeader, MaxClockSkew)
	} else if -skew > MaxClockSkew {
		return refuse(http.StatusUnauthorized, "Date %s is too far ahead (more than %s after our clock)", dateHeader, MaxClockSkew)
	}
	if p.Expires != 0 && now.Unix() > p.Expires {
		return refuse(http.StatusUnauthorized, "signature expired")
	}
	return CheckDigest(r.Header.Values("Digest"), body)
}

// CheckAlgorithm refuses an algorithm label other than rsa-sha256 or hs2019 (read as RSA-SHA256). httpsig ignores
// the label, so this is the only place it is read.
func (p Params) CheckAlgorithm() *Error {
	switch p.Algorithm {
	case "", "hs2019", "rsa-sha256":
		return nil
	}
	return refuse(http.StatusUnauthorized, "signature algorithm %q not supported (use rsa-sha256 or hs2019 with an RSA key)", p.Algorithm)
}

// Covers refuses a signature that does not cover every header of required.
func (p Params) Covers(required []string) *Error {
	signed := map[string]bool{}
	for _, h := range p.Headers {
		signed[h] = true
	}
	for _, h := range required {
		if !signed[h] {
			return refuse(http.StatusUnauthorized, "signature must cover %s (it covers %q)", h, strings.Join(p.Headers, " "))
		}
	}
	return nil
}

// CheckDigest checks that one of the Digest header values carries a SHA-256 of body. Other algorithms are
// skipped, as Mastodon does; a SHA-256 that does not match is a refusal even when other ones are present.
func CheckDigest(values []string, body []byte) *Error {
	sum := sha256.Sum256(body)
	found := false
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			algo, val, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || !strings.EqualFold(algo, "SHA-256") {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(val)
			if err != nil {
				return refuse(http.StatusBadRequest, "Digest SHA-256 is not base64")
			}
			if subtle.ConstantTimeCompare(got, sum[:]) != 1 {
				return refuse(http.StatusUnauthorized, "Digest does not match the body")
			}
			found = true
		}
	}
	if !found {
		return refuse(http.StatusUnauthorized, "no SHA-256 Digest header")
	}
	return nil
}

// VerifySignature checks the signature of r with pub. draft-cavage: pub must be RSA, and both rsa-sha256 and hs2019
// labels are verified as RSA-SHA256: the label is not part of the signed string, and hs2019 with an RSA key means
// exactly that in practice. RFC 9421: see Message.Verify. p must come from ReadRequest on r's headers.
func VerifySignature(r *http.Request, p Params, pub crypto.PublicKey) error {
	if p.msg != nil {
		return p.msg.Verify(r, p.origin(r), pub)
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("draft-cavage signatures need an RSA key, not %T", pub)
	}
	v, err := httpsig.NewVerifier(r)
	if err != nil {
		return fmt.Errorf("read signature: %w", err)
	}
	// httpsig parses the header again. ReadRequest accepted only headers it reads as we do; comparing the key
	// keeps that true if p came from elsewhere.
	if v.KeyId() != p.KeyID {
		return fmt.Errorf("ambiguous signature header: keyId %q vs %q", v.KeyId(), p.KeyID)
	}
	if err := v.Verify(rsaPub, httpsig.RSA_SHA256); err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	return nil
}

func (p Params) origin(r *http.Request) string {
	if p.Origin != "" {
		return p.Origin
	}
	return "https://" + r.Host
}
