package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"strings"

	"github.com/memo-fediverse/memo/federation/clientaddr"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/federation/inbound"
	"github.com/memo-fediverse/memo/federation/metrics"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// arrival is one request to the inbox, as the steps of receive learn about it.
type arrival struct {
	r      *http.Request
	ip     string // the client address as the rate limits key it
	body   []byte
	params httpsign.Params
	env    inbound.Envelope
	// actor and typ are the envelope's; host is the actor's.
	actor, typ, host string
	// forwarded tells that the key is of another host than the actor's.
	forwarded bool
	// owner is the key's owner; fresh tells that it was fetched for this request and is not cached yet.
	owner storage.RemoteActor
	fresh bool
	act   *inbound.Activity
}

// refuse is a refusal that names the activity and its actor.
func (a *arrival) refuse(status int, reason string) *refusal {
	return &refusal{status: status, reason: reason, actor: a.actor, activity: a.env.ID}
}

// receive runs the checks, cheapest first, and stores the activity. It returns what to say with the 202, or why not.
func (in *Inbox) receive(ctx context.Context, w http.ResponseWriter, r *http.Request, client netip.Addr) (string, *refusal) {
	a := &arrival{r: r, ip: clientaddr.Key(client)}
	if ref := in.admit(w, a); ref != nil {
		return "", ref
	}
	if ref := in.readSignature(a); ref != nil {
		return "", ref
	}
	if ref := decodeEnvelope(a); ref != nil {
		return "", ref
	}
	if ref := in.screen(ctx, a); ref != nil {
		return "", ref
	}
	if said, ref := in.verifySigner(ctx, a); said != "" || ref != nil {
		return said, ref
	}
	if ref := decodeActivity(a); ref != nil {
		return "", ref
	}
	if ref := in.authorizeArrival(ctx, a); ref != nil {
		return "", ref
	}
	return in.store(ctx, a)
}

// admit applies the client address's rate limit and reads the body, if its type and size are acceptable.
func (in *Inbox) admit(w http.ResponseWriter, a *arrival) *refusal {
	if ok, after := in.byIP.allow(a.ip, in.cfg.Now()); !ok {
		return &refusal{status: http.StatusTooManyRequests, reason: "too many requests from " + a.ip, retryAfter: after}
	}
	if ct := a.r.Header.Get("Content-Type"); !acceptedContentType(ct) {
		return &refusal{status: http.StatusUnsupportedMediaType, reason: fmt.Sprintf("Content-Type %q: send application/activity+json", clip(ct, 64))}
	}
	a.r.Body = http.MaxBytesReader(w, a.r.Body, in.cfg.MaxBody)
	body, err := io.ReadAll(a.r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &refusal{status: http.StatusRequestEntityTooLarge, reason: fmt.Sprintf("body over %d bytes", in.cfg.MaxBody)}
		}
		return &refusal{status: http.StatusBadRequest, reason: "cannot read body: " + err.Error()}
	}
	a.body = body
	return nil
}

// readSignature parses the signature and checks what needs no key: the covered headers, Date, Digest and Host.
func (in *Inbox) readSignature(a *arrival) *refusal {
	params, err := httpsign.ReadRequest(a.r.Header)
	if err != nil {
		return &refusal{status: http.StatusUnauthorized, reason: err.Error()}
	}
	params.Origin = in.cfg.URLs.Base // what an RFC 9421 @target-uri names, whatever proxy is in front
	if serr := params.Request(a.r, a.body, in.cfg.URLs.Host(), in.cfg.Now()); serr != nil {
		return &refusal{status: serr.Status, reason: serr.Reason}
	}
	a.params = params
	return nil
}

// decodeEnvelope reads the id, type and actor, after bounding the JSON's depth.
func decodeEnvelope(a *arrival) *refusal {
	if err := inbound.CheckDepth(a.body, inbound.MaxJSONDepth); err != nil {
		return &refusal{status: http.StatusBadRequest, reason: err.Error()}
	}
	var env inbound.Envelope
	if err := json.Unmarshal(a.body, &env); err != nil {
		return &refusal{status: http.StatusBadRequest, reason: "invalid JSON: " + err.Error()}
	}
	a.env, a.actor, a.typ = env, fetch.FirstIRI(env.Actor), fetch.FirstString(env.Type)
	if env.ID == "" || a.typ == "" || a.actor == "" {
		return a.refuse(http.StatusBadRequest, "activity needs id, type and actor")
	}
	return nil
}

// screen applies what the envelope and the keyId tell, before any key is fetched: hosts, the host's rate limit and
// blocks.
func (in *Inbox) screen(ctx context.Context, a *arrival) *refusal {
	// A key of another host signs only a forwarded activity, which counts only as the object's server confirms it
	// (authorizeForwarded).
	a.forwarded = forwardedBy(a.params.KeyID, a.actor)
	if a.forwarded && !forwardable(a.typ, a.body) {
		return a.refuse(http.StatusUnauthorized, fmt.Sprintf("keyId %s is not on the actor's host (%s)", a.params.KeyID, fetch.Host(a.actor)))
	}
	if !fetch.SameHost(a.env.ID, a.actor) {
		return a.refuse(http.StatusBadRequest, fmt.Sprintf("activity id %s is not on the actor's host", a.env.ID))
	}
	a.host = fetch.Host(a.actor)
	if ok, after := in.byHost.allow(a.host, in.cfg.Now()); !ok {
		ref := a.refuse(http.StatusTooManyRequests, "too many requests from "+a.host)
		ref.retryAfter = after
		return ref
	}
	return in.checkBlocks(ctx, a)
}

