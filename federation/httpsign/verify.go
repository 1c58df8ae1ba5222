package httpsign

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
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
