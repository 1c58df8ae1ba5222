package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/federation"
	"github.com/memo-fediverse/memo/federation/clientaddr"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/interact"
	"github.com/memo-fediverse/memo/federation/metrics"
	"github.com/memo-fediverse/memo/federation/outbox"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/views"
	"golang.org/x/sync/errgroup"
)

// app is what every subcommand opens: settings, database, key and logger.
type app struct {
	cfg   *config
	store *storage.Store
	key   *rsa.PrivateKey
	log   *slog.Logger
	// fetch is the one client that reads other servers' documents, shared by every part of the process.
	fetch *fetch.Client
	// deliver sends what the delivery queue holds.
	deliver *fetch.Client
}

// openApp validates the data folder, opens (and migrates) the database, loads or creates the key and seeds the
// memo on first start.
func openApp(ctx context.Context, cfg *config, stderr io.Writer) (*app, error) {
	if err := cfg.checkDataDir(); err != nil {
		return nil, err
	}
	store, err := storage.Open(ctx, cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("MEMO_DATABASE=%q: %v", storage.RedactDSN(cfg.Database), err)
	}
	key, err := loadKey(ctx, cfg, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	a := &app{cfg: cfg, store: store, key: key, log: newLogger(cfg, stderr)}
	ua := fetch.UserAgent(version, cfg.urls().Base)
	a.fetch = fetch.New(fetch.Config{UserAgent: ua, AllowPrivate: cfg.AllowPrivate, Key: key, KeyID: cfg.urls().KeyID()})
	// A delivery may wait 30 s for a slow inbox, but a host that is not there is known after the 5 s of connecting.
	a.deliver = fetch.New(fetch.Config{UserAgent: ua, AllowPrivate: cfg.AllowPrivate, Timeout: 30 * time.Second,
		HeaderTimeout: 30 * time.Second, DialTimeout: fetch.DefaultDialTimeout})
	if err := outbox.Seed(ctx, store, cfg.urls(), cfg.phrases()...); err != nil {
		store.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) close() { a.store.Close() }

// openChecked checks the settings a command parsed, then opens the app: what every command does after its flags.
func openChecked(ctx context.Context, cfg *config, finish func() error, stderr io.Writer) (*app, error) {
	if err := finish(); err != nil {
		return nil, err
	}
	return openApp(ctx, cfg, stderr)
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("serve", "", "Run the server: web pages, ActivityPub endpoints and background delivery.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if os.Getenv("GOGC") == "" {
		// The live heap under load is small, and Go's default lets garbage reach as much again before collecting:
		// collecting at half of it lowers the peak memory for a small share of CPU (README, Performance). GOGC,
		// when set, wins.
		debug.SetGCPercent(50)
	}
	a, err := openChecked(ctx, cfg, finish, stderr)
	if err != nil {
		return err
	}
	defer a.close()

	handler, fed, err := a.handler()
	if err != nil {
		return err
	}
	var metricsSrv *http.Server
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("MEMO_METRICS_LISTEN=%q: %v", cfg.MetricsListen, err)
		}
		metricsSrv = metricsServer(a.log)
		go metricsSrv.Serve(mln)
		defer metricsSrv.Close()
		a.log.Info("metrics listening", "addr", mln.Addr().String())
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	ln, stopHTTP, err := a.listen(srv)
	if err != nil {
		return err
	}
	defer stopHTTP()
	// Every goroutine of the background work is in work, and work is waited for before the store closes (the
	// deferred a.close above runs after the deferred stop below).
	workCtx, stopWork := context.WithCancel(context.Background())
	work, workCtx := errgroup.WithContext(workCtx)
	defer func() { stopWork(); a.waitWork(work) }()
	work.Go(func() error { return fed.Run(workCtx) })
	work.Go(func() error { pruneInbox(workCtx, a.store, cfg.parsed.inboxRetention, a.log); return nil })
	if err := a.startCopy(workCtx, work); err != nil {
		return err
	}
	if err := a.startSignatureRecheck(workCtx, work); err != nil {
		return err
	}

	a.log.Info("listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "actor", "@"+cfg.Username+"@"+cfg.urls().Host(), "database", string(a.store.Dialect()), "version", version)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-workCtx.Done():
		// A background task failed: the group cancelled the others, and the server stops rather than run half.
		srv.Close()
		return fmt.Errorf("background work: %w", a.waitWork(work))
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	// Requests get 10 s to finish; background work is told to stop and given as long to release what it holds.
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		a.log.Warn("shutdown", "err", err)
	}
	stopWork()
	if err := a.waitWork(work); err != nil {
		a.log.Warn("background work", "err", err)
	}
	a.log.Info("stopped")
	return nil
}

// waitWork waits for every background goroutine, saying so when they take long to let go; cancellation is not
// an error. It may be called more than once.
func (a *app) waitWork(work *errgroup.Group) error {
	slow := time.AfterFunc(10*time.Second, func() { a.log.Warn("background work is slow to stop; waiting for it") })
	defer slow.Stop()
	if err := work.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// handler builds the whole HTTP surface: federation registers the ActivityPub routes and hands HTML requests on
// the same URLs to the site; everything else is the site's.
func (a *app) handler() (http.Handler, *federation.Server, error) {
	urls := a.cfg.urls()
	// The follow box's look-ups (WebFinger, NodeInfo of the host a visitor names) are anonymous and short: the
	// visitor waits for them.
	lookups := fetch.New(fetch.Config{UserAgent: fetch.UserAgent(version, urls.Base), AllowPrivate: a.cfg.AllowPrivate,
		Timeout: interact.DefaultDeadline, HeaderTimeout: interact.DefaultDeadline, DialTimeout: 2 * time.Second})
	site, err := views.New(views.Config{URLs: urls, DisplayName: a.cfg.DisplayName, Version: version, Logger: a.log,
		SignPhrases: a.cfg.phrases(),
		Interact:    interact.New(interact.Config{Client: lookups, AllowPrivate: a.cfg.AllowPrivate}), AllowPrivate: a.cfg.AllowPrivate}, a.store)
	if err != nil {
		return nil, nil, fmt.Errorf("views: %w", err)
	}
	set := a.cfg.parsed
	fed, err := federation.New(federation.Config{
		URLs: urls, DisplayName: a.cfg.DisplayName, Version: version,
		Key: a.key, Fetch: a.fetch, Deliver: a.deliver, DeliveryLease: set.deliveryLease, Logger: a.log, SigningPhrases: a.cfg.phrases(), NoAcknowledgement: !set.acknowledge,
		TrustedProxies: set.proxies, RefusedMaxAge: set.refusedMaxAge, RefusedMaxRows: set.refusedMaxRows, FollowLimit: set.followLimit,
	}, a.store)
	if err != nil {
		return nil, nil, fmt.Errorf("federation: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.store.Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET "+doctorPath, doctorEcho(urls, &a.key.PublicKey, set.proxies))
	// /metrics is not on the public listener: MEMO_METRICS_LISTEN serves it on an address of its own.
	fed.Register(mux, site.Handler())
	fed.RegisterCopies(mux, site.CopiesPage())
	mux.Handle("/", site.Handler())
	return accessLog(a.log, set.proxies, metrics.Middleware(mux)), fed, nil
}

// metricsServer serves /metrics alone, on MEMO_METRICS_LISTEN.
func metricsServer(log *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler())
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// accessLog logs each request at debug level with its client address (clientaddr: the same one the limits use),
// status and duration. The path is clipped: a request line may be kilobytes long.
func accessLog(log *slog.Logger, proxies *clientaddr.Proxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		next.ServeHTTP(rec, r)
		if !log.Enabled(r.Context(), slog.LevelDebug) {
			return
		}
		path := r.URL.Path
		if len(path) > 200 {
			path = strings.ToValidUTF8(path[:200], "") + "…"
		}
		log.Debug("request", "client", clientaddr.String(proxies.Client(r)), "method", clipMethod(r.Method), "path", path, "status", rec.status, "ms", time.Since(start).Milliseconds())
	})
}

// clipMethod keeps a made-up method from filling the log.
func clipMethod(m string) string {
	if len(m) > 16 {
		return m[:16] + "…"
	}
	return m
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
