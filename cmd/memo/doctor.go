package main

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// Thresholds of the checks.
const (
	certMinValidity = 14 * 24 * time.Hour // autocert renews 30 days ahead: less than this means renewal fails
	skewWarn        = 30 * time.Second
	skewFail        = 5 * time.Minute // well inside httpsign.MaxClockSkew, so that a drifting clock shows before peers refuse us
	overdueAfter    = 10 * time.Minute
	backlogWarn     = 24 * time.Hour
)

type checkResult struct {
	status, name, detail, fix string
}

func (c checkResult) String() string {
	s := fmt.Sprintf("%-4s  %s: %s", c.status, c.name, c.detail)
	if c.status != "ok" && c.fix != "" {
		s += " — " + c.fix
	}
	return s
}

func passed(name, detail string) checkResult      { return checkResult{"ok", name, detail, ""} }
func warned(name, detail, fix string) checkResult { return checkResult{"warn", name, detail, fix} }
func failed(name, detail, fix string) checkResult { return checkResult{"FAIL", name, detail, fix} }

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("doctor", "", "Check a deployment from the inside: DNS, certificate (and port 80 with --domain), WebFinger and\nactor at the public URL, the proxy (Host and client address), clock, key file, database and delivery queue. One line per check with\nthe fix; exit status 1 when any check fails.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := finish(); err != nil {
		fmt.Fprintln(stdout, failed("settings", err.Error(), "correct the setting named above"))
		return errDoctor
	}
	d := newDoctor(cfg, stdout, nil)
	d.run(ctx)
	if d.failures > 0 {
		return errDoctor
	}
	return nil
}

// errDoctor is the exit status 1 of a doctor that found failures; its lines already say everything.
var errDoctor = errors.New("some checks failed")

// newDoctor prepares the checks; roots are the certificate authorities trusted (nil: the system's).
func newDoctor(cfg *config, out io.Writer, roots *x509.CertPool) *doctor {
	return &doctor{cfg: cfg, urls: cfg.urls(), out: out, roots: roots, client: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
		// A redirect would hide what the public URL itself answers.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type doctor struct {
	cfg      *config
	roots    *x509.CertPool
	urls     content.URLs
	out      io.Writer
	client   *http.Client
	store    *storage.Store
	key      *rsa.PrivateKey
	loopback bool // the public host resolves to loopback addresses only
	failures int
}

func (d *doctor) report(c checkResult) {
	if c.status == "FAIL" {
		d.failures++
	}
	fmt.Fprintln(d.out, c)
}

func (d *doctor) run(ctx context.Context) {
	d.report(d.checkKeyFile())
	d.report(d.openDatabase(ctx))
	if d.store != nil {
		defer d.store.Close()
		d.report(d.checkWritable(ctx))
		d.report(d.checkMigrated(ctx))
		if d.store.Dialect() == storage.Postgres {
			d.report(d.checkKeyInDatabase(ctx))
		}
	}
	dnsOK := d.checkDNS(ctx)
	if dnsOK {
		d.report(d.checkTLS(ctx))
		if d.cfg.Domain != "" {
			d.report(d.checkPlainHTTP(ctx, "http://"+d.cfg.Domain+"/"))
		}
		d.report(d.checkClock(ctx))
		d.report(d.checkWebFinger(ctx))
		d.report(d.checkActor(ctx))
		for _, c := range d.checkProxy(ctx) {
			d.report(c)
		}
	}
	if d.store != nil {
		d.report(d.checkBacklog(ctx))
		d.report(d.checkDomains(ctx))
	}
}
