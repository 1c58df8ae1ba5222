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
	wf    webfingerAnswer
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
	return &Server{cfg: cfg, store: store, log: cfg.Logger, objs: as.NewServing(cfg.URLs, store, cfg.SigningPhrases, cfg.DisplayName, &cfg.Key.PublicKey), matcher: matcher, actors: fetch.NewActors(cfg.Fetch, store)}, nil
}

// Register adds the ActivityPub routes to mux. Object URLs are negotiated: requests that do not ask for
// ActivityPub JSON go to pages, the HTML site, on the same URL.
func (s *Server) Register(mux *http.ServeMux, pages http.Handler) {
	s.registerInbox(mux)
	s.registerFollowersSync(mux)

	mux.HandleFunc("GET /.well-known/webfinger", s.handleWebfinger)
	mux.HandleFunc("GET /.well-known/host-meta", s.handleHostMeta)
	mux.HandleFunc("GET /.well-known/host-meta.json", s.handleHostMetaJSON)
	mux.HandleFunc("GET /.well-known/nodeinfo", s.handleNodeInfoIndex)
	mux.HandleFunc("GET /nodeinfo/2.0", s.handleNodeInfo("2.0"))
	mux.HandleFunc("GET /nodeinfo/2.1", s.handleNodeInfo("2.1"))

	object := func(pattern string, build objectHandler) {
		mux.HandleFunc(pattern, s.negotiated(pages, build))
	}
	// Replies, likes and shares of an object live under its address; exists checks the object first.
	interactions := func(prefix string, objectIRI func(r *http.Request) (string, error)) {
		object("GET "+prefix+"/replies", func(r *http.Request) (map[string]any, error) {
			id, err := objectIRI(r)
			if err != nil {
				return nil, err
			}
			return s.top(s.objs.Replies(r.Context(), id, r.URL.Query()))
		})
		for _, kind := range []string{"likes", "shares"} {
			object("GET "+prefix+"/"+kind, func(r *http.Request) (map[string]any, error) {
				id, err := objectIRI(r)
				if err != nil {
					return nil, err
				}
				return s.top(s.objs.CountOnly(r.Context(), id, kind))
			})
		}
	}

	object("GET /users/{username}", s.handleActor)
	actorCollection := func(name string, build func(r *http.Request) (map[string]any, error)) {
		object("GET /users/{username}/"+name, func(r *http.Request) (map[string]any, error) {
			if r.PathValue("username") != s.cfg.URLs.Username {
				return nil, as.NotFound("no actor %q here", r.PathValue("username"))
			}
			return s.top(build(r))
		})
	}
	actorCollection("outbox", func(r *http.Request) (map[string]any, error) { return s.objs.Outbox(r.Context(), r.URL.Query()) })
	actorCollection("followers", func(r *http.Request) (map[string]any, error) { return s.objs.Followers(r.Context(), r.URL.Query()) })
	actorCollection("following", func(r *http.Request) (map[string]any, error) { return s.objs.Following(r.Context(), r.URL.Query()) })
	actorCollection("featured", func(r *http.Request) (map[string]any, error) { return s.objs.Featured(r.Context()) })

	object("GET /memo", func(r *http.Request) (map[string]any, error) { return s.top(s.objs.MemoArticle(r.Context())) })
	interactions("/memo", func(r *http.Request) (string, error) {
		if _, err := s.store.CurrentRevision(r.Context()); err != nil {
			return "", as.StoreErr(err, "the memo is not published yet")
		}
		return s.cfg.URLs.Memo(), nil
	})
	object("GET /memo/revisions", func(r *http.Request) (map[string]any, error) { return s.top(s.objs.Revisions(r.Context())) })
	object("GET /memo/revisions/{n}", func(r *http.Request) (map[string]any, error) {
		n, err := as.RevisionNumber(r)
		if err != nil {
			return nil, err
		}
		return s.top(s.objs.RevisionArticle(r.Context(), n))
	})
	interactions("/memo/revisions/{n}", func(r *http.Request) (string, error) {
		n, err := as.RevisionNumber(r)
		if err != nil {
			return "", err
		}
		if _, err := s.store.Revision(r.Context(), n); err != nil {
			return "", as.StoreErr(err, "no revision %d", n)
		}
		return s.cfg.URLs.Revision(n), nil
	})

	object("GET /impulses", func(r *http.Request) (map[string]any, error) { return s.top(s.objs.Impulses(r.Context())) })
	object("GET /impulses/{slug}", func(r *http.Request) (map[string]any, error) {
		return s.top(s.objs.Impulse(r.Context(), r.PathValue("slug")))
	})
	interactions("/impulses/{slug}", func(r *http.Request) (string, error) {
		imp, err := s.store.Impulse(r.Context(), r.PathValue("slug"))
		if err != nil || imp.Retracted() {
			return "", as.StoreErr(orNotFound(err), "no impulse %q", r.PathValue("slug"))
		}
		return s.cfg.URLs.Impulse(imp.Slug), nil
	})

	object("GET /notes/{slug}", func(r *http.Request) (map[string]any, error) {
		return s.top(s.objs.Note(r.Context(), r.PathValue("slug")))
	})
	interactions("/notes/{slug}", func(r *http.Request) (string, error) {
		n, err := s.store.NoteBySlug(r.Context(), r.PathValue("slug"))
		if err != nil || !n.Public || n.Deleted() {
			return "", as.StoreErr(orNotFound(err), "no note %q", r.PathValue("slug"))
		}
		return s.cfg.URLs.Note(n.Slug), nil
	})

	s.registerSignatures(mux, pages)

	mux.HandleFunc("GET /activities/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		if !content.WantsActivityJSON(r) {
			pages.ServeHTTP(w, r)
			return
		}
		s.serveStoredActivity(w, r)
	})
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

// serveStoredActivity answers an activity's stored body byte for byte: what was delivered is what is fetched.
func (s *Server) serveStoredActivity(w http.ResponseWriter, r *http.Request) {
	body, err := s.objs.StoredActivity(r.Context(), r.PathValue("name"))
	var p *as.Problem
	switch {
	case errors.As(err, &p):
		writeError(w, p.Status, p.Reason)
	case err != nil:
		s.log.Error("stored activity", "name", r.PathValue("name"), "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	default:
		w.Header().Set("Content-Type", activityJSONType)
		w.Header().Set("Cache-Control", cacheControl)
		w.Write(body)
	}
}

// Run does the background work (the inbox's effects, deliveries) until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	deliveries, err := delivery.New(delivery.Config{Store: s.store, Client: s.cfg.Deliver.HTTP(), Key: s.cfg.Key, KeyID: s.cfg.URLs.KeyID(),
		UserAgent: s.cfg.Deliver.UserAgent(), Logger: s.log, Lease: s.cfg.DeliveryLease,
		Yield: s.inboxes().Busy, Synchronize: outbox.FollowersSynchronization(s.cfg.URLs, s.store)})
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- deliveries.Run(ctx) }()
	err = s.runInbox(ctx)
	return errors.Join(err, <-done)
}
