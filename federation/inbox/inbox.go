package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/memo-fediverse/memo/federation/metrics"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/clientaddr"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/federation/inbound"
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

// pruneRefusedEvery is how many recorded refusals trigger a prune of the table; Run also prunes hourly.
const pruneRefusedEvery = 100

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

	failMu   sync.Mutex
	failures map[string]int

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

// refusal is an inbox answer other than 202, with what the refused table records.
type refusal struct {
	status     int
	reason     string
	actor      string
	activity   string
	retryAfter string
}

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

// refused logs and records a refusal. Every string is clipped first: the reason may quote what the sender sent.
// A 429 is logged but not recorded: a flood would otherwise write a row per request it makes, and the limit is
// there precisely so that such requests cost nothing. The log says at most a line a minute per source.
func (in *Inbox) refused(ctx context.Context, client netip.Addr, ref *refusal) {
	metrics.InboxActivity("", "refused")
	ref.reason = clip(ref.reason, maxReasonBytes)
	ref.actor, ref.activity = clip(ref.actor, maxReasonBytes), clip(ref.activity, maxReasonBytes)
	addr := clientaddr.String(client)
	now := in.cfg.Now()
	in.refusalLog.log(in.log, now, clientaddr.Key(client), "status", ref.status, "reason", ref.reason, "actor", ref.actor, "activity", ref.activity, "remote", addr)
	if ref.status == http.StatusTooManyRequests {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if err := in.cfg.Store.AddRefusal(ctx, storage.Refusal{
		RemoteAddr: addr, ActorIRI: ref.actor, Activity: ref.activity, Status: ref.status, Reason: ref.reason,
	}); err != nil {
		in.log.Error("record refusal", "err", err)
		return
	}
	if in.refusedSincePrune.Add(1)%pruneRefusedEvery == 0 {
		in.pruneRefused(ctx)
	}
}

// pruneRefused applies the age and row bounds of the refused table.
func (in *Inbox) pruneRefused(ctx context.Context) {
	if _, err := in.cfg.Store.PruneRefused(ctx, in.cfg.Now().Add(-in.cfg.RefusedMaxAge), in.cfg.RefusedMaxRows); err != nil {
		in.log.Warn("prune refusals", "err", err)
	}
}

// busyReceiving is how many requests at once make the inbox busy.
const busyReceiving = 4

// Busy tells whether several requests are being received at this moment: background work (deliveries) then
// gives way, since remote servers wait on our answer while nobody waits on a delivery for a few seconds.
func (in *Inbox) Busy() bool { return in.receiving.Load() >= busyReceiving }

// receive runs the checks, cheapest first, and stores the activity. It returns what to say with the 202, or why not.
func (in *Inbox) receive(ctx context.Context, w http.ResponseWriter, r *http.Request, client netip.Addr) (string, *refusal) {
	ip := clientaddr.Key(client)
	if ok, after := in.byIP.allow(ip, in.cfg.Now()); !ok {
		return "", &refusal{status: http.StatusTooManyRequests, reason: "too many requests from " + ip, retryAfter: after}
	}
	if !acceptedContentType(r.Header.Get("Content-Type")) {
		return "", &refusal{status: http.StatusUnsupportedMediaType, reason: fmt.Sprintf("Content-Type %q: send application/activity+json", clip(r.Header.Get("Content-Type"), 64))}
	}
	r.Body = http.MaxBytesReader(w, r.Body, in.cfg.MaxBody)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", &refusal{status: http.StatusRequestEntityTooLarge, reason: fmt.Sprintf("body over %d bytes", in.cfg.MaxBody)}
		}
		return "", &refusal{status: http.StatusBadRequest, reason: "cannot read body: " + err.Error()}
	}

	params, err := httpsign.ReadRequest(r.Header)
	if err != nil {
		return "", &refusal{status: http.StatusUnauthorized, reason: err.Error()}
	}
	params.Origin = in.cfg.URLs.Base // what an RFC 9421 @target-uri names, whatever proxy is in front
	if serr := params.Request(r, body, in.cfg.URLs.Host(), in.cfg.Now()); serr != nil {
		return "", &refusal{status: serr.Status, reason: serr.Reason}
	}

	if err := inbound.CheckDepth(body, inbound.MaxJSONDepth); err != nil {
		return "", &refusal{status: http.StatusBadRequest, reason: err.Error()}
	}
	var env inbound.Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return "", &refusal{status: http.StatusBadRequest, reason: "invalid JSON: " + err.Error()}
	}
	actorIRI, typ := fetch.FirstIRI(env.Actor), fetch.FirstString(env.Type)
	base := refusal{actor: actorIRI, activity: env.ID}
	if env.ID == "" || typ == "" || actorIRI == "" {
		return "", base.with(http.StatusBadRequest, "activity needs id, type and actor")
	}
	// A key of another host signs only a forwarded activity, which counts only as the object's server confirms it
	// (authorizeForwarded).
	forwarded := forwardedBy(params.KeyID, actorIRI)
	if forwarded && !forwardable(typ, body) {
		return "", base.with(http.StatusUnauthorized, fmt.Sprintf("keyId %s is not on the actor's host (%s)", params.KeyID, fetch.Host(actorIRI)))
	}
	if !fetch.SameHost(env.ID, actorIRI) {
		return "", base.with(http.StatusBadRequest, fmt.Sprintf("activity id %s is not on the actor's host", env.ID))
	}
	host := fetch.Host(actorIRI)
	if ok, after := in.byHost.allow(host, in.cfg.Now()); !ok {
		ref := base.with(http.StatusTooManyRequests, "too many requests from "+host)
		ref.retryAfter = after
		return "", ref
	}
	blocked, err := in.cfg.Store.IsBlocked(ctx, actorIRI, host)
	if err != nil {
		in.log.Error("inbox block check", "err", err)
		return "", base.with(http.StatusServiceUnavailable, "cannot check blocks now, retry later")
	}
	if !blocked && forwarded {
		blocked, err = in.cfg.Store.IsBlocked(ctx, "", fetch.Host(params.KeyID))
		if err != nil {
			in.log.Error("inbox block check", "err", err)
			return "", base.with(http.StatusServiceUnavailable, "cannot check blocks now, retry later")
		}
	}
	if blocked {
		return "", base.with(http.StatusForbidden, "actor or domain blocked")
	}

	owner, fresh, err := in.verify(ctx, r, params)
	if err != nil {
		if fetch.Gone(err) && typ == "Delete" && fetch.FirstIRI(env.Object) == actorIRI {
			// An account deletion signed by a key that is already gone: nothing to verify, nothing to keep.
			in.log.Debug("inbox: Delete of a gone actor dropped", "actor", actorIRI)
			return "deleted actor unknown here", nil
		}
		return "", base.with(http.StatusUnauthorized, err.Error())
	}
	if !forwarded && owner.IRI != actorIRI {
		return "", base.with(http.StatusUnauthorized, fmt.Sprintf("signed by %s's key, but the activity's actor is %s", owner.IRI, actorIRI))
	}

	act, err := inbound.DecodeActivity(body)
	if err != nil {
		return "", base.with(http.StatusBadRequest, err.Error())
	}
	authorize := in.authorize
	if forwarded {
		authorize = in.authorizeForwarded
	}
	if ref := authorize(ctx, act); ref != nil {
		ref.actor, ref.activity = actorIRI, env.ID
		return "", ref
	}
	if act.Type == "Follow" {
		if ref := in.limitFollow(host, ip); ref != nil {
			ref.actor, ref.activity = actorIRI, env.ID
			return "", ref
		}
	}
	// A key fetched for this request is cached with the activity, now that both are accepted.
	var fetched *storage.RemoteActor
	if fresh {
		fetched = &owner
	}
	stored := string(body)
	if !keepsBody(act.Type) {
		stored = "" // its effects do not need it
	}
	isNew, err := in.cfg.Store.InsertInboxActivityWithActor(ctx, storage.InboxActivity{
		IRI: act.ID, Type: act.Type, ActorIRI: actorIRI, ObjectIRI: act.ObjectIRI(), Body: stored,
		Headers: evidenceHeaders(r, params), KeyID: params.KeyID,
	}, fetched)
	if errors.Is(err, storage.ErrKeyTaken) {
		return "", base.with(http.StatusUnauthorized, err.Error())
	}
	if err != nil {
		in.log.Error("inbox store", "activity", act.ID, "err", err)
		return "", base.with(http.StatusServiceUnavailable, "cannot store the activity now, retry later")
	}
	if !isNew {
		metrics.InboxActivity(act.Type, "duplicate")
		return "already received", nil
	}
	metrics.InboxActivity(act.Type, "accepted")
	// A server that talks to us is up again: its parked deliveries may go.
	if err := in.cfg.Store.ClearDomain(ctx, owner.Domain); err != nil {
		in.log.Warn("inbox: clear domain", "domain", owner.Domain, "err", err)
	}
	in.Kick()
	return "accepted", nil
}

