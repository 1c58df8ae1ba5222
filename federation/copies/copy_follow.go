package copies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/storage"
)

// Config sets up the copy side of an instance started with MEMO_COPY_OF.
type Config struct {
	URLs  content.URLs
	Store *storage.Store
	// Fetch reads the origin's documents; the delivery queue carries what the copy sends.
	Fetch  *fetch.Client
	Logger *slog.Logger
	// Origin is the origin's actor URL, or its handle (memo@host or @memo@host).
	Origin string
	// SyncEvery is how often the copy reads the origin again even when nothing arrived from it (missed
	// deliveries, a copy that was down); WatchEvery how often it looks for new activities from the origin and
	// for signatures to relay. Zero picks 10 minutes and 2 seconds.
	SyncEvery, WatchEvery time.Duration
}

// Copy keeps a copy in step with its origin: it follows the origin, mirrors its revisions and impulses, reads the
// origin's signature count, and relays its own signatures to the origin through the delivery queue.
type Copy struct {
	cfg    Config
	log    *slog.Logger
	actors *fetch.Actors
	client *fetch.Client
	origin originRef
}

// originRef is the origin once resolved: its actor and the address scheme of its objects.
type originRef struct {
	actor storage.RemoteActor
	urls  content.URLs
}

// CheckOrigin tells whether origin names an origin the way MEMO_COPY_OF takes it: an actor URL of this software
// (BASE/users/NAME) or a handle (NAME@HOST, with or without a leading @).
func CheckOrigin(origin string) error {
	if strings.HasPrefix(origin, "http://") || strings.HasPrefix(origin, "https://") {
		_, err := content.OriginURLs(origin)
		return err
	}
	user, host, ok := strings.Cut(strings.TrimPrefix(origin, "@"), "@")
	if !ok || user == "" || host == "" || strings.ContainsAny(user+host, "/?#@ ") {
		return fmt.Errorf("%q: give the origin's actor URL (https://memo.example/users/memo) or its handle (memo@memo.example)", origin)
	}
	return nil
}

