package httpsign

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-fed/httpsig"
)

func TestReadRequest(t *testing.T) {
	good := `keyId="https://a/u#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="c2ln"`
	cases := []struct {
		name   string
		header http.Header
		want   string // "" when accepted, else a word of the reason
	}{
		{"Signature header", http.Header{"Signature": {good}}, ""},
		{"Authorization: Signature", http.Header{"Authorization": {"Signature " + good}}, ""},
		{"Signature beside a bearer token", http.Header{"Signature": {good}, "Authorization": {"Bearer abc"}}, ""},
		{"nothing", http.Header{}, "not signed"},
		{"another Authorization scheme", http.Header{"Authorization": {"Bearer abc"}}, "not signed"},
		{"two Signature lines", http.Header{"Signature": {good, `keyId="k",headers="date",signature="c2ln"`}}, "Signature header lines"},
		{"Signature and Authorization: Signature", http.Header{"Signature": {good}, "Authorization": {"Signature " + good}}, "both"},
		{"Signature and an Authorization with parameters", http.Header{"Signature": {good}, "Authorization": {`Other headers="date"`}}, "both"},
		{"two Authorization lines", http.Header{"Authorization": {"Signature " + good, "Signature " + good}}, "Authorization header lines"},
		{"scheme in lower case", http.Header{"Authorization": {"signature " + good}}, `"Signature " exactly`},
		{"empty Signature", http.Header{"Signature": {""}}, "empty"},
		{"RFC 9421 with two labels", http.Header{"Signature-Input": {`sig1=("@method");keyid="k", sig2=("@method");keyid="k"`}, "Signature": {"sig1=:c2ln:, sig2=:c2ln:"}}, "RFC 9421"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ReadRequest(c.header)
			if c.want == "" {
				if err != nil || p.KeyID != "https://a/u#main-key" || strings.Join(p.Headers, " ") != "(request-target) host date digest" {
					t.Fatalf("got %+v, %v", p, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a refusal saying %q", err, c.want)
			}
		})
	}
	if _, err := ReadRequest(http.Header{}); !errors.Is(err, ErrNotSigned) {
		t.Errorf("unsigned request: %v, want ErrNotSigned", err)
	}
}

// TestReadPublishedVectors reads signatures published by the draft and by Pleroma and verifies them with httpsig,
// through the Authorization scheme for the draft's.
func TestReadPublishedVectors(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "activitypub", "httpsig")
	var basic struct {
		Message struct {
			StartLine string      `json:"start_line"`
			Headers   [][2]string `json:"headers"`
		} `json:"message"`
		Authorization string `json:"Authorization_unfolded"`
	}
	var keys struct {
		PublicKey string `json:"public_key_pem"`
	}
	readJSON(t, filepath.Join(dir, "cavage12-basic-test.json"), &basic)
	readJSON(t, filepath.Join(dir, "cavage12-test-keys.json"), &keys)
	method, target, _ := strings.Cut(basic.Message.StartLine, " ")
	target, _, _ = strings.Cut(target, " ")
	r, err := http.NewRequest(method, "http://example.com"+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range basic.Message.Headers {
		r.Header.Set(h[0], h[1])
	}
	r.Header.Set("Authorization", basic.Authorization)
	p, err := ReadRequest(r.Header)
	if err != nil {
		t.Fatal(err)
	}
	if p.KeyID != "Test" || strings.Join(p.Headers, " ") != "(request-target) host date" {
		t.Fatalf("read %+v", p)
	}
	pub, err := ParsePublicKeyPEM(keys.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(r, p, pub); err != nil {
		t.Errorf("draft's example: %v", err)
	}

	var rfc struct {
		SignatureInput string `json:"Signature-Input"`
		Signature      string `json:"Signature"`
	}
	readJSON(t, filepath.Join(dir, "rfc9421-b21-minimal-rsa-pss.json"), &rfc)
	if p, err := ReadRequest(http.Header{"Signature-Input": {rfc.SignatureInput}, "Signature": {rfc.Signature}}); err != nil || p.Scheme != SchemeRFC9421 || p.KeyID != "test-key-rsa-pss" {
		t.Errorf("RFC 9421 request: %+v, %v", p, err)
	}

	var pleroma struct {
		Signature string `json:"Signature"`
	}
	readJSON(t, filepath.Join(dir, "pleroma-sign-test-vector.json"), &pleroma)
	if p, err := ReadRequest(http.Header{"Signature": {pleroma.Signature}}); err != nil || strings.Join(p.Headers, " ") != "content-length host" {
		t.Errorf("Pleroma's header: %+v, %v", p, err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// fuzzSecret is the HMAC key the fuzz target signs with: httpsig verifies hmac-sha256 over the same signing string
// as RSA, and HMAC is cheap enough to run on every input.
var fuzzSecret = []byte("fuzz secret")

// FuzzSignatureHeader: for any Signature (or Authorization) header that ReadRequest accepts, go-fed/httpsig reads
// the same keyId, the same headers list, the same created/expires and the same signature. The keyId is compared
// through its public API; the rest by verifying with httpsig a signature we build over what we parsed, put in the
// place of the header's signature. httpsig ignores the algorithm parameter: only ours reads it.
// A "\n" in sig splits it into several Signature header lines.
func FuzzSignatureHeader(f *testing.F) {
	f.Add(`keyId="https://a/u#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="c2ln"`, "")
	f.Add(`keyId="k",algorithm="hs2019",created=1,expires=9999999999,headers="(request-target) (created) (expires) host",signature="c2ln"`, "")
	f.Add(`keyId="k",created="1",headers="(created) date",signature="c2ln"`, "")
	f.Add(`keyId="k",signature="c2ln"`, "")
	f.Add("", `Signature keyId="k",headers="(request-target) date x-extra",signature="c2ln"`)
	f.Add(`keyId="k",signature="c2ln"`, `Signature keyId="j",signature="c2ln"`)
	f.Add("keyId=\"k\",signature=\"c2ln\"\nkeyId=\"j\",signature=\"c2ln\"", "")
	f.Add(`keyId="k",Headers="(request-target) host date digest",signature="c2ln",headers="date"`, "")
	f.Add(`keyId="k",headers="(request-target) host date digest",signature="c2ln",x="1,headers=date"`, "")
	f.Add(`keyId="k", headers="(request-target) host date digest",signature="c2ln"`, "")
	f.Add(`keyId=""k"",headers="host  date",signature="c2ln"`, "")
	f.Add(`keyId="k",headers="host  date",signature="c2ln"`, "")
	f.Add(`keyId="`, "")
	f.Add(`=,=,"`, "")
	dir := filepath.Join("..", "..", "testdata", "activitypub", "httpsig")
	if b, err := os.ReadFile(filepath.Join(dir, "mastodon-2.5-signed-inbox-post.json")); err == nil {
		var fx struct {
			Headers map[string]string `json:"headers"`
		}
		json.Unmarshal(b, &fx)
		f.Add(fx.Headers["signature"], "")
	}
	f.Fuzz(func(t *testing.T, sig, auth string) {
		h := http.Header{}
		if sig != "" {
			h["Signature"] = strings.Split(sig, "\n")
		}
		if auth != "" {
			h["Authorization"] = []string{auth}
		}
		p, err := ReadRequest(h)
		if err != nil {
			return
		}
		if p.KeyID == "" || len(p.Signature) == 0 || len(p.Headers) == 0 {
			t.Fatalf("accepted without keyId, signature or headers: %+v", p)
		}
		now := time.Now().Unix()
		if p.Created-now > 10 || p.Expires != 0 && now-p.Expires > 10 {
			return // httpsig refuses these by the clock, before reading further; so does the inbox (see Request)
		}
		r := fuzzRequest(p)
		for k, v := range h {
			r.Header[k] = v
		}
		v, err := httpsig.NewVerifier(r)
		if err != nil {
			t.Fatalf("we read %+v, httpsig refuses the header: %v", p, err)
		}
		if v.KeyId() != p.KeyID {
			t.Fatalf("keyId: we read %q, httpsig %q", p.KeyID, v.KeyId())
		}

		// The same header, its signature now a MAC over the signing string of the list we parsed.
		mac := hmac.New(sha256.New, fuzzSecret)
		mac.Write([]byte(fuzzSigningString(r, p)))
		sum := mac.Sum(nil)
		swapped := swapSignature(t, h, base64.StdEncoding.EncodeToString(sum))
		q, err := ReadRequest(swapped)
		if err != nil {
			t.Fatalf("header with another signature refused: %v", err)
		}
		if q.KeyID != p.KeyID || strings.Join(q.Headers, " ") != strings.Join(p.Headers, " ") || q.Created != p.Created ||
			q.Expires != p.Expires || !bytes.Equal(q.Signature, sum) {
			t.Fatalf("another signature changed our reading: %+v then %+v", p, q)
		}
		r2 := fuzzRequest(p)
		for k, v := range swapped {
			r2.Header[k] = v
		}
		v2, err := httpsig.NewVerifier(r2)
		if err != nil {
			t.Fatalf("httpsig refuses the header with another signature: %v", err)
		}
		if err := v2.Verify(fuzzSecret, httpsig.HMAC_SHA256); err != nil {
			t.Fatalf("httpsig reads another headers list, created, expires or signature than %+v: %v", p, err)
		}
	})
}

// fuzzRequest is a POST carrying a value for each header p lists.
func fuzzRequest(p Params) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "https://memo.example/inbox?x=1", nil)
	for _, name := range p.Headers {
		if !strings.HasPrefix(name, "(") {
			r.Header.Set(name, "value of "+name)
		}
	}
	return r
}

// fuzzSigningString is the draft's signing string of r over p.Headers, written here from the draft, not taken
// from httpsig, so that the two are compared.
func fuzzSigningString(r *http.Request, p Params) string {
	var lines []string
	for _, name := range p.Headers {
		var v string
		switch name {
		case httpsig.RequestTarget:
			v = strings.ToLower(r.Method) + " " + r.URL.RequestURI()
		case "(created)":
			v = strconv.FormatInt(p.Created, 10)
		case "(expires)":
			v = strconv.FormatInt(p.Expires, 10)
		default:
			v = strings.Join(r.Header.Values(name), ", ")
		}
		lines = append(lines, name+": "+v)
	}
	return strings.Join(lines, "\n")
}

// swapSignature returns h with the signature parameter of its signature header replaced. The strict grammar has no
// comma inside a value, so the parameters are the comma-separated parts.
func swapSignature(t *testing.T, h http.Header, sig string) http.Header {
	out := h.Clone()
	key, prefix := "Signature", ""
	if len(out["Signature"]) == 0 {
		key, prefix = "Authorization", "Signature "
	}
	parts := strings.Split(strings.TrimPrefix(out[key][0], prefix), ",")
	n := 0
	for i, part := range parts {
		if strings.HasPrefix(part, paramSignature+"=") {
			parts[i] = paramSignature + `="` + sig + `"`
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d signature parameters in an accepted header %q", n, out[key][0])
	}
	out[key] = []string{prefix + strings.Join(parts, ",")}
	return out
}
