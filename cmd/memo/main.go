// Command memo publishes the memorandum « Pour du libre et de l'open en conscience » on the web and to the
// fediverse, and collects the signatures people send by replying to it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "", "run the server (the default)", runServe},
		{"publish", "FILE --changelog TEXT", "store FILE (Markdown) as a new revision of the memo", runPublish},
		{"retract", "SLUG", "withdraw an impulse: it answers 410 and followers are sent a Delete", runRetract},
		{"deliveries", "", "show the delivery queue, failing domains and recent failures", runDeliveries},
		{"signatures", "list|export|hide|show|verify", "list, export, moderate and re-verify the signatures", runSignatures},
		{"block", "actor IRI | domain NAME", "block an actor or a domain: hide their signatures, refuse them", runBlock},
		{"unblock", "actor IRI | domain NAME", "lift a block", runUnblock},
		{"copies", "[block|unblock DOMAIN]", "list the self-hosted copies known here, block or unblock one", runCopies},
		{"refused", "[--limit N]", "list the latest refused inbox requests and why", runRefused},
		{"backup", "FILE", "write a consistent backup (database and key) while the server runs", runBackup},
		{"restore", "FILE", "restore a backup into an empty data folder", runRestore},
		{"doctor", "", "check DNS, certificate, proxy, clock, key, database and queue; one line per check", runDoctor},
		{"healthcheck", "", "ask the local server for /healthz (exit status 0 when healthy)", runHealthcheck},
		{"reports", "[--limit N]", "list the reports other instances' moderators sent (Flag)", runReports},
		{"version", "", "print the version", runVersion},
	}
}

// errUsage marks errors whose message is the whole story (no "memo:" stack of context needed).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the exit status; tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		usage(stdout)
		return 0
	}
	if name == "help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, args, stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		default:
			fmt.Fprintf(stderr, "memo %s: %v\n", name, err)
			if errors.Is(err, errUsage) {
				return 2
			}
			return 1
		}
	}
	fmt.Fprintf(stderr, "memo: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "memo publishes the memo « Pour du libre et de l’open en conscience » to the web and the fediverse.")
	fmt.Fprintln(w, "\nUsage: memo [command] [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %-28s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command reads the same settings from flags or MEMO_* environment variables;")
	fmt.Fprintln(w, "run `memo COMMAND --help` to list them.")
}

// newFlagSet builds a subcommand's flag set with the shared settings and a help text naming the command.
func newFlagSet(name, args, summary string, stderr io.Writer) (*flag.FlagSet, *config, func() error) {
	fs := flag.NewFlagSet("memo "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, finish := bindConfig(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: memo %s %s\n\n%s\n\nFlags (each also read from the environment variable in brackets):\n", name, args, summary)
		fs.PrintDefaults()
	}
	return fs, cfg, finish
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("memo version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "memo %s\n", version)
	return nil
}
