// Package fetch is the one HTTP client for every request to another server: actor and key fetches, signed GETs and
// deliveries. It refuses private, loopback and link-local addresses after DNS resolution and on every redirect
// (the check sits in the dialer, so DNS rebinding is covered too), follows redirects only within the origin it was
// asked for and only a few of them, bounds response size and time, and identifies itself with a proper User-Agent.
//
// ActivityPub documents (GetObject, GetPublic, and the key and actor resolution built on them) are taken only when
// served as ActivityPub (ActivityContentType), and an object's id must be the URL it was fetched from: what a host
// serves at one path cannot speak for a document at another.
package fetch

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/memo-fediverse/memo/federation/httpsign"
)

// Defaults for Config fields left zero.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultHeaderTimeout = 5 * time.Second
	DefaultMaxBody       = 1 << 20 // documents: actors, keys, notes
	MaxRedirects         = 3
)

// DefaultDialTimeout bounds connecting and the TLS handshake, each: a host that does not answer is known within
// seconds, whatever time a whole request may take.
const DefaultDialTimeout = 5 * time.Second

// AcceptActivity is what we ask for on every fetch; GoToSocial wants the ld+json form with the profile.
const AcceptActivity = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

// ErrForbiddenAddress is returned when a request would reach an address the policy refuses.
var ErrForbiddenAddress = errors.New("address not allowed")

// ErrTooLarge is returned when a response body exceeds the limit.
var ErrTooLarge = errors.New("response too large")

// StatusError is a response outside 2xx.
type StatusError struct {
	URL        string
	Code       int
	RetryAfter string
}

func (e *StatusError) Error() string { return fmt.Sprintf("%s: HTTP %d", e.URL, e.Code) }

// Gone tells whether err says the remote document is gone for good (404 or 410).
func Gone(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Code == http.StatusGone || se.Code == http.StatusNotFound)
}

// Config sets up a Client.
type Config struct {
	UserAgent string // memo/VERSION (+BASE)
	// AllowPrivate lets requests reach private, loopback and link-local addresses (tests and local demos).
	AllowPrivate bool
	// Allow, when set, lets through these exact addresses even when AllowPrivate is off: a test can then reach
	// its own loopback server and still prove that every other private address is refused.
	Allow         []netip.AddrPort
	Timeout       time.Duration
	HeaderTimeout time.Duration
	DialTimeout   time.Duration // connect, and the TLS handshake (each)
	MaxBody       int64
	// Key and KeyID sign GETs, so that servers in authorized-fetch mode answer.
	Key   *rsa.PrivateKey
	KeyID string
	// Now is the clock for signature dates (tests); time.Now by default.
	Now func() time.Time
}

// Client makes requests under the policy of its Config. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client

	mu sync.Mutex
	// signHosts are the hosts that asked for a signed fetch (authorized-fetch mode), until when to sign for them.
	signHosts map[string]time.Time
}

// New builds a Client.
func New(cfg Config) *Client {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HeaderTimeout == 0 {
		cfg.HeaderTimeout = DefaultHeaderTimeout
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "memo"
	}
	c := &Client{cfg: cfg, signHosts: map[string]time.Time{}}
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second, Control: c.control}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us and bypass the address check
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.DialTimeout,
		ResponseHeaderTimeout: cfg.HeaderTimeout,
		ExpectContinueTimeout: time.Second,
	}
	c.http = &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return fmt.Errorf("more than %d redirects", MaxRedirects)
			}
			if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
				return fmt.Errorf("redirect to scheme %q", req.URL.Scheme)
			}
			// Every hop stays on the origin first asked for (Mastodon's fix for CVE-2024-23832 refuses the
			// documents an off-host redirect leads to; we do not even follow it).
			if !sameOrigin(via[0].URL, req.URL) {
				return fmt.Errorf("redirect from %s to %s: %w", via[0].URL.Redacted(), req.URL.Redacted(), ErrRedirectOffHost)
			}
			// Signed GETs are signed per URL: re-sign for the new target rather than replay a signature
			// made for another path.
			if req.Header.Get("Signature") != "" && c.cfg.Key != nil {
				req.Header.Del("Signature")
				return httpsign.SignRequest(req, nil, c.cfg.Key, c.cfg.KeyID, c.cfg.Now())
			}
			return nil
		},
	}
	return c
}

// HTTP exposes the underlying client (same dialer policy and timeouts) for callers that build their own requests.
func (c *Client) HTTP() *http.Client { return c.http }

// AllowsPrivate tells whether the client may reach private and loopback addresses (tests and local demos), where
// plain http is also expected.
func (c *Client) AllowsPrivate() bool { return c.cfg.AllowPrivate }

// UserAgent is the User-Agent every request carries.
func (c *Client) UserAgent() string { return c.cfg.UserAgent }

// Get fetches iri with a signed GET (when the client has a key) and returns its body, at most MaxBody bytes,
// whatever its content type: for documents that are not ActivityPub objects (WebFinger). ActivityPub objects are
// fetched with GetObject. Non-2xx answers are *StatusError.
func (c *Client) Get(ctx context.Context, iri string) ([]byte, error) {
	return c.get(ctx, iri, c.cfg.Key != nil, false)
}

// CanSign tells whether the client has a key for signed GETs.
func (c *Client) CanSign() bool { return c.cfg.Key != nil }

// get fetches iri; activity requires an ActivityPub content type.
func (c *Client) get(ctx context.Context, iri string, sign, activity bool) ([]byte, error) {
	u, err := url.Parse(iri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("fetch %q: not an http(s) URL", iri)
	}
	u.Fragment = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", iri, err)
	}
	req.Header.Set("Accept", AcceptActivity)
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if sign {
		if err := httpsign.SignRequest(req, nil, c.cfg.Key, c.cfg.KeyID, c.cfg.Now()); err != nil {
			return nil, fmt.Errorf("fetch %s: %w", iri, err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", iri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &StatusError{URL: iri, Code: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	}
	if ct := resp.Header.Get("Content-Type"); activity && !ActivityContentType(ct) {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("fetch %s: %w: Content-Type %q, want application/activity+json or application/ld+json with the ActivityStreams profile", iri, ErrContentType, ct)
	}
	return c.readLimited(resp.Body, iri)
}

func (c *Client) readLimited(r io.Reader, iri string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, c.cfg.MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: read: %w", iri, err)
	}
	if int64(len(b)) > c.cfg.MaxBody {
		return nil, fmt.Errorf("fetch %s: %w (over %d bytes)", iri, ErrTooLarge, c.cfg.MaxBody)
	}
	return b, nil
}

// Post delivers body to inbox, signed with the client's key (rsa-sha256 over (request-target) host date digest).
// It returns the status code; non-2xx answers are also a *StatusError.
func (c *Client) Post(ctx context.Context, inbox string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("post to %s: %w", inbox, err)
	}
	req.Header.Set("Content-Type", "application/activity+json")
	req.Header.Set("Accept", AcceptActivity)
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if c.cfg.Key == nil {
		return 0, fmt.Errorf("post to %s: no signing key", inbox)
	}
	if err := httpsign.SignRequest(req, body, c.cfg.Key, c.cfg.KeyID, c.cfg.Now()); err != nil {
		return 0, fmt.Errorf("post to %s: %w", inbox, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post to %s: %w", inbox, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, &StatusError{URL: inbox, Code: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	}
	return resp.StatusCode, nil
}

// UserAgent is what every request to another server says we are: memo/VERSION (+BASE).
func UserAgent(version, base string) string {
	if version == "" {
		version = "dev"
	}
	return "memo/" + strings.TrimPrefix(version, "v") + " (+" + base + ")"
}
