package federation

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/memo-fediverse/memo/federation/fetch"
)

// inboxState is the Server's inbox, built on first use from the Server's Config.
type inboxState struct {
	once  sync.Once
	inbox *Inbox
}

// inboxes returns the Server's Inbox, building it (and its fetch client) the first time.
func (s *Server) inboxes() *Inbox {
	s.inbox.once.Do(func() {
		client := fetch.New(fetch.Config{
			UserAgent:    UserAgent(s.cfg.Version, s.cfg.URLs.Base),
			AllowPrivate: s.cfg.AllowPrivate,
			Key:          s.cfg.Key,
			KeyID:        s.cfg.URLs.KeyID(),
		})
		s.inbox.inbox = NewInbox(InboxConfig{
			URLs:   s.cfg.URLs,
			Store:  s.store,
			Actors: fetch.NewActors(client, s.store),
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

// UserAgent is what every request to another server says we are: memo/VERSION (+BASE).
func UserAgent(version, base string) string {
	if version == "" {
		version = "dev"
	}
	return "memo/" + strings.TrimPrefix(version, "v") + " (+" + base + ")"
}

// registerInbox adds the actor's inbox and the shared inbox to mux.
func (s *Server) registerInbox(mux *http.ServeMux) { s.inboxes().Register(mux) }

// runInbox applies the effects of received activities until ctx ends.
func (s *Server) runInbox(ctx context.Context) error { return s.inboxes().Run(ctx) }
