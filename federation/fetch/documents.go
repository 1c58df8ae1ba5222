package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The document rules: an ActivityPub document is trusted only from its own origin, served as ActivityPub, and
// under its own id.

// Refusals of a document under the rules: the answer came, and it is not one we may trust. Refused tells them
// from failures of the network or of the remote server, which may be worth a retry.
var (
	// ErrRedirectOffHost: a redirect to another scheme, host or port than the URL asked for. An open redirect on a
	// big instance would otherwise let any host answer for one of its URLs.
	ErrRedirectOffHost = errors.New("redirect leaves the origin")
	// ErrContentType: the answer is not served as an ActivityPub document (a user upload served as text/plain or
	// application/json, an HTML page).
	ErrContentType = errors.New("not served as an ActivityPub document")
	// ErrIDMismatch: the document's id is not the URL it was fetched from.
	ErrIDMismatch = errors.New("document id is not the URL it was fetched from")
)

// Refused tells whether err is a refusal of the document under the rules (ErrRedirectOffHost, ErrContentType,
// ErrIDMismatch): asking again will not make it trustworthy.
func Refused(err error) bool {
	return errors.Is(err, ErrRedirectOffHost) || errors.Is(err, ErrContentType) || errors.Is(err, ErrIDMismatch)
}

// SignedHostMemory is how long a host that refused an unsigned fetch gets signed fetches only.
const SignedHostMemory = 24 * time.Hour

// GetObject fetches the ActivityPub object iri (a note, an activity, a collection) with a signed GET when the
// client has a key, under the document rules: redirects within iri's origin only, an ActivityPub content type,
// and the document's id equal to iri. The id is compared with the URL asked for, which is the id the caller
// trusts; a same-origin redirect does not change it, and a document whose id names another URL is refused, not
// fetched again from there. An iri with a fragment names a part of a document, never a document: refused.
// Non-2xx answers are *StatusError; refusals under the rules satisfy Refused.
func (c *Client) GetObject(ctx context.Context, iri string) ([]byte, error) {
	if strings.Contains(iri, "#") {
		return nil, fmt.Errorf("fetch %s: %w: an IRI with a fragment names a part of a document", iri, ErrIDMismatch)
	}
	body, err := c.get(ctx, iri, c.cfg.Key != nil, true)
	if err != nil {
		return nil, err
	}
	if err := CheckID(body, iri); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", iri, err)
	}
	return body, nil
}

// CheckID requires body to be a JSON object whose id is want.
func CheckID(body []byte, want string) error {
	var doc struct {
		ID any `json:"id"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("%w: the document is not a JSON object (%v)", ErrIDMismatch, err)
	}
	id, ok := doc.ID.(string)
	if !ok {
		return fmt.Errorf("%w: it has no id", ErrIDMismatch)
	}
	if id != want {
		return fmt.Errorf("%w: it has id %q", ErrIDMismatch, id)
	}
	return nil
}

// ActivityContentType tells whether a Content-Type header names an ActivityPub document:
// application/activity+json, or application/ld+json with the ActivityStreams profile (one of the space-separated
// profiles). Parameters such as charset are allowed. Anything else, application/json included, is refused, as
// Mastodon refuses it (JsonLdHelper#valid_activitypub_content_type?): a host may serve user files as JSON.
func ActivityContentType(header string) bool {
	mt, params, err := mime.ParseMediaType(header)
	if err != nil {
		return false
	}
	switch mt {
	case "application/activity+json":
		return true
	case "application/ld+json":
		for _, p := range strings.Fields(params["profile"]) {
			if p == "https://www.w3.org/ns/activitystreams" {
				return true
			}
		}
	}
	return false
}

// SameOrigin tells whether two URLs have the same scheme, host and port (a missing port is the scheme's default).
func SameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host != "" && sameOrigin(ua, ub)
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// GetPublic fetches an ActivityPub document that servers publish to anyone, an actor or its key, under the
// document rules except the id (the key resolution decides what the id must be): unsigned first, since a
// signature costs an RSA-2048 private-key operation (15 to 20 verifications' worth) and most servers answer
// without one. A host that answers 401 or 403 is asked again with a signed GET, and gets signed GETs only for
// SignedHostMemory. signed tells which kind of request the body answered.
func (c *Client) GetPublic(ctx context.Context, iri string) (body []byte, signed bool, err error) {
	if c.cfg.Key == nil || c.mustSign(Host(iri)) {
		body, err = c.get(ctx, iri, c.cfg.Key != nil, true)
		return body, c.cfg.Key != nil, err
	}
	body, err = c.get(ctx, iri, false, true)
	var se *StatusError
	if errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden) {
		c.RequireSigned(Host(iri))
		body, err = c.get(ctx, iri, true, true)
		return body, true, err
	}
	return body, false, err
}

// RequireSigned makes GetPublic sign its requests to host for SignedHostMemory.
func (c *Client) RequireSigned(host string) {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.signHosts) >= 10000 {
		// Bounded: a flood of hosts must not grow the map for ever; expired entries decide nothing.
		for h, until := range c.signHosts {
			if now.After(until) {
				delete(c.signHosts, h)
			}
		}
	}
	c.signHosts[strings.ToLower(host)] = now.Add(SignedHostMemory)
}

func (c *Client) mustSign(host string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.signHosts[strings.ToLower(host)]
	return ok && c.cfg.Now().Before(until)
}
