// Package interact finds where a visitor's own instance opens one of our objects (remote interaction): the
// subscribe template of their WebFinger, an FEP-3b86 intent, or the path their software offers, read from the
// host's NodeInfo. Every look-up goes through the safe fetch client, unsigned, under one short deadline, and is
// cached; a target is used only when it is on the host the visitor named.
package interact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/memo-fediverse/memo/federation/fetch"
)

// Link relations read from WebFinger.
const (
	RelSubscribe = "http://ostatus.org/schema/1.0/subscribe"
	// RelIntentObject is FEP-3b86's intent to open an object; its template has an {object} parameter.
	RelIntentObject = "https://w3id.org/fep/3b86/Object"
)

// Paths is what each software offers for opening a remote object, by NodeInfo software name; {uri} is replaced by
// the object's URL, query-escaped. Where each comes from is in FEDERATION.md ("Remote interaction").
var Paths = map[string]string{
	// Mastodon publishes /authorize_interaction?uri={uri} in WebFinger (app/serializers/webfinger_serializer.rb);
	// its forks keep it and mostly report themselves as "mastodon".
	"mastodon": "/authorize_interaction?uri={uri}",
	"hometown": "/authorize_interaction?uri={uri}",
	"fedibird": "/authorize_interaction?uri={uri}",
	// Misskey publishes /authorize-follow?acct={uri} (packages/backend/src/server/WellKnownServerService.ts); the
	// page opens a Note given as an https URL (packages/frontend/src/pages/follow.vue). Forks keep both.
	"misskey":    "/authorize-follow?acct={uri}",
	"sharkey":    "/authorize-follow?acct={uri}",
	"firefish":   "/authorize-follow?acct={uri}",
	"calckey":    "/authorize-follow?acct={uri}",
	"iceshrimp":  "/authorize-follow?acct={uri}",
	"cherrypick": "/authorize-follow?acct={uri}",
	"foundkey":   "/authorize-follow?acct={uri}",
	"catodon":    "/authorize-follow?acct={uri}",
	// Pleroma publishes /ostatus_subscribe?acct={uri}; the controller opens a status when acct is one
	// (RemoteFollowController#follow, is_status?). Akkoma keeps it.
	"pleroma": "/ostatus_subscribe?acct={uri}",
	"akkoma":  "/ostatus_subscribe?acct={uri}",
	// Friendica publishes /contact/follow?url={uri} (src/Module/Xrd.php); the module opens a post given by URL
	// (src/Module/Contact/Follow.php, followRemoteItem).
	"friendica": "/contact/follow?url={uri}",
	// PeerTube publishes /remote-interaction?uri={uri} in WebFinger (server/core/controllers/well-known.ts).
	"peertube": "/remote-interaction?uri={uri}",
	// Lemmy publishes no template; lemmy-ui's search page resolves q for a signed-in user
	// (src/shared/components/search.tsx, fetchInitialData).
	"lemmy": "/search?q={uri}&type=All",
}

// Defaults for Config fields left zero.
const (
	DefaultDeadline    = 2500 * time.Millisecond
	DefaultTTL         = 5 * time.Minute
	DefaultFailTTL     = time.Minute
	DefaultMaxEntries  = 4096
	DefaultMaxInFlight = 16
	maxDocument        = 64 << 10
)

// Errors that say why no target was found; the visitor then gets the page with the URL to copy.
var (
	ErrNoPath  = errors.New("the instance offers no remote-interaction path")
	ErrOffHost = errors.New("the remote-interaction target is not on the host named")
	ErrBusy    = errors.New("too many look-ups in flight")
)

// Config sets up a Resolver.
type Config struct {
	// Client makes the requests; it should carry no key (these look-ups are anonymous) and a short timeout.
	Client *fetch.Client
	// AllowPrivate lets plain-HTTP hosts through (loopback tests and local demos), as the fetch client's setting.
	AllowPrivate bool
	Deadline     time.Duration // the whole look-up, WebFinger and NodeInfo together
	TTL          time.Duration // how long an answer is kept
	FailTTL      time.Duration // how long a failure is kept, so a down or slow host costs one wait
	MaxEntries   int
	MaxInFlight  int
	Now          func() time.Time
}

