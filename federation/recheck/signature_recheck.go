package recheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// Signatures fetches standing signatures' notes again and withdraws those their authors no longer stand
// behind. Some servers send an edit only to its new audience (GoToSocial, when the edit drops the mention of the
// memo), deletions may arrive while we are down past the sender's retries, and accounts may vanish without a
// Delete reaching us: the inbox alone cannot keep the list true.
//
// A signature is withdrawn only on positive evidence: its note answers 404 or 410 or is a Tombstone, it no longer
// says a signing phrase, or its author's actor answers 404 or 410 or is a Tombstone. A network error, a timeout,
// a 5xx, a 401/403 to a signed fetch, or a document that does not read as expected change nothing: the attempt
// is counted on the signature and tried again later.
type Signatures struct {
	Store   *storage.Store
	Client  *fetch.Client
	Matcher *signing.Matcher
	Logger  *slog.Logger
	// Now is the clock (tests drive it); time.Now by default.
	Now func() time.Time
	// Sleep waits d or until ctx ends (tests advance their clock instead); a timer by default.
	Sleep func(ctx context.Context, d time.Duration) error
	// PerSecond and PerDomainPerSecond bound the requests made, overall and to one domain.
	PerSecond, PerDomainPerSecond float64
	// Due is how long after a check a signature is due again; storage.SignatureRecheckDue by default.
	Due time.Duration

	mu        sync.Mutex
	overall   *rate.Limiter
	perDomain map[string]*rate.Limiter
	credit    float64 // signatures the background pace owes, in fractions
	lastTick  time.Time
}

// NewSignatures builds the re-check. client must sign its GETs as the memo's actor (the actor a signer's
// reply addresses, so a followers-only or direct reply stays readable to it).
func NewSignatures(store *storage.Store, client *fetch.Client, m *signing.Matcher, log *slog.Logger) *Signatures {
	return &Signatures{Store: store, Client: client, Matcher: m, Logger: log}
}

func (rc *Signatures) init() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.overall != nil {
		return
	}
	if rc.Now == nil {
		rc.Now = time.Now
	}
	if rc.Sleep == nil {
		rc.Sleep = sleepCtx
	}
	if rc.Logger == nil {
		rc.Logger = slog.Default()
	}
	if rc.Matcher == nil {
		rc.Matcher = signing.DefaultMatcher
	}
	if rc.Due <= 0 {
		rc.Due = storage.SignatureRecheckDue
	}
	if rc.PerSecond <= 0 {
		rc.PerSecond = RecheckPerSecond
	}
	if rc.PerDomainPerSecond <= 0 {
		rc.PerDomainPerSecond = RecheckPerDomainPerSecond
	}
	rc.overall = rate.NewLimiter(rate.Limit(rc.PerSecond), 1)
	rc.perDomain = map[string]*rate.Limiter{}
}

// Verdict is what a re-check found.
type Verdict string

const (
	VerdictStanding  Verdict = "standing"
	VerdictWithdrawn Verdict = "withdrawn"
	VerdictUnknown   Verdict = "failed" // could not tell: nothing changes, tried again later
)

// CheckOutcome is one signature's re-check.
type CheckOutcome struct {
	Signature storage.Signature
	Verdict   Verdict
	Reason    string
}

func (o CheckOutcome) result() string {
	if o.Reason == "" {
		return string(o.Verdict)
	}
	return string(o.Verdict) + ": " + o.Reason
}

// Next check after a failure: sooner than the period, later with each failure in a row.
func retryAfterFailures(n int) time.Duration {
	d := 6 * time.Hour
	for i := 1; i < n && d < 7*24*time.Hour; i++ {
		d *= 2
	}
	return min(d, 7*24*time.Hour)
}

// Check re-checks one signature, records the outcome with it, and withdraws it when its author no longer stands
// behind it. Only a store error is returned; a remote failure is an outcome.
func (rc *Signatures) Check(ctx context.Context, g storage.Signature) (CheckOutcome, error) {
	rc.init()
	o := rc.judge(ctx, g)
	if ctx.Err() != nil {
		// Cut short by shutdown: that says nothing about the signature.
		return o, ctx.Err()
	}
	now := rc.Now()
	c := storage.SignatureCheck{At: now, Result: o.result(), Next: now.Add(rc.Due)}
	switch o.Verdict {
	case VerdictWithdrawn:
		done, err := rc.Store.WithdrawCheckedSignature(ctx, g, c)
		if err != nil {
			return o, fmt.Errorf("withdraw signature %d: %w", g.ID, err)
		}
		if !done {
			o.Reason += " (already withdrawn meanwhile)"
		} else {
			rc.Logger.Info("signature withdrawn by re-check", "id", g.ID, "signer", g.ActorIRI, "note", g.NoteIRI, "reason", o.Reason)
		}
		return o, nil
	case VerdictUnknown:
		c.Failed = true
		c.Next = now.Add(min(retryAfterFailures(g.CheckFailures+1), rc.Due))
		rc.Logger.Debug("signature re-check cannot tell now", "id", g.ID, "note", g.NoteIRI, "reason", o.Reason)
	}
	if err := rc.Store.RecordSignatureCheck(ctx, g.ID, c); err != nil {
		return o, err
	}
	return o, nil
}