// checkBlocks refuses a blocked actor or host, and a forward by a blocked host.
func (in *Inbox) checkBlocks(ctx context.Context, a *arrival) *refusal {
	blocked, err := in.cfg.Store.IsBlocked(ctx, a.actor, a.host)
	if err == nil && !blocked && a.forwarded {
		blocked, err = in.cfg.Store.IsBlocked(ctx, "", fetch.Host(a.params.KeyID))
	}
	if err != nil {
		in.logFailure(ctx, "inbox block check", "err", err)
		return a.refuse(http.StatusServiceUnavailable, "cannot check blocks now, retry later")
	}
	if blocked {
		return a.refuse(http.StatusForbidden, "actor or domain blocked")
	}
	return nil
}

// verifySigner fetches the key and verifies the signature; the key's owner must be the actor, unless the activity is
// forwarded. It says something only when the activity is dropped without an error.
func (in *Inbox) verifySigner(ctx context.Context, a *arrival) (string, *refusal) {
	owner, fresh, err := in.verify(ctx, a.r, a.params)
	if err != nil {
		if fetch.Gone(err) && a.typ == "Delete" && fetch.FirstIRI(a.env.Object) == a.actor {
			// An account deletion signed by a key that is already gone: nothing to verify, nothing to keep.
			in.log.Debug("inbox: Delete of a gone actor dropped", "actor", a.actor)
			return "deleted actor unknown here", nil
		}
		return "", a.refuse(http.StatusUnauthorized, err.Error())
	}
	if !a.forwarded && owner.IRI != a.actor {
		return "", a.refuse(http.StatusUnauthorized, fmt.Sprintf("signed by %s's key, but the activity's actor is %s", owner.IRI, a.actor))
	}
	a.owner, a.fresh = owner, fresh
	return "", nil
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

// decodeActivity reads the whole activity, now that its signature holds.
func decodeActivity(a *arrival) *refusal {
	act, err := inbound.DecodeActivity(a.body)
	if err != nil {
		return a.refuse(http.StatusBadRequest, err.Error())
	}
	a.act = act
	return nil
}

// authorizeArrival applies the rules of the activity's type (those of forwards for a forward), then the hourly
// follow limit.
func (in *Inbox) authorizeArrival(ctx context.Context, a *arrival) *refusal {
	authorize := in.authorize
	if a.forwarded {
		authorize = in.authorizeForwarded
	}
	ref := authorize(ctx, a.act)
	if ref == nil && a.act.Type == "Follow" {
		ref = in.limitFollow(a.host, a.ip)
	}
	if ref != nil {
		ref.actor, ref.activity = a.actor, a.env.ID
	}
	return ref
}

// store keeps the accepted activity, once per id, for the worker.
func (in *Inbox) store(ctx context.Context, a *arrival) (string, *refusal) {
	// A key fetched for this request is cached with the activity, now that both are accepted.
	var fetched *storage.RemoteActor
	if a.fresh {
		fetched = &a.owner
	}
	stored := string(a.body)
	if !keepsBody(a.act.Type) {
		stored = "" // its effects do not need it
	}
	isNew, err := in.cfg.Store.InsertInboxActivityWithActor(ctx, storage.InboxActivity{
		IRI: a.act.ID, Type: a.act.Type, ActorIRI: a.actor, ObjectIRI: a.act.ObjectIRI(), Body: stored,
		Headers: evidenceHeaders(a.r, a.params), KeyID: a.params.KeyID,
	}, fetched)
	if errors.Is(err, storage.ErrKeyTaken) {
		return "", a.refuse(http.StatusUnauthorized, err.Error())
	}
	if err != nil {
		in.logFailure(ctx, "inbox store", "activity", a.act.ID, "err", err)
		return "", a.refuse(http.StatusServiceUnavailable, "cannot store the activity now, retry later")
	}
	if !isNew {
		metrics.InboxActivity(a.act.Type, "duplicate")
		return "already received", nil
	}
	metrics.InboxActivity(a.act.Type, "accepted")
	// A server that talks to us is up again: its parked deliveries may go.
	if in.cleared.due(a.owner.Domain, in.cfg.Now()) {
		if err := in.cfg.Store.ClearDomain(ctx, a.owner.Domain); err != nil {
			in.cleared.forget(a.owner.Domain)
			in.log.Warn("inbox: clear domain", "domain", a.owner.Domain, "err", err)
		}
	}
	in.Kick()
	return "accepted", nil
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

// logFailure logs a failed step of receiving as an error, unless the request was given up meanwhile (the sender
// hung up, or its time ran out): that is the sender's doing, and it would fill the error log during any burst.
func (in *Inbox) logFailure(ctx context.Context, msg string, args ...any) {
	if ctx.Err() != nil {
		in.log.Debug(msg+" (request given up)", args...)
		return
	}
	in.log.Error(msg, args...)
}
