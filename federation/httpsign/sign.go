// Package httpsign signs and verifies draft-cavage HTTP Signatures as Mastodon and its peers use them. go-fed/httpsig
// does the RSA maths; this package enforces what it leaves out: the signed-header set, the Digest, the Date window
// and the Host header. It also reads and writes RFC 9421 HTTP Message Signatures, which newer peers send.
package httpsign

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"crypto/rand"

	"github.com/go-fed/httpsig"
)

// PostHeaders and GetHeaders are what we sign; Mastodon requires host and, on POST, digest.
var (
	PostHeaders = []string{httpsig.RequestTarget, "host", "date", "digest"}
	GetHeaders  = []string{httpsig.RequestTarget, "host", "date"}
)

// SignRequest signs req with key under keyID. body is the exact request body (nil for GET). It sets Date and Host
// itself: httpsig cannot sign `host` unless the header is present, and Go keeps it in req.Host.
func SignRequest(req *http.Request, body []byte, key *rsa.PrivateKey, keyID string, now time.Time) error {
	req.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	req.Header.Set("Host", req.URL.Host)
	req.Host = req.URL.Host
	headers := GetHeaders
	if body != nil || req.Method == http.MethodPost {
		headers = PostHeaders
		req.Header.Del("Digest") // httpsig refuses to overwrite one
	}
	// expiresIn 0: a non-zero value freezes created/expires at NewSigner time. Signers are not goroutine-safe,
	// so one per request.
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return fmt.Errorf("new signer: %w", err)
	}
	if err := signer.SignRequest(key, keyID, req, body); err != nil {
		return fmt.Errorf("sign %s %s: %w", req.Method, req.URL, err)
	}
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	return nil
}

// LoadOrCreateKey reads the actor's RSA key from path, or generates a 2048-bit one and writes it there with mode
// 0600 on first start.
func LoadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return ParsePrivateKey(b)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key folder: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("write key %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("write key %s: %w", path, err)
	}
	return key, nil
}

// ParsePrivateKey reads a PEM private key in PKCS#8 or PKCS#1 form.
func ParsePrivateKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("private key: no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("private key: not RSA")
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	return k, nil
}

// PublicKeyPEM encodes a public key as the SubjectPublicKeyInfo PEM that actors publish in publicKeyPem.
func PublicKeyPEM(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ParsePublicKeyPEM reads publicKeyPem as peers publish it: PKIX ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC KEY").
func ParsePublicKeyPEM(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("public key: no PEM block")
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("public key: not RSA")
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return k, nil
}