// Resolver looks up remote-interaction targets. It is safe for concurrent use.
type Resolver struct {
	cfg      Config
	inFlight chan struct{}

	mu    sync.Mutex
	cache map[string]entry
}

// entry is what a look-up learnt: a template ({uri} or {object} placeholder) and the software's name.
type entry struct {
	template, placeholder, software string
	err                             error
	expires                         time.Time
}

// New builds a Resolver.
func New(cfg Config) *Resolver {
	if cfg.Deadline == 0 {
		cfg.Deadline = DefaultDeadline
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.FailTTL == 0 {
		cfg.FailTTL = DefaultFailTTL
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Resolver{cfg: cfg, inFlight: make(chan struct{}, cfg.MaxInFlight), cache: map[string]entry{}}
}

// Interaction returns where the visitor's instance opens object: user may be empty (a bare host). target is empty
// when none was found (err says why); software is the host's NodeInfo name when it was read.
func (r *Resolver) Interaction(ctx context.Context, user, host, object string) (target, software string, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Deadline)
	defer cancel()
	host = strings.ToLower(host)
	var errs []error
	if user != "" {
		e := r.cached(ctx, "acct:"+user+"@"+host, func(ctx context.Context) entry { return r.webfinger(ctx, user, host) })
		if e.template != "" {
			return expand(e, object), "", nil
		}
		errs = append(errs, e.err)
		if ctx.Err() != nil {
			return "", "", errors.Join(errs...)
		}
	}
	e := r.cached(ctx, "host:"+host, func(ctx context.Context) entry { return r.nodeinfo(ctx, host) })
	if e.template != "" {
		return expand(e, object), e.software, nil
	}
	return "", e.software, errors.Join(append(errs, e.err)...)
}

func expand(e entry, object string) string {
	return strings.Replace(e.template, e.placeholder, url.QueryEscape(object), 1)
}

// cached answers key from the cache or runs look (under the in-flight bound) and keeps its answer.
func (r *Resolver) cached(ctx context.Context, key string, look func(context.Context) entry) entry {
	now := r.cfg.Now()
	r.mu.Lock()
	e, ok := r.cache[key]
	r.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e
	}
	select {
	case r.inFlight <- struct{}{}:
	default:
		return entry{err: ErrBusy}
	}
	e = look(ctx)
	<-r.inFlight
	ttl := r.cfg.TTL
	if e.template == "" && e.software == "" {
		ttl = r.cfg.FailTTL
	}
	e.expires = r.cfg.Now().Add(ttl)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= r.cfg.MaxEntries {
		// Bounded: expired entries go first; if none has, an arbitrary one makes room.
		for k, old := range r.cache {
			if !now.Before(old.expires) {
				delete(r.cache, k)
			}
		}
		for k := range r.cache {
			if len(r.cache) < r.cfg.MaxEntries {
				break
			}
			delete(r.cache, k)
		}
	}
	r.cache[key] = e
	return e
}

// schemes are those tried for a host: HTTPS, and plain HTTP too when private addresses are allowed.
func (r *Resolver) schemes() []string {
	if r.cfg.AllowPrivate {
		return []string{"https", "http"}
	}
	return []string{"https"}
}

type jrd struct {
	Links []struct {
		Rel      string `json:"rel"`
		Template string `json:"template"`
	} `json:"links"`
}

// webfinger reads user@host's subscribe template, or its FEP-3b86 Object intent when it has none.
func (r *Resolver) webfinger(ctx context.Context, user, host string) entry {
	var lastErr error
	for _, scheme := range r.schemes() {
		u := scheme + "://" + host + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+user+"@"+host)
		body, err := r.get(ctx, u, "application/jrd+json, application/json")
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		var doc jrd
		if err := json.Unmarshal(body, &doc); err != nil {
			return entry{err: fmt.Errorf("webfinger %s@%s: %w", user, host, err)}
		}
		var found []entry
		for _, rel := range []struct{ rel, placeholder string }{{RelSubscribe, "{uri}"}, {RelIntentObject, "{object}"}} {
			for _, l := range doc.Links {
				if l.Rel == rel.rel && l.Template != "" {
					found = append(found, entry{template: l.Template, placeholder: rel.placeholder})
				}
			}
		}
		lastErr = fmt.Errorf("webfinger %s@%s: %w", user, host, ErrNoPath)
		for _, e := range found {
			if err := r.checkTarget(e.template, e.placeholder, host); err != nil {
				lastErr = fmt.Errorf("webfinger %s@%s: template %q: %w", user, host, e.template, err)
				continue
			}
			return e
		}
		return entry{err: lastErr}
	}
	return entry{err: lastErr}
}

