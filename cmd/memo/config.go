package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/clientaddr"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// config is every setting, read the same way by every subcommand so that `memo publish` beside `memo serve` works
// on the same database.
type config struct {
	Listen       string
	PublicURL    string
	Database     string
	Data         string
	Username     string
	DisplayName  string
	AllowPrivate bool
	LogLevel     string
	CopyOf       string
	// Phrases is the comma-separated list of signing phrases; Acknowledge is "true" or "false".
	Phrases     string
	Acknowledge string
	// TrustedProxies is a comma-separated CIDR list; MetricsListen is host:port or empty (no metrics served).
	TrustedProxies string
	MetricsListen  string
	// RefusedMaxDays, RefusedMaxRows and FollowLimit are whole numbers, checked by validate.
	RefusedMaxDays string
	RefusedMaxRows string
	FollowLimit    string
	// Built-in TLS: with Domain set, the server gets its own certificate by ACME.
	Domain, ACMEEmail, ACMEDirectory, HTTPListen string
	// InboxRetention is how long processed inbox activities are kept (parseRetention).
	InboxRetention string
	// DeliveryLease is how long a claimed delivery stays this process's (a duration; empty: the worker's
	// default). Tests and demos that kill a process shorten it so as not to wait the default lease out.
	DeliveryLease string

	// parsed holds the typed values validate read from the settings above: parsed once, used everywhere.
	parsed parsedSettings
}

// parsedSettings are the settings that are not plain strings, as validate parsed them.
type parsedSettings struct {
	phrases        []string
	acknowledge    bool
	proxies        *clientaddr.Proxies
	refusedMaxAge  time.Duration
	refusedMaxRows int
	followLimit    int // -1: no limit
	inboxRetention time.Duration
	deliveryLease  time.Duration // 0: the worker's default
}

// settings lists each setting once: flag name, environment variable, default and help.
var settings = []struct {
	flag, env, def, help string
	target               func(*config) *string
}{
	{"listen", "MEMO_LISTEN", "", "address to listen on, host:port (default 127.0.0.1:8080, or :443 with --domain)", func(c *config) *string { return &c.Listen }},
	{"public-url", "MEMO_PUBLIC_URL", "", "public URL, scheme and host, e.g. https://memo.example (default http://localhost:PORT, or https://DOMAIN)", func(c *config) *string { return &c.PublicURL }},
	{"domain", "MEMO_DOMAIN", "", "serve HTTPS for this domain with a certificate obtained and renewed by ACME (Let's Encrypt)", func(c *config) *string { return &c.Domain }},
	{"acme-email", "MEMO_ACME_EMAIL", "", "contact address given to the ACME certificate authority (required with --domain)", func(c *config) *string { return &c.ACMEEmail }},
	{"acme-directory", "MEMO_ACME_DIRECTORY", defaultACMEDirectory, "ACME directory URL of the certificate authority", func(c *config) *string { return &c.ACMEDirectory }},
	{"http-listen", "MEMO_HTTP_LISTEN", ":80", "with --domain: plain HTTP address for ACME challenges and redirects to https", func(c *config) *string { return &c.HTTPListen }},
	{"database", "MEMO_DATABASE", "", "SQLite file path or postgres:// URL (default DATA/memo.db)", func(c *config) *string { return &c.Database }},
	{"data", "MEMO_DATA", "./data", "data folder: SQLite database and the actor's private key", func(c *config) *string { return &c.Data }},
	{"username", "MEMO_USERNAME", "memo", "the actor's username, as in @USERNAME@HOST", func(c *config) *string { return &c.Username }},
	{"display-name", "MEMO_DISPLAY_NAME", "Pour du libre et de l’open en conscience", "the actor's display name", func(c *config) *string { return &c.DisplayName }},
	{"log-level", "MEMO_LOG_LEVEL", "info", "log level: debug, info, warn or error", func(c *config) *string { return &c.LogLevel }},
	{"signing-phrases", "MEMO_SIGNING_PHRASES", strings.Join(signing.DefaultPhrases, ","), "comma-separated phrases that make a reply a signature (case and accents ignored)", func(c *config) *string { return &c.Phrases }},
	{"acknowledge", "MEMO_ACKNOWLEDGE", "true", "reply to each signer with their signature number: true or false", func(c *config) *string { return &c.Acknowledge }},
	{"trusted-proxies", "MEMO_TRUSTED_PROXIES", clientaddr.DefaultTrusted, "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client (empty: none)", func(c *config) *string { return &c.TrustedProxies }},
	{"metrics-listen", "MEMO_METRICS_LISTEN", "", "address (host:port) of a separate listener for /metrics (empty: no metrics)", func(c *config) *string { return &c.MetricsListen }},
	{"refused-max-days", "MEMO_REFUSED_MAX_DAYS", "30", "days refused inbox requests are kept", func(c *config) *string { return &c.RefusedMaxDays }},
	{"refused-max-rows", "MEMO_REFUSED_MAX_ROWS", "10000", "refused inbox requests kept at most", func(c *config) *string { return &c.RefusedMaxRows }},
	{"follow-limit", "MEMO_FOLLOW_LIMIT", "100", "new follows accepted per hour from one remote host, and from one client address (0: no limit)", func(c *config) *string { return &c.FollowLimit }},
	{"copy-of", "MEMO_COPY_OF", "", "run as a copy of this origin: its actor URL or handle (memo@memo.example)", func(c *config) *string { return &c.CopyOf }},
	{"inbox-retention", "MEMO_INBOX_RETENTION", defaultInboxRetention, "how long processed inbox activities are kept: days (30d) or a duration (720h)", func(c *config) *string { return &c.InboxRetention }},
	{"delivery-lease", "MEMO_DELIVERY_LEASE", "", "how long a claimed delivery stays this process's before another may send it, e.g. 3s (empty: 2m)", func(c *config) *string { return &c.DeliveryLease }},
}

