package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
	"golang.org/x/net/idna"

	"github.com/memo-fediverse/memo/storage"
)

const defaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// validateTLS checks the built-in TLS settings and fills the public URL they imply.
func (c *config) validateTLS() error {
	if c.Domain == "" {
		return nil
	}
	d, err := idna.Lookup.ToASCII(strings.TrimSuffix(strings.ToLower(strings.TrimSpace(c.Domain)), "."))
	if err != nil || !strings.Contains(d, ".") || strings.ContainsAny(d, ":/") || net.ParseIP(d) != nil {
		return fmt.Errorf("MEMO_DOMAIN=%q: give the DNS name that points at this machine, e.g. memo.example", c.Domain)
	}
	c.Domain = d
	if _, err := mail.ParseAddress(c.ACMEEmail); err != nil || c.ACMEEmail == "" {
		return fmt.Errorf("MEMO_ACME_EMAIL=%q: give an e-mail address; the certificate authority writes there when a certificate is about to expire", c.ACMEEmail)
	}
	if u, err := url.Parse(c.ACMEDirectory); err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("MEMO_ACME_DIRECTORY=%q: give the https URL of an ACME directory", c.ACMEDirectory)
	}
	if _, _, err := net.SplitHostPort(c.HTTPListen); err != nil {
		return fmt.Errorf("MEMO_HTTP_LISTEN=%q: use host:port, e.g. :80", c.HTTPListen)
	}
	if c.PublicURL == "" {
		c.PublicURL = "https://" + d
	}
	return nil
}

// listen opens the server's listener. With a domain, it also starts the plain HTTP listener that answers ACME's
// HTTP-01 challenges and sends everything else to https, and serves TLS with certificates autocert obtains and
// renews (TLS-ALPN-01 challenges are answered on the TLS listener itself). stop closes the HTTP listener.
func (a *app) listen(srv *http.Server) (ln net.Listener, stop func(), err error) {
	cfg := a.cfg
	ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("MEMO_LISTEN=%q: cannot listen: %v%s", cfg.Listen, errors.Unwrap(err), bindHint(err))
	}
	if cfg.Domain == "" {
		return ln, func() {}, nil
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		HostPolicy: autocert.HostWhitelist(cfg.Domain),
		Email:      cfg.ACMEEmail,
		Cache:      a.certCache(),
		Client:     &acme.Client{DirectoryURL: cfg.ACMEDirectory, UserAgent: "memo/" + version},
	}
	httpLn, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("MEMO_HTTP_LISTEN=%q: cannot listen: %v%s", cfg.HTTPListen, errors.Unwrap(err), bindHint(err))
	}
	httpSrv := &http.Server{
		Handler:           m.HTTPHandler(nil), // challenges, and a redirect to https for the rest
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       30 * time.Second,
		ErrorLog:          srv.ErrorLog,
	}
	go httpSrv.Serve(httpLn)
	tlsCfg := m.TLSConfig()
	tlsCfg.MinVersion = tls.VersionTLS12
	srv.TLSConfig = tlsCfg
	a.log.Info("serving https", "domain", cfg.Domain, "acme_directory", cfg.ACMEDirectory, "http_addr", httpLn.Addr().String())
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		httpSrv.Shutdown(ctx)
	}
	return tls.NewListener(ln, tlsCfg), stop, nil
}

func bindHint(err error) string {
	if strings.Contains(err.Error(), "permission denied") {
		return " (ports below 1024 need root or CAP_NET_BIND_SERVICE: see deploy/memo.service)"
	}
	return ""
}

// certCache keeps certificates and the ACME account key where the data lives: a folder beside the SQLite
// database, or the PostgreSQL database so that every replica serves the same certificate.
func (a *app) certCache() autocert.Cache {
	if a.store.Dialect() == storage.Postgres {
		return dbCertCache{a.store, a.log}
	}
	return autocert.DirCache(filepath.Join(a.cfg.Data, "acme"))
}

type dbCertCache struct {
	store *storage.Store
	log   *slog.Logger
}

func (c dbCertCache) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := c.store.Blob(ctx, "acme/"+key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, autocert.ErrCacheMiss
	}
	return b, err
}

func (c dbCertCache) Put(ctx context.Context, key string, data []byte) error {
	c.log.Info("certificate cache updated", "key", key)
	return c.store.PutBlob(ctx, "acme/"+key, data)
}

func (c dbCertCache) Delete(ctx context.Context, key string) error {
	return c.store.DeleteBlob(ctx, "acme/"+key)
}
