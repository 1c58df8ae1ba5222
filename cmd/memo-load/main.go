// Command memo-load measures a real `memo serve` process against the machine's own limits: it starts a simulated
// fediverse on loopback (instances with their own addresses, actors with real RSA keys), drives three scenarios
// (inbox, fan-out, pages) and prints a table and, as the last line of stdout, one JSON object with the figures.
//
// By default it builds cmd/memo, starts it on a fresh temporary SQLite database and stops it at the end, so
// `go run ./cmd/memo-load --quick` alone reproduces every figure. --database runs that server on PostgreSQL (in a
// schema of its own, dropped afterwards); --target drives a server that is already running.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

// options are the knobs of one run; --quick and the full mode only change the defaults.
type options struct {
	Quick    bool
	Tiny     bool
	Database string // postgres:// URL: the started server uses a fresh schema there
	Target   string // drive this running server instead of starting one
	Repo     string // module root holding cmd/memo (found from the working directory by default)

	Requests    int // N: inbox requests, a third each of signature replies, follows and boosts
	Instances   int // K: simulated instances
	Concurrency int // C
	Signatures  int // S: signatures stored for the large signatures-page run
	SmallSigs   int // signatures stored for the small run
	PageTime    time.Duration
	KeyPool     int
	PerfDir     string // record the server's CPU with Linux perf during each phase
	Soak        time.Duration
}

func defaults(o *options) {
	set := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	switch {
	case o.Tiny:
		set(&o.Requests, 30)
		set(&o.Instances, 5)
		set(&o.Concurrency, 8)
		set(&o.Signatures, 2_000)
		set(&o.SmallSigs, 200)
		setD(&o.PageTime, 150*time.Millisecond)
		set(&o.KeyPool, 4)
	case o.Quick:
		set(&o.Requests, 1_500)
		set(&o.Instances, 50)
		set(&o.Concurrency, 64)
		set(&o.Signatures, 50_000)
		set(&o.SmallSigs, 1_000)
		setD(&o.PageTime, time.Second)
		set(&o.KeyPool, 16)
	default:
		set(&o.Requests, 20_000)
		set(&o.Instances, 1_000)
		set(&o.Concurrency, 64)
		set(&o.Signatures, 1_000_000)
		set(&o.SmallSigs, 1_000)
		setD(&o.PageTime, 5*time.Second)
		set(&o.KeyPool, 64)
	}
}

func main() {
	if os.Getenv(bareEnv) != "" {
		if err := serveBare(); err != nil {
			fmt.Fprintf(os.Stderr, "memo-load (bare WebFinger): %v\n", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "memo-load: %v\n", err)
		os.Exit(1)
	}
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("memo-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.Quick, "quick", false, "small figures that finish in under a minute on 2 cores")
	fs.BoolVar(&o.Tiny, "tiny", false, "a few requests only: checks that every scenario still runs (tests)")
	fs.StringVar(&o.Database, "database", "", "postgres:// URL: run the started server on PostgreSQL (a fresh schema, dropped at the end); with --target, the target's database (enables fan-out and seeding)")
	fs.StringVar(&o.Target, "target", "", "URL of a running memo server to drive instead of starting one; it must allow private networks")
	fs.StringVar(&o.Repo, "repo", "", "module root holding cmd/memo (default: found from the working directory)")
	fs.IntVar(&o.Requests, "n", 0, "inbox requests (default 20,000; quick 1,500)")
	fs.IntVar(&o.Instances, "k", 0, "simulated instances (default 1,000; quick 50)")
	fs.IntVar(&o.Concurrency, "c", 0, "concurrency (default 64)")
	fs.IntVar(&o.Signatures, "s", 0, "signatures stored for the large signatures-page run (default 1,000,000; quick 50,000)")
	fs.DurationVar(&o.PageTime, "page-time", 0, "how long each page is loaded (default 5s; quick 1s)")
	fs.StringVar(&o.PerfDir, "perf", "", "record the started server's CPU with Linux perf into DIR/PHASE.data during each phase")
	fs.DurationVar(&o.Soak, "soak", 0, "instead of the scenarios, run mixed traffic (honest, pages, junk) for this long and report the server's memory, database, goroutines and open files at the start, middle and end")
	fs.IntVar(&o.KeyPool, "keys", 0, "distinct RSA keys shared by the simulated actors (default 64; quick 16)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: memo-load [--quick] [--database URL | --target URL] [flags]\n\nMeasures memo serve against this machine's limits. Flags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.Soak < 0 || (o.Soak > 0 && o.Target != "") {
		return o, fmt.Errorf("--soak takes a positive duration and starts its own server (no --target)")
	}
	defaults(&o)
	if o.Requests < 3 || o.Instances < 1 || o.Concurrency < 1 || o.KeyPool < 1 {
		return o, fmt.Errorf("-n must be at least 3, -k, -c and -keys at least 1")
	}
	if o.SmallSigs > o.Signatures {
		o.SmallSigs = o.Signatures
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return err
	}
	p := &progress{w: stderr, start: time.Now()}
	if o.Soak > 0 {
		return runSoak(ctx, o, p, stdout)
	}
	res := &result{Mode: o.mode(), Cores: runtime.NumCPU(), N: o.Requests, K: o.Instances, C: o.Concurrency}
	if err := measure(ctx, o, p, res); err != nil {
		return err
	}
	res.writeTable(stdout)
	return res.writeJSON(stdout)
}

func (o options) mode() string {
	switch {
	case o.Tiny:
		return "tiny"
	case o.Quick:
		return "quick"
	}
	return "full"
}

// progress prints timestamped steps on stderr.
type progress struct {
	w     io.Writer
	start time.Time
}

func (p *progress) say(format string, args ...any) {
	fmt.Fprintf(p.w, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}
