package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// runReports lists the latest reports (Flag activities) other instances' moderators sent about our actor or
// objects.
func runReports(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runListing(ctx, args, stdout, stderr, "reports", "List the latest reports other instances' moderators sent (Flag activities), newest first:\n"+
		"when, who reported, what, and their comment (clipped). Each instance keeps its latest 1,000.",
		func(ctx context.Context, a *app, limit int, tw io.Writer) error {
			rows, err := a.store.Reports(ctx, limit)
			if err != nil {
				return err
			}
			fmt.Fprintln(tw, "WHEN\tREPORTER\tOBJECTS\tCOMMENT")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ReceivedAt.Format("2006-01-02 15:04:05"), oneLine(r.ActorIRI),
					oneLine(strings.Join(r.Objects, " ")), oneLine(r.Comment))
			}
			return nil
		})
}
