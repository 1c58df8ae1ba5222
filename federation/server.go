// Package federation is the ActivityPub side of the publication: the objects and collections it serves, discovery
// (WebFinger, NodeInfo, host-meta), and the inbox and deliveries.
package federation

import (
	"context"
	"crypto/rsa"
	"log/slog"
	"net/http"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// Config is what the federation side needs to know about the instance.
type Config struct {
	URLs         content.URLs
	DisplayName  string
	Version      string
	AllowPrivate bool
	Key          *rsa.PrivateKey
	Logger       *slog.Logger
}

// Server serves the ActivityPub endpoints and runs the background federation work.
type Server struct {
	cfg   Config
	store *storage.Store
	log   *slog.Logger
	inbox inboxState
}

// New builds the federation side.
func New(cfg Config, store *storage.Store) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{cfg: cfg, store: store, log: cfg.Logger}, nil
}

// Register adds the ActivityPub routes to mux. Object URLs are negotiated: requests that do not ask for
// ActivityPub JSON go to pages, the HTML site, on the same URL.
func (s *Server) Register(mux *http.ServeMux, pages http.Handler) {
	s.registerInbox(mux)
	// TODO(read side): routes.
}

// Run does the background work (deliveries) until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	return s.runInbox(ctx)
}