func (r refusal) with(status int, reason string) *refusal {
	r.status, r.reason = status, reason
	return &r
}

// verify finds the signer's key and checks the signature; a failure with a cached key refetches it once, as the
// remote may have rotated it. fresh tells that the key was fetched now and is not in the cache yet.
func (in *Inbox) verify(ctx context.Context, r *http.Request, p httpsign.Params) (owner storage.RemoteActor, fresh bool, err error) {
	owner, pub, cached, err := in.cfg.Actors.Key(ctx, p.KeyID, false)
	if err != nil {
		return owner, false, fmt.Errorf("cannot get key %s: %w", p.KeyID, err)
	}
	verr := httpsign.VerifySignature(r, p, pub)
	if verr == nil {
		return owner, !cached, nil
	}
	if !cached || !in.cfg.Actors.MayRefetch(p.KeyID, in.cfg.Now()) {
		return owner, false, fmt.Errorf("bad signature with key %s: %w", p.KeyID, verr)
	}
	owner, pub, _, err = in.cfg.Actors.Key(ctx, p.KeyID, true)
	if err != nil {
		return owner, false, fmt.Errorf("cannot refetch key %s: %w", p.KeyID, err)
	}
	if err := httpsign.VerifySignature(r, p, pub); err != nil {
		return owner, false, fmt.Errorf("bad signature with key %s: %w", p.KeyID, err)
	}
	return owner, true, nil
}

