// Package federation is the ActivityPub side of the publication: the objects and collections it serves, discovery
// (WebFinger, NodeInfo, host-meta), and the inbox and deliveries.
package federation

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/memo-fediverse/memo/federation/as"
	"github.com/memo-fediverse/memo/federation/outbox"
	"github.com/memo-fediverse/memo/federation/signing"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/clientaddr"
	"github.com/memo-fediverse/memo/federation/delivery"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/storage"
)

// Config is what the federation side needs to know about the instance.
type Config struct {
	URLs        content.URLs
	DisplayName string
	Version     string
	Key         *rsa.PrivateKey
	// SigningPhrases replaces the default signing phrases when not empty; NoAcknowledgement stops the replies
	// that tell signers their number.
	SigningPhrases    []string
	NoAcknowledgement bool
	Logger            *slog.Logger
	// Fetch makes every GET to other servers (actors, keys, notes); it is shared so that one pool and one memory
	// of the hosts that want signed fetches serve the whole process.
	Fetch *fetch.Client
	// Deliver sends the deliveries: a client of its own because a POST may wait longer for a slow inbox than a
	// fetch for a document.
	Deliver *fetch.Client
	// DeliveryLease is how long a claimed delivery stays this process's (zero: the worker's default).
	DeliveryLease time.Duration
	// TrustedProxies, RefusedMaxAge, RefusedMaxRows and FollowLimit go to the inbox (InboxConfig); zero values
	// pick its defaults.
	TrustedProxies *clientaddr.Proxies
	RefusedMaxAge  time.Duration
	RefusedMaxRows int
	FollowLimit    int
}

// Server serves the ActivityPub endpoints and runs the background federation work.
type Server struct {
	cfg   Config
	store *storage.Store
	log   *slog.Logger
	objs  as.Builder
	inbox inboxState
	wf    *webfinger
	// matcher recognises signing phrases (nil: the defaults).
	matcher *signing.Matcher
	actors  *fetch.Actors
}

// New builds the federation side.
func New(cfg Config, store *storage.Store) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Key == nil {
		return nil, errors.New("federation: the actor's key is missing")
	}
	if cfg.Fetch == nil || cfg.Deliver == nil {
		return nil, errors.New("federation: the fetch and delivery clients are required")
	}
	if cfg.URLs.Base == "" || cfg.URLs.Username == "" {
		return nil, errors.New("federation: the public URL and the username are required")
	}
	var matcher *signing.Matcher
	if len(cfg.SigningPhrases) > 0 {
		m, err := signing.NewMatcher(cfg.SigningPhrases)
		if err != nil {
			return nil, fmt.Errorf("signing phrases: %w", err)
		}
		matcher = m
	}
	wf, err := newWebfinger(cfg.URLs)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, store: store, log: cfg.Logger, objs: as.NewServing(cfg.URLs, store, cfg.SigningPhrases, cfg.DisplayName, &cfg.Key.PublicKey), matcher: matcher, actors: fetch.NewActors(cfg.Fetch, store), wf: wf}, nil
}

// Register adds the ActivityPub routes to mux. Object URLs are negotiated: requests that do not ask for
// ActivityPub JSON go to pages, the HTML site, on the same URL.
func (s *Server) Register(mux *http.ServeMux, pages http.Handler) {
	s.registerInbox(mux)
	for _, rt := range s.routes(pages) {
		mux.Handle(rt.pattern, rt.handler)
	}
}

// top finishes a built document as a response body: with its @context.
func (s *Server) top(m map[string]any, err error) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	return as.TopLevel(s.cfg.URLs, m), nil
}

// orNotFound stands for "exists but is not to be shown" (retracted, private), answered like a missing row.
func orNotFound(err error) error {
	if err == nil {
		return storage.ErrNotFound
	}
	return err
}

// Run does the background work (the inbox's effects, deliveries) until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	in := s.inboxes()
	deliveries, err := delivery.New(delivery.Config{Store: s.store, Client: s.cfg.Deliver.HTTP(), Key: s.cfg.Key, KeyID: s.cfg.URLs.KeyID(),
		UserAgent: s.cfg.Deliver.UserAgent(), Logger: s.log, Lease: s.cfg.DeliveryLease,
		Yield: func() bool { return in.Busy() || in.Behind() }, Synchronize: outbox.FollowersSynchronization(s.cfg.URLs, s.store)})
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- deliveries.Run(ctx) }()
	err = s.runInbox(ctx)
	return errors.Join(err, <-done)
}
