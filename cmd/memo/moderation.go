package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/memo-fediverse/memo/storage"
)

// runBlock: `memo block actor IRI`, `memo block domain NAME`, or `memo block` to list the blocks.
func runBlock(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "copy" { // `memo block copy DOMAIN`: the copies command blocks copies
		return runCopies(ctx, append([]string{"block"}, args[1:]...), stdout, stderr)
	}
	fs, cfg, finish := newFlagSet("block", "[actor IRI | domain NAME] [--reason TEXT]",
		"Block an actor or a whole domain (and its subdomains): their signatures are hidden, they are removed from the\n"+
			"followers, and the running server refuses their activities from now on. Without arguments, list the blocks.", stderr)
	reason := fs.String("reason", "", "why, for the other moderators")
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 && len(pos) != 2 {
		return fmt.Errorf("%w: use `memo block actor IRI` or `memo block domain NAME`", errUsage)
	}
	var kind, value string
	if len(pos) == 2 {
		kind = pos[0]
		if value, err = storage.NormaliseBlock(kind, pos[1]); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	a, err := openChecked(ctx, cfg, finish, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	if kind == "" {
		blocks, err := a.store.Blocks(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tVALUE\tSINCE\tREASON")
		for _, b := range blocks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.Kind, b.Value, b.CreatedAt.Format("2006-01-02 15:04"), oneLine(b.Reason))
		}
		return tw.Flush()
	}
	eff, err := a.store.BlockAndHide(ctx, kind, value, *reason)
	if err != nil {
		return err
	}
	if eff.AlreadyBlocked {
		fmt.Fprintf(stdout, "%s %s was already blocked; ", kind, value)
	} else {
		fmt.Fprintf(stdout, "blocked %s %s; ", kind, value)
	}
	fmt.Fprintf(stdout, "%d signatures hidden, %d followers removed\n", eff.SignaturesHidden, eff.FollowersRemoved)
	return nil
}

// runUnblock: `memo unblock actor IRI` or `memo unblock domain NAME`.
func runUnblock(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "copy" { // `memo unblock copy DOMAIN`: the copies command unblocks them
		return runCopies(ctx, append([]string{"unblock"}, args[1:]...), stdout, stderr)
	}
	fs, cfg, finish := newFlagSet("unblock", "actor IRI | domain NAME",
		"Lift a block. Signatures it hid stay hidden: show each one with `memo signatures show ID`.", stderr)
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: use `memo unblock actor IRI` or `memo unblock domain NAME`", errUsage)
	}
	value, err := storage.NormaliseBlock(pos[0], pos[1])
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	a, err := openChecked(ctx, cfg, finish, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	ok, err := a.store.Unblock(ctx, pos[0], value)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s %s is not blocked", pos[0], value)
	}
	fmt.Fprintf(stdout, "unblocked %s %s\n", pos[0], value)
	return nil
}

// runRefused lists the latest inbox requests the server refused, with the reason.
func runRefused(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runListing(ctx, args, stdout, stderr, "refused", "List the latest refused inbox requests, newest first, with the reason.",
		func(ctx context.Context, a *app, limit int, tw io.Writer) error {
			rows, err := a.store.Refusals(ctx, limit)
			if err != nil {
				return err
			}
			fmt.Fprintln(tw, "WHEN\tSTATUS\tFROM\tACTOR\tACTIVITY\tREASON")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.ReceivedAt.Format("2006-01-02 15:04:05"), r.Status, oneLine(r.RemoteAddr),
					oneLine(r.ActorIRI), oneLine(r.Activity), oneLine(r.Reason))
			}
			return nil
		})
}

// runListing is a command that takes only --limit and prints a table: it opens the app and lets list write the rows.
func runListing(ctx context.Context, args []string, stdout, stderr io.Writer, name, summary string,
	list func(ctx context.Context, a *app, limit int, tw io.Writer) error) error {
	fs, cfg, finish := newFlagSet(name, "[--limit N]", summary, stderr)
	limit, checkLimit := limitFlag(fs)
	if pos, err := parseWithArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if err := checkLimit(); err != nil {
		return err
	}
	a, err := openChecked(ctx, cfg, finish, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	if err := list(ctx, a, *limit, tw); err != nil {
		return err
	}
	return tw.Flush()
}
