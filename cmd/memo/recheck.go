package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/federation/recheck"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
	"golang.org/x/sync/errgroup"
)

// signaturesRecheck: `memo signatures recheck [--all|--since D]` fetches standing signatures' notes again and
// withdraws those whose author no longer stands behind them (recheck.Signatures).
func signaturesRecheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("signatures recheck", "[--all | --since D]",
		"Fetch standing signatures' replies again and withdraw those deleted (404, 410, Tombstone), edited so that\n"+
			"they no longer say a signing phrase, or whose author's account is gone. A network error, a timeout or a\n"+
			"5xx withdraws nothing: it is counted and tried again later. By default the signatures due (not checked\n"+
			"for 25 days, as the running server does them in the background); --all every standing one; --since D\n"+
			"those not checked since D (a date 2006-01-02, a time RFC 3339, or a duration ago such as 72h or 7d).", stderr)
	all := fs.Bool("all", false, "re-check every standing signature")
	since := fs.String("since", "", "re-check those not checked since D")
	if pos, err := parseWithArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if *all && *since != "" {
		return fmt.Errorf("%w: use --all or --since, not both", errUsage)
	}
	now := time.Now()
	q := storage.RecheckQuery{DueBy: now}
	switch {
	case *all:
		q.DueBy = time.Time{}
	case *since != "":
		t, err := parseSince(*since, now)
		if err != nil {
			return fmt.Errorf("%w: --since %q: %v", errUsage, *since, err)
		}
		q = storage.RecheckQuery{CheckedBefore: t}
	}
	a, err := openChecked(ctx, cfg, finish, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	m, err := signing.NewMatcher(a.cfg.phrases())
	if err != nil {
		return err
	}
	rc := recheck.NewSignatures(a.store, a.fetch, m, a.log)
	rep, err := rc.Pass(ctx, q, func(o recheck.CheckOutcome) {
		switch o.Verdict {
		case recheck.VerdictWithdrawn:
			fmt.Fprintf(stdout, "withdrawn  signature %d (%s): %s\n", o.Signature.ID, o.Signature.Handle, o.Reason)
		case recheck.VerdictUnknown:
			fmt.Fprintf(stdout, "unchanged  signature %d (%s): could not check, %s; tried again later\n", o.Signature.ID, o.Signature.Handle, o.Reason)
		}
	})
	fmt.Fprintf(stdout, "%d signatures re-checked: %d stand, %d withdrawn, %d could not be checked (left as they are)\n",
		rep.Checked, rep.Standing, rep.Withdrawn, rep.Failed)
	return err
}

// parseSince reads a date, an RFC 3339 time, or a duration before now (Go's units, plus d for days).
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, time.UTC); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("want a date (2006-01-02), a time (RFC 3339) or a duration (72h, 7d)")
}

// startSignatureRecheck runs the background re-check: every standing signature checked again within
// storage.SignatureRecheckPeriod, a few requests per second at most.
func (a *app) startSignatureRecheck(ctx context.Context, work *errgroup.Group) error {
	m, err := signing.NewMatcher(a.cfg.phrases())
	if err != nil {
		return err
	}
	work.Go(func() error { recheck.NewSignatures(a.store, a.fetch, m, a.log).Run(ctx); return nil })
	return nil
}
