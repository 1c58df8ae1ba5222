package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/outbox"
)

func runPublish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("publish", "FILE --changelog TEXT", "Store FILE, a Markdown memo whose first line is `# Title`, as the next revision.\nThe running server sends it to followers.", stderr)
	changelog := fs.String("changelog", "", "what changed in this revision (required)")
	// Accept the file before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if file == "" {
		return fmt.Errorf("%w: give the Markdown FILE to publish", errUsage)
	}
	if strings.TrimSpace(*changelog) == "" {
		return fmt.Errorf("%w: give --changelog TEXT: followers see it with the new revision", errUsage)
	}
	if err := finish(); err != nil {
		return err
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	doc, err := content.Parse(src)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	a, err := openApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	if err := refuseOnCopy(ctx, a.store); err != nil {
		return err
	}
	n, err := outbox.PublishRevision(ctx, a.store, cfg.urls(), doc, strings.TrimSpace(*changelog), cfg.phrases()...)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "published revision %d: %s\n", n, cfg.urls().Revision(n))
	return nil
}
