package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/memo-fediverse/memo/federation/outbox"
	"github.com/memo-fediverse/memo/storage"
)

func runRetract(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("retract", "SLUG", "Withdraw the impulse SLUG: its object answers 410 Gone from now on and every follower is sent a\nDelete with a Tombstone. The running server delivers it.", stderr)
	var slug string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		slug, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if slug == "" && fs.NArg() > 0 {
		slug = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if slug == "" {
		return fmt.Errorf("%w: give the SLUG of the impulse to retract (the end of its URL, /impulses/SLUG)", errUsage)
	}
	a, err := openChecked(ctx, cfg, finish, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	if _, err := a.store.Impulse(ctx, slug); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: no impulse %q; known ones: %s", errUsage, slug, knownSlugs(ctx, a.store))
	} else if err != nil {
		return err
	}
	r, err := outbox.Retract(ctx, a.store, cfg.urls(), slug)
	if err != nil {
		return err
	}
	if r.Already {
		fmt.Fprintf(stdout, "%s was already retracted; its Delete is queued or sent (memo deliveries shows which)\n", cfg.urls().Impulse(slug))
		return nil
	}
	fmt.Fprintf(stdout, "retracted %s: it answers 410 Gone; Delete queued for %d inboxes\n", cfg.urls().Impulse(slug), r.Recipients)
	return nil
}

func knownSlugs(ctx context.Context, store *storage.Store) string {
	imps, err := store.Impulses(ctx)
	if err != nil || len(imps) == 0 {
		return "none"
	}
	var names []string
	for _, i := range imps {
		if !i.Retracted() {
			names = append(names, i.Slug)
		}
	}
	return strings.Join(names, ", ")
}
