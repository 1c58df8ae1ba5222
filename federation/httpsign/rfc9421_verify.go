package httpsign

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The signature base of RFC 9421 (section 2.5) and the check of a signature over it.

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
