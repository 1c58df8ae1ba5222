package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// runReports lists the latest reports (Flag activities) other instances' moderators sent about our actor or
// objects.
func runReports(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("reports", "[--limit N]", "List the latest reports other instances' moderators sent (Flag activities), newest first:\n"+
		"when, who reported, what, and their comment (clipped). Each instance keeps its latest 1,000.", stderr)
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
	rows, err := a.store.Reports(ctx, *limit)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tREPORTER\tOBJECTS\tCOMMENT")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ReceivedAt.Format("2006-01-02 15:04:05"), oneLine(r.ActorIRI),
			oneLine(strings.Join(r.Objects, " ")), oneLine(r.Comment))
	}
	return tw.Flush()
}