// judge fetches the note, then (if it still signs) its author, and says what they show.
func (rc *Signatures) judge(ctx context.Context, g storage.Signature) CheckOutcome {
	out := func(v Verdict, format string, args ...any) CheckOutcome {
		return CheckOutcome{Signature: g, Verdict: v, Reason: fmt.Sprintf(format, args...)}
	}
	body, err := rc.fetchNote(ctx, g)
	if fetch.Gone(err) {
		return out(VerdictWithdrawn, "its note answers %s", statusText(err))
	}
	if err != nil {
		return out(VerdictUnknown, "note: %s", failureText(err))
	}
	n, err := signing.ParseNote(body)
	switch {
	case err != nil:
		return out(VerdictUnknown, "note: %v", err)
	case n.ID != g.NoteIRI:
		// Not the document asked for: it proves nothing either way.
		return out(VerdictUnknown, "note served with id %q", n.ID)
	case n.Type == "Tombstone":
		return out(VerdictWithdrawn, "its note was deleted (Tombstone)")
	}
	if err := signing.CheckAuthor(g.NoteAuthor(), n); err != nil {
		return out(VerdictUnknown, "note: %v", err)
	}
	if !signing.Classify(n, "", rc.Matcher).Signature {
		return out(VerdictWithdrawn, "its note no longer says a signing phrase")
	}
	gone, reason, err := rc.actorGone(ctx, g.ActorIRI)
	if err != nil {
		return out(VerdictUnknown, "author: %s", failureText(err))
	}
	if gone {
		return out(VerdictWithdrawn, "its author's account is gone (%s)", reason)
	}
	return CheckOutcome{Signature: g, Verdict: VerdictStanding}
}

// fetchNote fetches a signature's note. A private reply (followers-only, direct) is fetched signed by the memo's
// actor, whom it addresses: Mastodon answers 404 to a request that may not see a post (StatusesController hides
// it), so an unsigned 404 would prove nothing. A public one is fetched unsigned first, signed when the host asks
// for it (401/403), and a 404 or 410 to an unsigned request is confirmed signed before it counts.
func (rc *Signatures) fetchNote(ctx context.Context, g storage.Signature) ([]byte, error) {
	host := fetch.Host(g.NoteIRI)
	if err := rc.pace(ctx, host); err != nil {
		return nil, err
	}
	if !g.Listed() {
		if !rc.Client.CanSign() {
			return nil, errors.New("a private reply needs a signed fetch and the client has no key")
		}
		return rc.Client.Get(ctx, g.NoteIRI)
	}
	body, signed, err := rc.Client.GetPublic(ctx, g.NoteIRI)
	if fetch.Gone(err) && !signed && rc.Client.CanSign() {
		if err := rc.pace(ctx, host); err != nil {
			return nil, err
		}
		return rc.Client.Get(ctx, g.NoteIRI)
	}
	return body, err
}

// actorGone fetches the author's actor: gone when it answers 404/410 or is a Tombstone.
func (rc *Signatures) actorGone(ctx context.Context, iri string) (bool, string, error) {
	if err := rc.pace(ctx, fetch.Host(iri)); err != nil {
		return false, "", err
	}
	body, _, err := rc.Client.GetPublic(ctx, iri)
	if fetch.Gone(err) {
		return true, "its actor answers " + statusText(err), nil
	}
	if err != nil {
		return false, "", err
	}
	var doc struct {
		ID   string          `json:"id"`
		Type json.RawMessage `json:"type"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return false, "", fmt.Errorf("actor %s: %w", iri, err)
	}
	if doc.ID != iri {
		return false, "", fmt.Errorf("actor %s served with id %q", iri, doc.ID)
	}
	if fetch.FirstString(doc.Type) == "Tombstone" {
		return true, "its actor is a Tombstone", nil
	}
	return false, "", nil
}

func statusText(err error) string {
	var se *fetch.StatusError
	if errors.As(err, &se) {
		return fmt.Sprintf("HTTP %d", se.Code)
	}
	return err.Error()
}

// failureText names why a fetch could not tell, briefly, for the command's output and the stored result.
func failureText(err error) string {
	var se *fetch.StatusError
	var ne net.Error
	switch {
	case errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden):
		return fmt.Sprintf("HTTP %d to a signed fetch, cannot tell", se.Code)
	case errors.As(err, &se):
		return fmt.Sprintf("HTTP %d", se.Code)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return err.Error()
}