// acceptedContentType accepts what peers send: activity+json, ld+json with the ActivityStreams profile (or none),
// and plain JSON.
func acceptedContentType(v string) bool {
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		return false
	}
	switch mt {
	case "application/activity+json", "application/json":
		return true
	case "application/ld+json":
		p, ok := params["profile"]
		return !ok || strings.Contains(p, "https://www.w3.org/ns/activitystreams")
	}
	return false
}

// evidenceHeaders keeps the signed headers as received, so the signature can be checked again later.
func evidenceHeaders(r *http.Request, p httpsign.Params) string {
	if p.Scheme == httpsign.SchemeRFC9421 {
		return signing.RFC9421Headers(r, p)
	}
	h := map[string]string{"signature": httpsign.SignatureHeader(r)}
	for _, name := range p.Headers {
		switch name {
		case "(request-target)":
			target := r.URL.Path
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			h[name] = strings.ToLower(r.Method) + " " + target
		case "host":
			h[name] = r.Host
		default:
			h[name] = strings.Join(r.Header.Values(name), ", ")
		}
	}
	b, _ := json.Marshal(h)
	return string(b)
}

// limitFollow takes a Follow from the hourly budgets of its client address and its host. A stranger can make up
// any number of actors on hosts that will never answer, and each follower costs a delivery of every revision; a
// host or an address over budget gets 429, which peers retry later (Mastodon retries 429s), so an honest burst is
// delayed, not lost.
func (in *Inbox) limitFollow(host, ipKey string) *refusal {
	if in.followsByIP == nil {
		return nil
	}
	now := in.cfg.Now()
	for _, l := range []struct {
		lim *limiters
		key string
	}{{in.followsByIP, ipKey}, {in.followsByHost, host}} {
		if ok, after := l.lim.allow(l.key, now); !ok {
			return &refusal{status: http.StatusTooManyRequests, reason: fmt.Sprintf("too many new follows from %s this hour (limit %d)", l.key, in.cfg.FollowLimit), retryAfter: after}
		}
	}
	return nil
}

// Kick wakes the worker.
func (in *Inbox) Kick() {
	select {
	case in.kick <- struct{}{}:
	default:
	}
}

// Run applies the effects of stored activities until ctx ends: those pending from before a restart first, then
// each new one as the handler kicks the worker.
func (in *Inbox) Run(ctx context.Context) error {
	t := time.NewTicker(in.cfg.PollEvery)
	defer t.Stop()
	var pruned time.Time
	for {
		if now := in.cfg.Now(); now.Sub(pruned) >= time.Hour {
			in.pruneRefused(ctx)
			pruned = now
		}
		if _, err := in.ProcessPending(ctx); err != nil && ctx.Err() == nil {
			in.log.Error("inbox worker", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-in.kick:
		case <-t.C:
		}
	}
}

// maxEffectAttempts: an activity whose effects fail this many times is set aside with its error, so one bad row
// does not block the queue.
const maxEffectAttempts = 5

// ProcessPending applies the effects of every pending activity and returns how many it processed.
func (in *Inbox) ProcessPending(ctx context.Context) (int, error) {
	done := 0
	for {
		rows, err := in.cfg.Store.PendingInboxActivities(ctx, 50)
		if err != nil {
			return done, err
		}
		progressed := false
		errs := in.applyBatch(ctx, rows)
		for i, row := range rows {
			if perr := errs[i]; perr != nil {
				in.log.Warn("inbox effect failed", "activity", row.IRI, "err", perr)
				if in.failed(row.IRI) < maxEffectAttempts {
					continue
				}
				err := in.cfg.Store.InTx(ctx, func(tx *storage.Tx) error {
					if ok, err := tx.ClaimInboxActivity(ctx, row.IRI); err != nil || !ok {
						return err
					}
					return tx.SetInboxResult(ctx, row.IRI, "failed: "+perr.Error())
				})
				if err != nil {
					return done, err
				}
				in.forget(row.IRI)
			}
			done++
			progressed = true
		}
		if len(rows) < 50 || !progressed {
			return done, nil
		}
	}
}

func (in *Inbox) failed(iri string) int {
	in.failMu.Lock()
	defer in.failMu.Unlock()
	in.failures[iri]++
	return in.failures[iri]
}

func (in *Inbox) forget(iri string) {
	in.failMu.Lock()
	defer in.failMu.Unlock()
	delete(in.failures, iri)
}

// retryAfterSeconds formats a wait for Retry-After.
func retryAfterSeconds(d time.Duration) string {
	s := int(d.Seconds() + 0.999)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}
