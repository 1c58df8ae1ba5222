// Package views renders the publication's web pages, feed and static assets.
package views

import (
	"log/slog"
	"net/http"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// Config is what the site needs to know about the instance.
type Config struct {
	URLs        content.URLs
	DisplayName string
	Version     string
	Logger      *slog.Logger
}

// Site serves the HTML pages.
type Site struct {
	cfg   Config
	store *storage.Store
	mux   *http.ServeMux
}

// New builds the site.
func New(cfg Config, store *storage.Store) (*Site, error) {
	s := &Site{cfg: cfg, store: store, mux: http.NewServeMux()}
	return s, nil
}

// Handler serves every HTML page, including the pages of object URLs the federation side negotiates.
func (s *Site) Handler() http.Handler { return s.mux }
