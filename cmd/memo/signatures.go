package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

const signaturesUsage = `list | export --format csv|json [--evidence] [--private] | hide ID | show ID | verify | recheck [--all|--since D]`

// runSignatures dispatches `memo signatures SUBCOMMAND`.
func runSignatures(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "Usage: memo signatures %s\n", signaturesUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: name a subcommand: list, export, hide, show, verify or recheck", errUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list":
		return signaturesList(ctx, args, stdout, stderr)
	case "export":
		return signaturesExport(ctx, args, stdout, stderr)
	case "hide", "show":
		return signaturesHide(ctx, sub, args, stdout, stderr)
	case "verify":
		return signaturesVerify(ctx, args, stdout, stderr)
	case "recheck":
		return signaturesRecheck(ctx, args, stdout, stderr)
	}
	return fmt.Errorf("%w: unknown subcommand %q: use list, export, hide, show, verify or recheck", errUsage, sub)
}

// limitFlag adds --limit to a list command; check refuses a value out of range once the flags are parsed.
func limitFlag(fs *flag.FlagSet) (limit *int, check func() error) {
	limit = fs.Int("limit", 50, "how many to list (1 to 1000)")
	return limit, func() error {
		if *limit < 1 || *limit > 1000 {
			return fmt.Errorf("%w: --limit %d: use 1 to 1000", errUsage, *limit)
		}
		return nil
	}
}

// parseWithArgs parses flags placed before or after the positional arguments and returns the positionals.
func parseWithArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func signaturesList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("signatures list", "[--search TEXT] [--all] [--before ID] [--limit N]",
		"List signatures, newest first: by default the public ones that stand, as the web list shows them.", stderr)
	search := fs.String("search", "", "only signatures whose name, handle or instance contains TEXT")
	all := fs.Bool("all", false, "include private, withdrawn and hidden signatures")
	before := fs.Int64("before", 0, "start after signature number ID (the next page)")
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
	rows, err := a.store.Signatures(ctx, storage.SignatureFilter{Before: *before, Limit: *limit, Search: *search, IncludePrivate: *all, IncludeInactive: *all})
	if err != nil {
		return err
	}
	counts, err := a.store.CountSignatures(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NUMBER\tSIGNED\tHANDLE\tNAME\tREVISION\tVISIBILITY\tSTATE")
	for _, g := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", g.ID, g.SignedAt.Format("2006-01-02 15:04"), g.Handle,
			oneLine(g.DisplayName), g.Revision, g.Visibility, state(g))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d signatures: %d public, %d private; %d withdrawn, %d hidden.\n",
		counts.Total(), counts.Public, counts.Private, counts.Withdrawn, counts.Hidden)
	if len(rows) == *limit {
		fmt.Fprintf(stdout, "More: memo signatures list --before %d\n", rows[len(rows)-1].ID)
	}
	return nil
}

func state(g storage.Signature) string {
	switch {
	case g.WithdrawnMS.Valid:
		return "withdrawn"
	case g.Status == storage.SignatureHidden:
		return "hidden"
	}
	return "standing"
}

// oneLine keeps a remote name on one line of a terminal table; names are already free of control characters
// when stored, this is a second guard.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// exported is one signature in an export; the field names are the documented format.
type exported struct {
	Number      int64           `json:"number"`
	Handle      string          `json:"handle"`
	DisplayName string          `json:"display_name"`
	Instance    string          `json:"instance"`
	Kind        string          `json:"kind"`
	Actor       string          `json:"actor"`
	ProfileURL  string          `json:"profile_url"`
	Reply       string          `json:"reply"`
	InReplyTo   string          `json:"in_reply_to"`
	Revision    int             `json:"revision"`
	Visibility  string          `json:"visibility"`
	SignedAt    string          `json:"signed_at"`
	Text        string          `json:"text"`
	Evidence    json.RawMessage `json:"evidence,omitempty"`
}

var csvHeader = []string{"number", "handle", "display_name", "instance", "kind", "actor", "profile_url", "reply", "in_reply_to", "revision", "visibility", "signed_at", "text"}

func toExported(g storage.Signature, withEvidence bool) exported {
	kind := "person"
	if g.Organisation() {
		kind = "organisation"
	}
	e := exported{
		Number: g.ID, Handle: g.Handle, DisplayName: g.DisplayName, Instance: g.Domain, Kind: kind, Actor: g.ActorIRI,
		ProfileURL: g.ProfileURL, Reply: g.NoteIRI, InReplyTo: g.InReplyTo, Revision: g.Revision, Visibility: g.Visibility,
		SignedAt: g.SignedAt.Format(time.RFC3339), Text: g.Content,
	}
	if withEvidence && json.Valid([]byte(g.Evidence)) {
		e.Evidence = json.RawMessage(g.Evidence)
	}
	return e
}

