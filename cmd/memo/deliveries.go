package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/memo-fediverse/memo/storage"
)

func runDeliveries(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("deliveries", "", "Show the delivery queue: rows by state, domains that keep failing (parked when unavailable) and the\nmost recent failures.", stderr)
	recent := fs.Int("recent", 15, "how many recent failures to list")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *recent < 0 || *recent > 1000 {
		return fmt.Errorf("%w: --recent takes 0 to 1000", errUsage)
	}
	a, err := openChecked(ctx, cfg, finish, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	return printDeliveries(ctx, a.store, stdout, *recent)
}

// printDeliveries writes the queue report; it is what `memo deliveries` prints.
func printDeliveries(ctx context.Context, store *storage.Store, w io.Writer, recent int) error {
	counts, err := store.DeliveryCounts(ctx)
	if err != nil {
		return err
	}
	domains, err := store.FailingDomains(ctx)
	if err != nil {
		return err
	}
	problems, err := store.RecentDeliveryProblems(ctx, recent)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "Delivery queue")
	fmt.Fprintf(tw, "  pending\t%d\n  in flight\t%d\n  delivered\t%d\n  failed\t%d\n",
		counts[storage.DeliveryPending], counts[storage.DeliveryInflight], counts[storage.DeliveryDelivered], counts[storage.DeliveryFailed])
	tw.Flush()

	var down, failing []storage.Domain
	for _, d := range domains {
		if d.Unavailable() {
			down = append(down, d)
		} else {
			failing = append(failing, d)
		}
	}
	fmt.Fprintf(w, "\nUnavailable domains (deliveries parked, tried again at NEXT ATTEMPT): %d\n", len(down))
	if len(down) > 0 {
		fmt.Fprintln(tw, "  DOMAIN\tFAILURES\tUNAVAILABLE SINCE\tNEXT ATTEMPT\tLAST ERROR")
		for _, d := range down {
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\n", d.Domain, d.Failures, stamp(d.UnavailableSince()), stamp(d.NextAttemptAt()), tableCell(d.LastError))
		}
		tw.Flush()
	}
	if len(failing) > 0 {
		fmt.Fprintf(w, "\nDomains failing since their last success: %d\n", len(failing))
		fmt.Fprintln(tw, "  DOMAIN\tFAILURES\tFIRST FAILURE\tLAST ERROR")
		for _, d := range failing {
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", d.Domain, d.Failures, stamp(d.FirstFailureAt()), tableCell(d.LastError))
		}
		tw.Flush()
	}
	if recent == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nRecent failures (failed for good, or waiting to be retried): %d\n", len(problems))
	if len(problems) > 0 {
		fmt.Fprintln(tw, "  WHEN\tSTATE\tTRIES\tSTATUS\tNEXT ATTEMPT\tINBOX\tACTIVITY\tERROR")
		for _, d := range problems {
			next := "-"
			if d.State == storage.DeliveryPending {
				next = stamp(d.NextAttemptAt())
			}
			status := "-"
			if d.LastStatus != 0 {
				status = fmt.Sprint(d.LastStatus)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", stamp(d.UpdatedAt()), d.State, d.Attempts, status, next, d.Inbox, d.ActivityIRI, tableCell(d.LastError))
		}
		tw.Flush()
	}
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// tableCell keeps a remote error from breaking the table: it comes from elsewhere and may hold anything.
func tableCell(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 120 {
		s = string(r[:117]) + "..."
	}
	return s
}