// nodeinfo reads the host's software name and takes the path that software offers.
func (r *Resolver) nodeinfo(ctx context.Context, host string) entry {
	var lastErr error
	for _, scheme := range r.schemes() {
		origin := scheme + "://" + host
		body, err := r.get(ctx, origin+"/.well-known/nodeinfo", "application/json")
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		var index struct {
			Links []struct {
				Rel  string `json:"rel"`
				Href string `json:"href"`
			} `json:"links"`
		}
		if err := json.Unmarshal(body, &index); err != nil {
			return entry{err: fmt.Errorf("nodeinfo %s: %w", host, err)}
		}
		href := ""
		for _, l := range index.Links {
			if strings.HasPrefix(l.Rel, "http://nodeinfo.diaspora.software/ns/schema/2.") && l.Href != "" {
				href = l.Href // the last listed is the newest version on the servers seen
			}
		}
		if href == "" {
			return entry{err: fmt.Errorf("nodeinfo %s: no NodeInfo 2.x link", host)}
		}
		// The document is read from the host named only: a link elsewhere could make us fetch any URL.
		if !fetch.SameOrigin(href, origin) {
			return entry{err: fmt.Errorf("nodeinfo %s: document at %q: %w", host, href, ErrOffHost)}
		}
		body, err = r.get(ctx, href, "application/json")
		if err != nil {
			return entry{err: err}
		}
		var doc struct {
			Software struct {
				Name string `json:"name"`
			} `json:"software"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return entry{err: fmt.Errorf("nodeinfo %s: %w", host, err)}
		}
		name := strings.ToLower(strings.TrimSpace(doc.Software.Name))
		if len(name) > 64 {
			name = name[:64]
		}
		path, ok := Paths[name]
		if !ok {
			return entry{software: name, err: fmt.Errorf("nodeinfo %s: software %q: %w", host, name, ErrNoPath)}
		}
		return entry{template: origin + path, placeholder: "{uri}", software: name}
	}
	return entry{err: lastErr}
}

// checkTarget requires a template to lead to the host named, over HTTPS (or plain HTTP when private addresses are
// allowed), with its placeholder in it: a remote document may name any URL, and the visitor is sent only to the
// instance they typed.
func (r *Resolver) checkTarget(template, placeholder, host string) error {
	if !strings.Contains(template, placeholder) {
		return fmt.Errorf("no %s in it: %w", placeholder, ErrNoPath)
	}
	u, err := url.Parse(strings.Replace(template, placeholder, "x", 1))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrOffHost, err)
	}
	if !(u.Scheme == "https" || (u.Scheme == "http" && r.cfg.AllowPrivate)) || u.User != nil || u.Opaque != "" {
		return ErrOffHost
	}
	if !SameHost(u, host) {
		return ErrOffHost
	}
	return nil
}

// SameHost tells whether u is on host (name and port; a missing port is the scheme's default).
func SameHost(u *url.URL, host string) bool {
	want, err := url.Parse(u.Scheme + "://" + host)
	if err != nil || want.Host == "" {
		return false
	}
	return fetch.SameOrigin(u.Scheme+"://"+u.Host, want.String())
}

// get fetches a small JSON document, unsigned, under the fetch client's address and redirect rules.
func (r *Resolver) get(ctx context.Context, u, accept string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", r.cfg.Client.UserAgent())
	resp, err := r.cfg.Client.HTTP().Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &fetch.StatusError{URL: u, Code: resp.StatusCode}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	if len(b) > maxDocument {
		return nil, fmt.Errorf("get %s: %w", u, fetch.ErrTooLarge)
	}
	return b, nil
}