func (e exported) csvRow(withEvidence bool) []string {
	row := []string{strconv.FormatInt(e.Number, 10), e.Handle, csvSafe(e.DisplayName), e.Instance, e.Kind, e.Actor,
		e.ProfileURL, e.Reply, e.InReplyTo, strconv.Itoa(e.Revision), e.Visibility, e.SignedAt, csvSafe(e.Text)}
	if withEvidence {
		row = append(row, string(e.Evidence))
	}
	return row
}

// csvSafe stops a remote name that starts with =, +, - or @ from running as a formula when the file is opened in
// a spreadsheet.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func signaturesExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("signatures export", "--format csv|json [--evidence] [--private]",
		"Write the standing signatures, oldest first, to standard output. The evidence (the signed request and the key\n"+
			"that verified it) lets anyone re-check each signature; see the README.", stderr)
	format := fs.String("format", "csv", "csv or json")
	withEvidence := fs.Bool("evidence", false, "include each signature's evidence (JSON)")
	private := fs.Bool("private", false, "include private (followers-only and direct) signatures, for an audit")
	if pos, err := parseWithArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if *format != "csv" && *format != "json" {
		return fmt.Errorf("%w: --format %q: use csv or json", errUsage, *format)
	}
	a, err := openChecked(ctx, cfg, finish, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	filter := storage.SignatureFilter{IncludePrivate: *private, IncludeEvidence: *withEvidence, OldestFirstOrder: true}
	if *format == "csv" {
		w := csv.NewWriter(stdout)
		header := csvHeader
		if *withEvidence {
			header = append(append([]string{}, csvHeader...), "evidence")
		}
		if err := w.Write(header); err != nil {
			return err
		}
		err := a.store.EachSignature(ctx, filter, func(g storage.Signature) error {
			return w.Write(toExported(g, *withEvidence).csvRow(*withEvidence))
		})
		if err != nil {
			return err
		}
		w.Flush()
		return w.Error()
	}
	// JSON: one array, written row by row so a million signatures do not sit in memory.
	if _, err := io.WriteString(stdout, "["); err != nil {
		return err
	}
	first := true
	err = a.store.EachSignature(ctx, filter, func(g storage.Signature) error {
		b, err := json.Marshal(toExported(g, *withEvidence))
		if err != nil {
			return err
		}
		sep := ",\n"
		if first {
			sep = "\n"
		}
		first = false
		if _, err := io.WriteString(stdout, sep); err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	end := "\n]\n"
	if first {
		end = "]\n"
	}
	_, err = io.WriteString(stdout, end)
	return err
}

func signaturesHide(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	summary := "Hide a signature from the lists and counts (it stays stored, with its evidence)."
	if sub == "show" {
		summary = "Show again a signature hidden by a moderator or by a block."
	}
	fs, cfg, finish := newFlagSet("signatures "+sub, "ID", summary, stderr)
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: give one signature number", errUsage)
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id < 1 {
		return fmt.Errorf("%w: %q is not a signature number", errUsage, pos[0])
	}
	a, err := openChecked(ctx, cfg, finish, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.store.SetSignatureHidden(ctx, id, sub == "hide"); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no signature number %d", id)
	} else if err != nil {
		return err
	}
	g, err := a.store.SignatureByID(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signature %d (%s) is now %s\n", id, g.Handle, state(g))
	return nil
}

func signaturesVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("signatures verify", "",
		"Re-check every stored signature's evidence offline: the HTTP signature over the stored request with the stored\n"+
			"key, the Digest of the body, and that the body is the signer's reply. Exits non-zero when any fails.", stderr)
	if pos, err := parseWithArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	a, err := openChecked(ctx, cfg, finish, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	var checked, failed, unsigned int
	err = a.store.EachSignature(ctx, storage.SignatureFilter{IncludePrivate: true, IncludeInactive: true, IncludeEvidence: true, OldestFirstOrder: true},
		func(g storage.Signature) error {
			checked++
			if err := verifyEvidence(g); errors.Is(err, signing.ErrUnsigned) {
				unsigned++
				fmt.Fprintf(stdout, "signature %d (%s): %v\n", g.ID, g.Handle, err)
			} else if err != nil {
				failed++
				fmt.Fprintf(stdout, "FAILED signature %d (%s): %v\n", g.ID, g.Handle, err)
			}
			return nil
		})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d signatures checked: %d verified, %d fetched from their server (no HTTP signature), %d failed\n",
		checked, checked-failed-unsigned, unsigned, failed)
	if failed > 0 {
		return fmt.Errorf("%d signatures do not verify", failed)
	}
	return nil
}

func verifyEvidence(g storage.Signature) error {
	if strings.TrimSpace(g.Evidence) == "" {
		return fmt.Errorf("%w: no evidence stored", signing.ErrEvidence)
	}
	ev, err := signing.ParseEvidence(g.Evidence)
	if err != nil {
		return err
	}
	return ev.Verify(g.NoteAuthor(), g.NoteIRI)
}
