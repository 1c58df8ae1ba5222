package sigs

import (
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

// Params is a parsed draft-cavage Signature header.
type Params struct {
	KeyID     string
	Algorithm string
	Headers   []string // lower case, in signing order; "date" when the header omits the list
	Signature []byte
	Created   int64
	Expires   int64
}

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

// SignatureHeader returns the Signature header value of r, or the parameters of an `Authorization: Signature ...`
// header, which some older implementations send.
func SignatureHeader(r *http.Request) string {
	if v := r.Header.Get("Signature"); v != "" {
		return v
	}
	if v := r.Header.Get("Authorization"); len(v) > 10 && strings.EqualFold(v[:10], "signature ") {
		return v[10:]
	}
	return ""
}

// ParseSignatureHeader parses `keyId="…",algorithm="…",headers="…",signature="…"`. Parameter names are matched
// without case; values must be quoted strings (created and expires may be bare numbers). keyId and signature are
// required.
func ParseSignatureHeader(v string) (Params, error) {
	var p Params
	if len(v) > maxSignatureHeader {
		return p, errors.New("signature header too long")
	}
	seen := map[string]bool{}
	rest := strings.TrimSpace(v)
	var headers string
	hasHeaders := false
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return p, fmt.Errorf("signature header: expected name=value at %q", clip(rest))
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return p, fmt.Errorf("signature header: unterminated value of %s", name)
			}
			val, rest = rest[1:1+end], rest[2+end:]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val, rest = strings.TrimSpace(rest[:end]), rest[end:]
			if name != "created" && name != "expires" {
				return p, fmt.Errorf("signature header: value of %s must be quoted", name)
			}
		}
		if seen[name] {
			return p, fmt.Errorf("signature header: %s given twice", name)
		}
		seen[name] = true
		rest = strings.TrimLeft(rest, " \t")
		if rest != "" {
			if rest[0] != ',' {
				return p, fmt.Errorf("signature header: expected a comma at %q", clip(rest))
			}
			rest = strings.TrimLeft(rest[1:], " \t")
		}
		switch name {
		case "keyid":
			p.KeyID = val
		case "algorithm":
			p.Algorithm = strings.ToLower(val)
		case "headers":
			headers, hasHeaders = val, true
		case "signature":
			b, err := base64.StdEncoding.DecodeString(val)
			if err != nil {
				return p, fmt.Errorf("signature header: signature is not base64: %w", err)
			}
			p.Signature = b
		case "created", "expires":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return p, fmt.Errorf("signature header: %s is not a number", name)
			}
			if name == "created" {
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
	if hasHeaders {
		p.Headers = strings.Fields(strings.ToLower(headers))
		if len(p.Headers) == 0 {
			return p, errors.New("signature header: empty headers list")
		}
	} else {
		p.Headers = []string{"date"} // the draft's default
	}
	return p, nil
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
	switch p.Algorithm {
	case "", "hs2019", "rsa-sha256":
	default:
		return refuse(http.StatusUnauthorized, "signature algorithm %q not supported (use rsa-sha256 or hs2019 with an RSA key)", p.Algorithm)
	}
	signed := map[string]bool{}
	for _, h := range p.Headers {
		signed[h] = true
	}
	for _, h := range RequiredPostHeaders {
		if !signed[h] {
			return refuse(http.StatusUnauthorized, "signature must cover %s (it covers %q)", h, strings.Join(p.Headers, " "))
		}
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

// VerifySignature checks the RSA signature of r with pub. Both rsa-sha256 and hs2019 labels are verified as
// RSA-SHA256: the label is not part of the signed string, and hs2019 with an RSA key means exactly that in practice.
func VerifySignature(r *http.Request, p Params, pub *rsa.PublicKey) error {
	v, err := httpsig.NewVerifier(r)
	if err != nil {
		return fmt.Errorf("read signature: %w", err)
	}
	// httpsig parses the header again; if it read another key than we did, the header is ambiguous.
	if v.KeyId() != p.KeyID {
		return fmt.Errorf("ambiguous signature header: keyId %q vs %q", v.KeyId(), p.KeyID)
	}
	if err := v.Verify(pub, httpsig.RSA_SHA256); err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	return nil
}
