package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/memo-fediverse/memo/federation/copies"
	"github.com/memo-fediverse/memo/federation/recheck"
	"github.com/memo-fediverse/memo/storage"
	"golang.org/x/sync/errgroup"
)

// runCopies: `memo copies` lists the copies that relayed signatures here; `memo copies block DOMAIN` and
// `memo copies unblock DOMAIN` refuse or accept a copy's relays again.
func runCopies(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("copies", "[block|unblock DOMAIN | recheck]",
		"List the self-hosted copies known here: domain, actor, since when, signatures brought, blocked or not.\n"+
			"`memo copies block DOMAIN` refuses that copy's relays and hides the signatures it brought;\n"+
			"`memo copies unblock DOMAIN` lifts it and shows them again;\n"+
			"`memo copies recheck` fetches every relayed reply again and withdraws those now gone (the server does it every 6 hours).", stderr)
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	var action, domain string
	switch {
	case len(pos) == 0:
	case len(pos) == 1 && pos[0] == "recheck":
		action = "recheck"
	case len(pos) == 2 && (pos[0] == "block" || pos[0] == "unblock"):
		action, domain = pos[0], normaliseCopyDomain(pos[1])
		if domain == "" {
			return fmt.Errorf("%w: %q is not a domain (host or host:port)", errUsage, pos[1])
		}
	default:
		return fmt.Errorf("%w: use `memo copies`, `memo copies block DOMAIN` or `memo copies unblock DOMAIN`", errUsage)
	}
	a, err := openChecked(ctx, cfg, finish, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	switch action {
	case "recheck":
		n, err := recheck.NewRelays(a.store, a.fetch, a.log).Pass(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d relayed signatures withdrawn: their replies are gone\n", n)
		return nil
	case "block", "unblock":
		return setCopyBlock(ctx, a.store, domain, action == "block", stdout)
	}
	if origin, err := a.store.Meta(ctx, storage.MetaCopyOf); err == nil {
		fmt.Fprintf(stdout, "this instance is a copy of %s\n", origin)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	list, err := a.store.Copies(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tACTOR\tSINCE\tSIGNATURES\tBLOCKED")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%v\n", c.Domain, c.ActorIRI, c.Since.Format("2006-01-02 15:04"), c.Signatures, c.Blocked)
	}
	return tw.Flush()
}

func setCopyBlock(ctx context.Context, store *storage.Store, domain string, block bool, stdout io.Writer) error {
	copies, sigs, err := store.BlockCopies(ctx, domain, block)
	if err != nil {
		return err
	}
	if block {
		fmt.Fprintf(stdout, "blocked copy %s (%d known); %d signatures it brought hidden\n", domain, copies, sigs)
	} else {
		fmt.Fprintf(stdout, "unblocked copy %s (%d known); %d signatures it brought shown again\n", domain, copies, sigs)
	}
	return nil
}

// normaliseCopyDomain accepts a host, host:port or a URL and returns the lower-case host[:port], as copies store it.
func normaliseCopyDomain(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	v = strings.TrimPrefix(strings.TrimPrefix(v, "https://"), "http://")
	v, _, _ = strings.Cut(v, "/")
	if v == "" || strings.ContainsAny(v, " @?#") {
		return ""
	}
	return v
}

// relayRecheckEvery is how often the origin fetches the replies copies relayed, to withdraw those gone.
const relayRecheckEvery = 6 * time.Hour

// startCopy runs the copy side in the background when MEMO_COPY_OF is set, and on every instance the periodic
// re-check of signatures copies relayed (a copy has none).
func (a *app) startCopy(ctx context.Context, work *errgroup.Group) error {
	work.Go(func() error { recheck.NewRelays(a.store, a.fetch, a.log).Run(ctx, relayRecheckEvery); return nil })
	if a.cfg.CopyOf == "" {
		return nil
	}
	c, err := copies.New(copies.Config{
		URLs: a.cfg.urls(), Store: a.store, Fetch: a.fetch, Logger: a.log, Origin: a.cfg.CopyOf,
	})
	if err != nil {
		return fmt.Errorf("MEMO_COPY_OF=%q: %v", a.cfg.CopyOf, err)
	}
	a.log.Info("running as a copy", "origin", a.cfg.CopyOf)
	work.Go(func() error { return c.Run(ctx) })
	return nil
}

// refuseOnCopy stops `memo publish` on a copy: revisions keep the origin's numbers, so a copy publishing its own
// would be overwritten by the origin's next one.
func refuseOnCopy(ctx context.Context, store *storage.Store) error {
	origin, err := store.Meta(ctx, storage.MetaCopyOf)
	if errors.Is(err, storage.ErrNotFound) || origin == "" {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("this instance is a copy of %s: publish new revisions on the origin, they reach the copy by themselves", origin)
}