// New builds the copy side. Nothing is fetched before Run.
func New(cfg Config) (*Copy, error) {
	if err := CheckOrigin(cfg.Origin); err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	if cfg.Fetch == nil || cfg.Store == nil {
		return nil, errors.New("copy: the fetch client and the store are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SyncEvery <= 0 {
		cfg.SyncEvery = 10 * time.Minute
	}
	if cfg.WatchEvery <= 0 {
		cfg.WatchEvery = 2 * time.Second
	}
	client := cfg.Fetch
	return &Copy{cfg: cfg, log: cfg.Logger.With("copy_of", cfg.Origin), actors: fetch.NewActors(client, cfg.Store), client: client}, nil
}

// Run resolves and follows the origin (retrying while it is unreachable: the copy serves what it has meanwhile),
// then syncs on start, whenever an activity from the origin arrives, and every SyncEvery; it relays signatures
// as they are recorded. It returns when ctx ends.
func (c *Copy) Run(ctx context.Context) error {
	wait := c.cfg.WatchEvery
	for {
		err := c.start(ctx)
		if err == nil {
			break
		}
		c.log.Warn("copy: origin not reachable yet", "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Minute)
	}
	lastSeen, _ := c.cfg.Store.LatestFromActor(ctx, c.origin.actor.IRI)
	synced := c.syncLogged(ctx)
	lastSync := time.Now()
	retry := c.cfg.WatchEvery // after a failed sync (origin down), try again sooner than SyncEvery, backing off
	relayPrefix := storage.RelayAddPrefix(c.cfg.URLs.Base)
	unconfirmed, _ := c.cfg.Store.UnconfirmedRelays(ctx, relayPrefix)
	t := time.NewTicker(c.cfg.WatchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := c.Relay(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("copy: relay", "err", err)
		}
		latest, err := c.cfg.Store.LatestFromActor(ctx, c.origin.actor.IRI)
		if err != nil {
			c.log.Warn("copy: watch", "err", err)
			continue
		}
		due := c.cfg.SyncEvery
		if !synced {
			due = retry
		}
		if latest > lastSeen || time.Since(lastSync) >= due {
			lastSeen, lastSync = latest, time.Now()
			if synced = c.syncLogged(ctx); synced {
				retry = c.cfg.WatchEvery
			} else {
				retry = min(retry*2, c.cfg.SyncEvery)
			}
		}
		// A relay just delivered moved a signature from our count to the origin's: read the origin's again, so
		// the network total shown does not dip meanwhile.
		if n, err := c.cfg.Store.UnconfirmedRelays(ctx, relayPrefix); err == nil && n < unconfirmed {
			if err := c.syncTotal(ctx); err != nil {
				c.log.Debug("copy: origin total", "err", err)
				continue // try again on the next tick
			}
			unconfirmed = n
		} else if err == nil {
			unconfirmed = n
		}
	}
}

// syncLogged syncs and logs the outcome; it tells whether the sync went through.
func (c *Copy) syncLogged(ctx context.Context) bool {
	n, err := c.Sync(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("copy: sync with the origin", "err", err)
		}
		return false
	}
	if n > 0 {
		c.log.Info("copy: revisions imported from the origin", "count", n)
	}
	return true
}

// start resolves the origin, records it and queues the Follow.
func (c *Copy) start(ctx context.Context) error {
	iri, err := c.resolve(ctx, c.cfg.Origin)
	var actor storage.RemoteActor
	if err == nil {
		actor, err = c.actors.Actor(ctx, iri, true)
	}
	if err != nil {
		// The origin is unreachable: a copy that knew it goes on with what it cached, so that its signatures
		// are queued for the origin meanwhile.
		known, merr := c.cfg.Store.Meta(ctx, storage.MetaCopyOf)
		if merr != nil || known == "" || (iri != "" && known != iri) {
			return err
		}
		cached, cerr := c.cfg.Store.Actor(ctx, known)
		if cerr != nil || cached.Inbox == "" {
			return err
		}
		c.log.Warn("copy: origin unreachable, using what was cached", "err", err)
		actor = cached
	}
	ourls, err := content.OriginURLs(actor.IRI)
	if err != nil {
		return err
	}
	if ourls.Base == c.cfg.URLs.Base {
		return fmt.Errorf("copy of %s: that is this instance", actor.IRI)
	}
	c.origin = originRef{actor: actor, urls: ourls}
	if err := c.cfg.Store.SetMeta(ctx, storage.MetaCopyOf, actor.IRI); err != nil {
		return err
	}
	return c.follow(ctx)
}

// resolve turns a handle into an actor IRI with WebFinger; an URL is taken as the actor's.
func (c *Copy) resolve(ctx context.Context, origin string) (string, error) {
	if strings.HasPrefix(origin, "http://") || strings.HasPrefix(origin, "https://") {
		return origin, nil
	}
	user, host, ok := strings.Cut(strings.TrimPrefix(origin, "@"), "@")
	if !ok || user == "" || host == "" || strings.ContainsAny(host, "/?#@") {
		return "", fmt.Errorf("copy of %q: give the origin's actor URL or its handle, e.g. memo@memo.example", origin)
	}
	schemes := []string{"https"}
	if c.client.AllowsPrivate() {
		schemes = append(schemes, "http") // local demos and tests run without TLS
	}
	var lastErr error
	for _, scheme := range schemes {
		wf := scheme + "://" + host + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+user+"@"+host)
		body, err := c.client.Get(ctx, wf)
		if err != nil {
			lastErr = err
			continue
		}
		var doc struct {
			Links []struct {
				Rel, Type, Href string
			} `json:"links"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return "", fmt.Errorf("webfinger %s: %w", origin, err)
		}
		for _, l := range doc.Links {
			if l.Rel == "self" && (l.Type == content.ActivityJSON || strings.Contains(l.Type, "activitystreams")) {
				return l.Href, nil
			}
		}
		return "", fmt.Errorf("webfinger %s: no ActivityPub actor link", origin)
	}
	return "", fmt.Errorf("webfinger %s: %w", origin, lastErr)
}

// followIRI is the copy's one Follow of its origin; a restart queues nothing new.
func (c *Copy) followIRI() string { return c.cfg.URLs.Base + "/activities/follow-origin" }

// follow queues the Follow of the origin, once.
func (c *Copy) follow(ctx context.Context) error {
	body, err := json.Marshal(map[string]any{
		"@context": content.ActivityStreamsContext,
		"id":       c.followIRI(),
		"type":     "Follow",
		"actor":    c.cfg.URLs.Actor(),
		"object":   c.origin.actor.IRI,
		"to":       []string{c.origin.actor.IRI},
	})
	if err != nil {
		return fmt.Errorf("encode Follow: %w", err)
	}
	return c.cfg.Store.InsertActivity(ctx, storage.Activity{IRI: c.followIRI(), Type: "Follow", ObjectIRI: c.origin.actor.IRI, Body: string(body)},
		[]storage.Recipient{c.originRecipient()})
}

// originRecipient is where activities for the origin go: its shared inbox when it offers one.
func (c *Copy) originRecipient() storage.Recipient {
	inbox := c.origin.actor.SharedInbox
	if inbox == "" {
		inbox = c.origin.actor.Inbox
	}
	return storage.Recipient{Inbox: inbox, Domain: fetch.Host(inbox)}
}

// Sync reads the origin's revisions, impulses and signature count and brings the copy in step. It returns how
// many revisions it imported.
func (c *Copy) Sync(ctx context.Context) (int, error) {
	if c.origin.actor.IRI == "" {
		return 0, errors.New("sync: the origin is not resolved yet")
	}
	imported, err := c.syncRevisions(ctx)
	if err != nil {
		return imported, err
	}
	if err := c.syncImpulses(ctx); err != nil {
		return imported, err
	}
	if err := c.syncTotal(ctx); err != nil {
		return imported, err
	}
	return imported, c.cfg.Store.SetMeta(ctx, storage.MetaOriginSyncedAt, strconv.FormatInt(time.Now().UnixMilli(), 10))
}

// getJSON fetches one of the origin's documents (a signed GET) and decodes it.
func (c *Copy) getJSON(ctx context.Context, iri string, into any) error {
	body, err := c.client.Get(ctx, iri)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("decode %s: %w", iri, err)
	}
	return nil
}
