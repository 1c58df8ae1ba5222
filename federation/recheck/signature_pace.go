package recheck

import (
	"context"
	"math"
	"time"

	"golang.org/x/time/rate"

	"github.com/memo-fediverse/memo/storage"
)

// The pace of the signature re-check: request rates overall and per domain, passes on demand, and the background
// share of due signatures taken each tick.

// Default request rates of the re-check: a few per second overall, one per second to a domain.
const (
	RecheckPerSecond          = 3
	RecheckPerDomainPerSecond = 1
)

// RecheckTick is how often the background re-check takes its share of due signatures.
const RecheckTick = time.Minute

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pace waits until one more request to host keeps within both rates. The limiters read the injected clock, so a
// test sees the waits without sleeping.
func (rc *Signatures) pace(ctx context.Context, host string) error {
	now := rc.Now()
	rc.mu.Lock()
	dl := rc.perDomain[host]
	if dl == nil {
		if len(rc.perDomain) >= 10000 {
			// Bounded: a limiter idle for a second is full again, forgetting it loses nothing.
			for h, l := range rc.perDomain {
				if l.TokensAt(now) >= 1 {
					delete(rc.perDomain, h)
				}
			}
		}
		dl = rate.NewLimiter(rate.Limit(rc.PerDomainPerSecond), 1)
		rc.perDomain[host] = dl
	}
	wait := max(rc.overall.ReserveN(now, 1).DelayFrom(now), dl.ReserveN(now, 1).DelayFrom(now))
	rc.mu.Unlock()
	return rc.Sleep(ctx, wait)
}

// RecheckReport sums up a pass.
type RecheckReport struct {
	Checked, Standing, Withdrawn, Failed int
	Changes                              []CheckOutcome // the withdrawals, in order
}

// Pass re-checks the standing signatures q selects (AfterID and Limit are its own), one after the other at the
// configured rates, and calls each (when not nil) with every outcome.
func (rc *Signatures) Pass(ctx context.Context, q storage.RecheckQuery, each func(CheckOutcome)) (RecheckReport, error) {
	rc.init()
	var rep RecheckReport
	q.AfterID, q.Limit = 0, 100
	for {
		rows, err := rc.Store.SignaturesToRecheck(ctx, q)
		if err != nil {
			return rep, err
		}
		for _, g := range rows {
			q.AfterID = g.ID
			o, err := rc.Check(ctx, g)
			if err != nil {
				return rep, err
			}
			rep.add(o)
			if each != nil {
				each(o)
			}
		}
		if len(rows) < q.Limit {
			return rep, nil
		}
	}
}

func (rep *RecheckReport) add(o CheckOutcome) {
	rep.Checked++
	switch o.Verdict {
	case VerdictStanding:
		rep.Standing++
	case VerdictWithdrawn:
		rep.Withdrawn++
		rep.Changes = append(rep.Changes, o)
	default:
		rep.Failed++
	}
}

// maxPerTick bounds one tick's work so that it fits in the tick at the overall rate (a signature costs up to three
// requests: the note, a confirmation, the actor).
func (rc *Signatures) maxPerTick(tick time.Duration) int {
	return max(1, int(tick.Seconds()*rc.PerSecond/3))
}

// Tick is one step of the background re-check at time now, tick after the previous one: it owes the standing
// signatures' count times the elapsed share of the due delay, and checks that many of the due ones, the longest
// due first, leaving out domains marked unavailable. The pace spreads checks evenly; taking what is due keeps
// each signature within storage.SignatureRecheckPeriod. It returns what it checked.
func (rc *Signatures) Tick(ctx context.Context, now time.Time, tick time.Duration) (RecheckReport, error) {
	rc.init()
	var rep RecheckReport
	counts, err := rc.Store.CountSignatures(ctx)
	if err != nil {
		return rep, err
	}
	n := counts.Total()
	elapsed := tick
	if !rc.lastTick.IsZero() {
		elapsed = min(now.Sub(rc.lastTick), time.Hour) // a suspended process does not bank hours of work
	}
	rc.lastTick = now
	// Checking at the rate of the due delay, not of the period, leaves room for failures tried again sooner and
	// for signatures added meanwhile.
	rc.credit += float64(n) * elapsed.Seconds() / rc.Due.Seconds()
	want := min(int(math.Floor(rc.credit)), rc.maxPerTick(tick))
	if want <= 0 {
		return rep, nil
	}
	rows, err := rc.Store.DueSignatureChecks(ctx, now, want)
	if err != nil {
		return rep, err
	}
	if len(rows) < want {
		// Nothing more is due: what is owed is not banked for later bursts.
		rc.credit -= math.Floor(rc.credit)
	} else {
		rc.credit -= float64(len(rows))
	}
	for _, g := range rows {
		o, err := rc.Check(ctx, g)
		if err != nil {
			return rep, err
		}
		rep.add(o)
	}
	return rep, nil
}

// Run ticks every RecheckTick until ctx ends.
func (rc *Signatures) Run(ctx context.Context) {
	rc.init()
	t := time.NewTicker(RecheckTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := rc.Tick(ctx, rc.Now(), RecheckTick)
		if err != nil && ctx.Err() == nil {
			rc.Logger.Warn("signature re-check", "err", err)
		} else if rep.Withdrawn > 0 || rep.Failed > 0 {
			rc.Logger.Info("signature re-check", "checked", rep.Checked, "withdrawn", rep.Withdrawn, "failed", rep.Failed)
		}
	}
}
