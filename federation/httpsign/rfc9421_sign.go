package httpsign

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Signing under RFC 9421, for deliveries to the servers that remember it as their scheme.

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
