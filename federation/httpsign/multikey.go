package httpsign

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
)

// FEP-521a publishes an actor's Ed25519 key as a Multikey: publicKeyMultibase is "z" (base58btc) followed by the
// multicodec ed25519-pub prefix 0xed 0x01 and the 32 bytes of the key ("z6Mk…").

// DecodeMultikey reads an Ed25519 publicKeyMultibase.
func DecodeMultikey(s string) (ed25519.PublicKey, error) {
	if len(s) < 2 || s[0] != 'z' {
		return nil, errors.New("multikey: not base58btc (must start with z)")
	}
	b, err := base58Decode(s[1:])
	if err != nil {
		return nil, fmt.Errorf("multikey: %w", err)
	}
	if len(b) != 2+ed25519.PublicKeySize || b[0] != 0xed || b[1] != 0x01 {
		return nil, errors.New("multikey: not an ed25519-pub key (0xed01 and 32 bytes)")
	}
	return ed25519.PublicKey(b[2:]), nil
}

// EncodeMultikey writes an Ed25519 key as publicKeyMultibase.
func EncodeMultikey(k ed25519.PublicKey) string {
	return "z" + base58Encode(append([]byte{0xed, 0x01}, k...))
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

func base58Decode(s string) ([]byte, error) {
	if len(s) > 128 {
		return nil, errors.New("base58 value too long")
	}
	n := new(big.Int)
	zeros := 0
	for i := 0; i < len(s) && s[i] == '1'; i++ {
		zeros++
	}
	for i := 0; i < len(s); i++ {
		d := -1
		for j := 0; j < len(base58Alphabet); j++ {
			if base58Alphabet[j] == s[i] {
				d = j
				break
			}
		}
		if d < 0 {
			return nil, fmt.Errorf("%q is not a base58 digit", s[i])
		}
		n.Mul(n, big.NewInt(58))
		n.Add(n, big.NewInt(int64(d)))
	}
	return append(make([]byte, zeros), n.Bytes()...), nil
}

func base58Encode(b []byte) string {
	n := new(big.Int).SetBytes(b)
	var out []byte
	mod := new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, big.NewInt(58), mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for i := 0; i < len(b) && b[i] == 0; i++ {
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// ParseAnyPublicKeyPEM reads a PEM public key that may be RSA (PKIX or PKCS#1) or Ed25519 (PKIX): evidence of an
// RFC 9421 signature may keep either.
func ParseAnyPublicKeyPEM(s string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("public key: no PEM block")
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		switch k := k.(type) {
		case *rsa.PublicKey, ed25519.PublicKey:
			return k, nil
		}
		return nil, errors.New("public key: neither RSA nor Ed25519")
	}
	return ParsePublicKeyPEM(s)
}