const allowPrivateFlag, allowPrivateEnv = "allow-private-networks", "MEMO_ALLOW_PRIVATE_NETWORKS"

// bindConfig registers the shared settings on fs; environment variables give the defaults, flags win.
func bindConfig(fs *flag.FlagSet) (*config, func() error) {
	c := &config{}
	for _, s := range settings {
		def := s.def
		if v, ok := os.LookupEnv(s.env); ok {
			def = v
		}
		fs.StringVar(s.target(c), s.flag, def, fmt.Sprintf("%s [%s]", s.help, s.env))
	}
	allowRaw := os.Getenv(allowPrivateEnv)
	fs.Func(allowPrivateFlag, "allow fetching from private, loopback and link-local addresses (tests, local demos) ["+allowPrivateEnv+"]", func(v string) error {
		allowRaw = v
		return nil
	})
	finish := func() error {
		if allowRaw != "" {
			b, err := strconv.ParseBool(allowRaw)
			if err != nil {
				return fmt.Errorf("%s=%q: use true or false", allowPrivateEnv, allowRaw)
			}
			c.AllowPrivate = b
		}
		return c.validate()
	}
	return c, finish
}

var usernameRE = regexp.MustCompile(`^[a-zA-Z0-9_]{1,30}$`)

// validate checks every setting and fills the derived defaults. Its errors are one line that says what to fix.
func (c *config) validate() error {
	if err := c.validateTLS(); err != nil {
		return err
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
		if c.Domain != "" {
			c.Listen = ":443"
		}
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil || port == "" {
		return fmt.Errorf("MEMO_LISTEN=%q: use host:port, e.g. 127.0.0.1:8080", c.Listen)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return fmt.Errorf("MEMO_LISTEN=%q: the port must be a number", c.Listen)
	}
	if c.PublicURL == "" {
		if host == "" || host == "0.0.0.0" || host == "::" || host == "127.0.0.1" {
			host = "localhost"
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("MEMO_PUBLIC_URL=%q: use a scheme and a host only, e.g. https://memo.example", c.PublicURL)
	}
	c.PublicURL = u.Scheme + "://" + strings.ToLower(u.Host)
	if !usernameRE.MatchString(c.Username) {
		return fmt.Errorf("MEMO_USERNAME=%q: use 1 to 30 letters, digits or underscores", c.Username)
	}
	if strings.TrimSpace(c.DisplayName) == "" || len(c.DisplayName) > 100 {
		return fmt.Errorf("MEMO_DISPLAY_NAME: give a name of 1 to 100 characters")
	}
	if c.Data == "" {
		return errors.New("MEMO_DATA is empty: give a folder for the database and the key, e.g. ./data")
	}
	if c.Database == "" {
		c.Database = filepath.Join(c.Data, "memo.db")
	}
	if storage.IsPostgresURL(c.Database) {
		pu, err := url.Parse(c.Database)
		if err != nil || pu.Host == "" {
			return fmt.Errorf("MEMO_DATABASE=%q: a PostgreSQL URL looks like postgres://user@host:5432/dbname", c.Database)
		}
	} else if strings.Contains(c.Database, "://") {
		return fmt.Errorf("MEMO_DATABASE=%q: use a SQLite file path or a postgres:// URL", c.Database)
	}
	p := &c.parsed
	p.phrases = splitPhrases(c.Phrases)
	if _, err := signing.NewMatcher(p.phrases); err != nil {
		return fmt.Errorf("MEMO_SIGNING_PHRASES=%q: %v; give comma-separated phrases such as \"je signe,I sign\"", c.Phrases, err)
	}
	if p.acknowledge, err = strconv.ParseBool(c.Acknowledge); err != nil {
		return fmt.Errorf("MEMO_ACKNOWLEDGE=%q: use true or false", c.Acknowledge)
	}
	if p.proxies, err = clientaddr.Parse(c.TrustedProxies); err != nil {
		return fmt.Errorf("MEMO_TRUSTED_PROXIES=%q: %v; give comma-separated CIDRs, e.g. 127.0.0.1/32,10.0.0.0/8", c.TrustedProxies, err)
	}
	if c.MetricsListen != "" {
		if _, port, err := net.SplitHostPort(c.MetricsListen); err != nil || port == "" {
			return fmt.Errorf("MEMO_METRICS_LISTEN=%q: use host:port, e.g. 127.0.0.1:9100, or leave it empty", c.MetricsListen)
		}
		if c.MetricsListen == c.Listen {
			return fmt.Errorf("MEMO_METRICS_LISTEN=%q: give another address than MEMO_LISTEN, so that the public cannot read it", c.MetricsListen)
		}
	}
	var days int
	for _, n := range []struct {
		env, v string
		to     *int
	}{{"MEMO_REFUSED_MAX_DAYS", c.RefusedMaxDays, &days}, {"MEMO_REFUSED_MAX_ROWS", c.RefusedMaxRows, &p.refusedMaxRows}, {"MEMO_FOLLOW_LIMIT", c.FollowLimit, &p.followLimit}} {
		i, err := strconv.Atoi(n.v)
		if err != nil || i < 0 {
			return fmt.Errorf("%s=%q: give a whole number, 0 or more", n.env, n.v)
		}
		*n.to = i
	}
	if days == 0 || p.refusedMaxRows == 0 {
		return errors.New("MEMO_REFUSED_MAX_DAYS and MEMO_REFUSED_MAX_ROWS must be at least 1: the refused table is bounded")
	}
	p.refusedMaxAge = time.Duration(days) * 24 * time.Hour
	if p.followLimit == 0 {
		p.followLimit = -1
	}
	if p.inboxRetention, err = parseRetention(c.InboxRetention); err != nil {
		return fmt.Errorf("MEMO_INBOX_RETENTION=%q: %v; give days (30d) or a duration (720h)", c.InboxRetention, err)
	}
	if c.DeliveryLease != "" {
		d, err := time.ParseDuration(c.DeliveryLease)
		if err != nil || d < 100*time.Millisecond {
			return fmt.Errorf("MEMO_DELIVERY_LEASE=%q: give a duration of at least 100ms, e.g. 3s", c.DeliveryLease)
		}
		p.deliveryLease = d
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("MEMO_LOG_LEVEL=%q: use debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// checkDataDir makes sure the data folder exists and is writable, so a bad one stops start-up with a clear message
// rather than failing later on the key or the database.
func (c *config) checkDataDir() error {
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return fmt.Errorf("MEMO_DATA=%q: cannot create the data folder: %v", c.Data, errors.Unwrap(err))
	}
	f, err := os.CreateTemp(c.Data, ".write-check-*")
	if err != nil {
		return fmt.Errorf("MEMO_DATA=%q: the data folder is not writable by this user", c.Data)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// splitPhrases splits the signing phrases setting; empty items are dropped.
func splitPhrases(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// phrases are the configured signing phrases.
func (c *config) phrases() []string { return c.parsed.phrases }

func (c *config) urls() content.URLs {
	return content.URLs{Base: c.PublicURL, Username: c.Username}
}

func (c *config) keyPath() string { return filepath.Join(c.Data, "actor-key.pem") }
