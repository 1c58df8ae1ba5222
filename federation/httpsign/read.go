package httpsign

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrNotSigned is the refusal of a request that carries no signature at all.
var ErrNotSigned = errors.New("request is not signed (no Signature header)")

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
