package inbox

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/clientaddr"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// DefaultInboxMaxBody is the largest activity the inbox reads; real ones are a few KB, a long Create under 100 KB.
const DefaultInboxMaxBody = 1 << 20

// inboxRequestTimeout bounds one inbox request, key fetch included. Mastodon gives up after about 10 s per step and
// retries later, so there is no point working longer.
const inboxRequestTimeout = 20 * time.Second

// Config sets up an Inbox.
type Config struct {
	URLs    content.URLs
	Store   *storage.Store
	Actors  *fetch.Actors
	Logger  *slog.Logger
	Now     func() time.Time
	MaxBody int64
	// Rate limits, in requests per second with a burst; zero picks the defaults.
	PerIP, PerHost           float64
	PerIPBurst, PerHostBurst int
	// PollEvery is how often the worker looks for pending activities when nothing kicks it.
	PollEvery time.Duration
	// Signing recognises signing phrases in replies (nil: signing.DefaultPhrases); NoAcknowledgement turns off the
	// reply sent to each new signer.
	Signing           *signing.Matcher
	NoAcknowledgement bool
	// Proxies are the reverse proxies whose X-Forwarded-For is believed (nil: clientaddr.Default, loopback).
	Proxies *clientaddr.Proxies
	// RefusedMaxAge and RefusedMaxRows bound the refused table (zero: DefaultRefusedMaxAge, DefaultRefusedMaxRows).
	RefusedMaxAge  time.Duration
	RefusedMaxRows int
	// FollowLimit is how many Follows are accepted per hour from one remote host, and from one client address
	// (zero: DefaultFollowLimit; negative: no limit).
	FollowLimit int
}

// Defaults of the bounds on what strangers make us keep.
const (
	DefaultRefusedMaxAge  = 30 * 24 * time.Hour
	DefaultRefusedMaxRows = 10000
	DefaultFollowLimit    = 100
)

// Inbox receives activities at the actor's inbox and the shared inbox, verifies them, stores them and applies
// their effects from a worker.
//
// Checks run cheapest first, so that a flood of junk costs little: rate limit per remote IP (429), Content-Type
// (415), body size (413), Signature header present and parsable, covering (request-target) host date digest, Date
// within httpsign.MaxClockSkew, Digest matching the body, Host naming us (401, or 400 for Host), JSON depth and a small
// decode of id/type/actor (400), keyId and id on the actor's host, rate limit per remote host, blocks (403); only
// then the key is fetched (a signed GET, through the address policy of fetch.Client) and the signature verified,
// the key's owner must be the actor (401), and the rules of authorize apply (400/403), then the hourly follow
// limit (429). Every refusal is answered with its reason (clipped) and, unless it is a 429, recorded in the
// bounded refused table, and changes nothing else. An accepted activity is stored
// once, keyed by its id, before the 202; its effects follow from the worker, in one transaction with the mark
// that they are done.
type Inbox struct {
	cfg    Config
	log    *slog.Logger
	byIP   *limiters
	byHost *limiters
	kick   chan struct{}
	// receiving counts the requests being received now; Busy reads it.
	receiving atomic.Int64
	// behind tells that the background apply found a full batch pending the last time it looked.
	behind atomic.Bool

	failMu   sync.Mutex
	failures map[string]int

	cleared domainsCleared

	// followsByHost and followsByIP count accepted Follows per hour; nil when FollowLimit is negative.
	followsByHost, followsByIP *limiters
	refusalLog                 *refusalLog
	refusedSincePrune          atomic.Int64
}

// New builds an Inbox.
func New(cfg Config) *Inbox {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultInboxMaxBody
	}
	if cfg.PerIP == 0 {
		cfg.PerIP, cfg.PerIPBurst = 20, 200
	}
	if cfg.PerHost == 0 {
		cfg.PerHost, cfg.PerHostBurst = 20, 200
	}
	if cfg.PollEvery == 0 {
		cfg.PollEvery = 30 * time.Second
	}
	if cfg.Proxies == nil {
		cfg.Proxies = clientaddr.Default()
	}
	if cfg.RefusedMaxAge == 0 {
		cfg.RefusedMaxAge = DefaultRefusedMaxAge
	}
	if cfg.RefusedMaxRows == 0 {
		cfg.RefusedMaxRows = DefaultRefusedMaxRows
	}
	if cfg.FollowLimit == 0 {
		cfg.FollowLimit = DefaultFollowLimit
	}
	in := &Inbox{
		cfg:      cfg,
		log:      cfg.Logger,
		byIP:     newLimiters(cfg.PerIP, cfg.PerIPBurst),
		byHost:   newLimiters(cfg.PerHost, cfg.PerHostBurst),
		kick:     make(chan struct{}, 1),
		failures: map[string]int{},
		cleared:  domainsCleared{at: map[string]time.Time{}},
	}
	in.refusalLog = newRefusalLog(time.Minute, refusalLogSources)
	if cfg.FollowLimit > 0 {
		perSec := float64(cfg.FollowLimit) / 3600
		in.followsByHost = newLimiters(perSec, cfg.FollowLimit)
		in.followsByIP = newLimiters(perSec, cfg.FollowLimit)
	}
	return in
}

// refusalLogSources is how many sources the refusal log tells apart within a minute.
const refusalLogSources = 10000

// Register adds the inbox routes to mux.
func (in *Inbox) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /inbox", in.handle)
	mux.HandleFunc("POST /users/{username}/inbox", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("username") != in.cfg.URLs.Username {
			http.Error(w, "no such actor", http.StatusNotFound)
			return
		}
		in.handle(w, r)
	})
}

// handle answers an inbox request: 202 with what receive says, or the refusal.
func (in *Inbox) handle(w http.ResponseWriter, r *http.Request) {
	in.receiving.Add(1)
	defer in.receiving.Add(-1)
	ctx, cancel := context.WithTimeout(r.Context(), inboxRequestTimeout)
	defer cancel()
	client := in.cfg.Proxies.Client(r)
	accepted, ref := in.receive(ctx, w, r, client)
	if ref != nil {
		in.refused(ctx, client, ref)
		if ref.retryAfter != "" {
			w.Header().Set("Retry-After", ref.retryAfter)
		}
		http.Error(w, ref.reason, ref.status)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, accepted+"\n")
}

// busyReceiving is how many requests at once make the inbox busy.
const busyReceiving = 4

// Busy tells whether several requests are being received at this moment: background work (deliveries) then
// gives way, since remote servers wait on our answer while nobody waits on a delivery for a few seconds.
func (in *Inbox) Busy() bool { return in.receiving.Load() >= busyReceiving }

// Behind tells whether received activities wait to be applied beyond the batch being applied. Deliveries give way
// then too: a signature counted and a follower listed come before the acknowledgement and the Accept that tell
// the sender about it, and each delivery's RSA signature takes a core from the apply.
func (in *Inbox) Behind() bool { return in.behind.Load() }
