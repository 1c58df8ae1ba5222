package fedtest

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-fed/httpsig"

	"github.com/memo-fediverse/memo/federation/httpsign"
)

// Style is how an implementation signs its deliveries: which headers, in which order, and the algorithm label.
type Style struct {
	Name        string
	Headers     []string
	Algorithm   string // label written in the header; the maths is always RSA-SHA256
	ContentType string
	// RFC9421 signs under RFC 9421 (Signature-Input) instead of draft-cavage, as Mastodon 4.5 can.
	RFC9421 bool
}

// The signing styles of the implementations the fixtures come from.
var (
	Mastodon   = Style{Name: "mastodon", Headers: []string{httpsig.RequestTarget, "host", "date", "digest", "content-type"}, Algorithm: "rsa-sha256", ContentType: "application/activity+json"}
	GoToSocial = Style{Name: "gotosocial", Headers: []string{httpsig.RequestTarget, "host", "date", "digest"}, Algorithm: "hs2019", ContentType: `application/activity+json; charset=utf-8`}
	Misskey    = Style{Name: "misskey", Headers: []string{httpsig.RequestTarget, "date", "host", "digest"}, Algorithm: "rsa-sha256", ContentType: "application/activity+json"}
	Pleroma    = Style{Name: "pleroma", Headers: []string{httpsig.RequestTarget, "content-length", "date", "digest", "host"}, Algorithm: "hs2019", ContentType: "application/activity+json"}
	// RFC9421 signs as Mastodon does under RFC 9421 (docs.joinmastodon.org, HTTP Message Signatures): @method,
	// @target-uri and content-digest, created and keyid, no alg.
	RFC9421 = Style{Name: "rfc9421", ContentType: "application/activity+json", RFC9421: true}
)

// StyleFor returns the signing style of an implementation named as in testdata (gotosocial-live signs as
// GoToSocial; unknown names sign as Mastodon).
func StyleFor(impl string) Style {
	switch {
	case strings.HasPrefix(impl, "gotosocial"):
		return GoToSocial
	case impl == "misskey":
		return Misskey
	case impl == "pleroma":
		return Pleroma
	}
	return Mastodon
}

// SignOptions change how a request is signed; the zero value signs correctly in the Mastodon style.
type SignOptions struct {
	Style         Style
	Key           *rsa.PrivateKey // another key than the actor's
	KeyID         string          // another keyId than the actor's
	Date          time.Time       // another Date than now
	Headers       []string        // another signed-header list than the style's
	OmitDigest    bool            // send no Digest header (and do not sign it)
	Authorization bool            // put the signature in `Authorization: Signature …`
	ContentType   string

	// RFC 9421 only (Style.RFC9421): the covered components (default @method @target-uri content-digest), the alg
	// parameter, created (default Date, or now) and expires, and Ed25519 to sign with the actor's Ed25519 key.
	Components []string
	Alg        string
	Expires    time.Time
	Ed25519    bool
}

var algoLabel = regexp.MustCompile(`algorithm="[^"]*"`)

// NewRequest builds a POST of body to inbox signed by the actor as opts say. The caller may tamper with it before
// sending (that is how tests make forged requests).
func (a *Actor) NewRequest(t testing.TB, inbox string, body []byte, opts SignOptions) *http.Request {
	t.Helper()
	if opts.Style.Name == "" {
		opts.Style = Mastodon
	}
	key, keyID := a.Key, a.KeyID
	if opts.Key != nil {
		key = opts.Key
	}
	if opts.KeyID != "" {
		keyID = opts.KeyID
	}
	headers := opts.Style.Headers
	if opts.Headers != nil {
		headers = opts.Headers
	}
	if opts.OmitDigest {
		var kept []string
		for _, h := range headers {
			if h != "digest" {
				kept = append(kept, h)
			}
		}
		headers = kept
	}
	date := opts.Date
	if date.IsZero() {
		date = time.Now()
	}
	req, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("request to %s: %v", inbox, err)
	}
	ct := opts.ContentType
	if ct == "" {
		ct = opts.Style.ContentType
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("User-Agent", a.Instance.Name+"-fedtest")
	req.Header.Set("Date", date.UTC().Format(http.TimeFormat))
	req.Header.Set("Host", req.URL.Host)
	req.Header.Set("Content-Length", itoa(len(body)))
	if !opts.OmitDigest {
		sum := sha256.Sum256(body)
		req.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	}
	if opts.Style.RFC9421 {
		req.Header.Del("Digest")
		var signer crypto.Signer = key
		if opts.Ed25519 {
			signer, keyID = a.EdKey, a.EdKeyID
			if opts.KeyID != "" {
				keyID = opts.KeyID
			}
		}
		err := httpsign.SignRequest9421(req, body, signer, keyID, httpsign.Sign9421Options{
			Components: opts.Components, Alg: opts.Alg, Created: date, Expires: opts.Expires,
		})
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		if opts.OmitDigest {
			req.Header.Del("Content-Digest")
		}
		return req
	}
	scheme := httpsig.Signature
	if opts.Authorization {
		scheme = httpsig.Authorization
	}
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, scheme, 0)
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	// nil body: the Digest is set above (or deliberately absent), httpsig must not add one.
	if err := signer.SignRequest(key, keyID, req, nil); err != nil {
		t.Fatalf("sign: %v", err)
	}
	name := "Signature"
	if opts.Authorization {
		name = "Authorization"
	}
	req.Header.Set(name, algoLabel.ReplaceAllString(req.Header.Get(name), `algorithm="`+opts.Style.Algorithm+`"`))
	req.Body = readCloser(body)
	req.ContentLength = int64(len(body))
	return req
}

// Post sends body to inbox signed by the actor in the given style and returns the response (body read and closed
// into RespBody).
func (a *Actor) Post(t testing.TB, inbox string, body []byte, opts SignOptions) *Response {
	t.Helper()
	return Do(t, a.NewRequest(t, inbox, body, opts))
}

// Response is an answer with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends req and reads the answer.
func Do(t testing.TB, req *http.Request) *Response {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", req.URL, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: buf.String()}
}
