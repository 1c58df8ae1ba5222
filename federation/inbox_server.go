package federation

import (
	"context"
	"net/http"
	"sync"

	"github.com/memo-fediverse/memo/federation/inbox"
)

// inboxState is the Server's inbox, built on first use from the Server's Config.
type inboxState struct {
	once  sync.Once
	inbox *inbox.Inbox
}

// inboxes returns the Server's Inbox, building it (and its fetch client) the first time.
func (s *Server) inboxes() *inbox.Inbox {
	s.inbox.once.Do(func() {
		s.inbox.inbox = inbox.New(inbox.Config{
			URLs:   s.cfg.URLs,
			Store:  s.store,
			Actors: s.actors,
			Logger: s.log,
			// New has checked the phrases, so the matcher builds.
			Signing:           s.matcher,
			NoAcknowledgement: s.cfg.NoAcknowledgement,
			Proxies:           s.cfg.TrustedProxies,
			RefusedMaxAge:     s.cfg.RefusedMaxAge,
			RefusedMaxRows:    s.cfg.RefusedMaxRows,
			FollowLimit:       s.cfg.FollowLimit,
		})
	})
	return s.inbox.inbox
}

// registerInbox adds the actor's inbox and the shared inbox to mux.
func (s *Server) registerInbox(mux *http.ServeMux) { s.inboxes().Register(mux) }

// runInbox applies the effects of received activities until ctx ends.
func (s *Server) runInbox(ctx context.Context) error { return s.inboxes().Run(ctx) }
