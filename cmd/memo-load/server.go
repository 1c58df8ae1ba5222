package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver storage uses, for the scratch schema
	"github.com/memo-fediverse/memo/storage"
)

// memoServer is the server under load: a process this tool started, or a target it only talks to.
type memoServer struct {
	Base     string // http://127.0.0.1:PORT
	Host     string
	Database string // DSN the server uses, empty when unknown (a target without --database)
	// Metrics is the server's /metrics URL, on its own listener (MEMO_METRICS_LISTEN); empty for a --target.
	Metrics string
	bin     string // the built memo binary, for `memo publish`
	data    string
	cmd     *exec.Cmd
	logFile *os.File
	cleanup []func()
	// metricsHost is where the started server serves /metrics.
	metricsHost string
}

// findRepo walks up from the working directory to the module holding cmd/memo.
func findRepo(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "cmd", "memo", "main.go")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("cmd/memo not found above %s: run from the repository or give --repo", wd)
		}
	}
}

// build compiles cmd/memo into a temporary folder, which also holds the server's data folder, so that the server
// runs as the binary admins run, not under `go run`.
func (s *memoServer) build(ctx context.Context, o options) error {
	repo, err := findRepo(o.Repo)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "memo-load-*")
	if err != nil {
		return err
	}
	s.cleanup = append(s.cleanup, func() { os.RemoveAll(tmp) })
	s.data = filepath.Join(tmp, "data")
	bin := filepath.Join(tmp, "memo")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/memo")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/memo: %w\n%s", err, out)
	}
	s.bin = bin
	return nil
}

// freePort asks the kernel for a port on 127.0.0.1 that is free now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startMemo builds and starts `memo serve` on a fresh database in a temporary folder. seed runs on that database
// after its migration and before the server starts.
func startMemo(ctx context.Context, o options, p *progress, seed func(dsn string) error) (*memoServer, error) {
	s := &memoServer{}
	p.say("building cmd/memo")
	if err := s.build(ctx, o); err != nil {
		s.stop()
		return nil, err
	}
	s.Database = filepath.Join(s.data, "memo.db")
	if o.Database != "" {
		dsn, drop, err := scratchSchema(ctx, o.Database)
		if err != nil {
			s.stop()
			return nil, err
		}
		s.Database = dsn
		s.cleanup = append(s.cleanup, drop)
	}
	port, err := freePort()
	if err != nil {
		s.stop()
		return nil, err
	}
	s.Host = "127.0.0.1:" + strconv.Itoa(port)
	mport, err := freePort()
	if err != nil {
		s.stop()
		return nil, err
	}
	s.metricsHost = "127.0.0.1:" + strconv.Itoa(mport)
	s.Metrics = "http://" + s.metricsHost + "/metrics"
	s.Base = "http://" + s.Host
	// The database is created by the binary itself (schema and seeded memo), then filled before the server starts.
	init := exec.CommandContext(ctx, s.bin, "deliveries")
	init.Env = s.env()
	if out, err := init.CombinedOutput(); err != nil {
		s.stop()
		return nil, fmt.Errorf("initialise the database with memo deliveries: %w\n%s", err, out)
	}
	if seed != nil {
		if err := seed(s.Database); err != nil {
			s.stop()
			return nil, err
		}
	}
	s.logFile, err = os.Create(filepath.Join(filepath.Dir(s.bin), "serve.log"))
	if err != nil {
		s.stop()
		return nil, err
	}
	s.cmd = exec.Command(s.bin, "serve")
	s.cmd.Env = append(s.env(), "MEMO_LOG_LEVEL=warn", "MEMO_METRICS_LISTEN="+s.metricsHost)
	s.cmd.Stdout, s.cmd.Stderr = s.logFile, s.logFile
	// The server ends with this tool, however it ends (a closed pipe, a kill): no stray servers on a shared machine.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := s.cmd.Start(); err != nil {
		s.stop()
		return nil, fmt.Errorf("start memo serve: %w", err)
	}
	if err := waitHealthy(ctx, s.Base, 30*time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w (log: %s)", err, tail(s.logFile.Name()))
	}
	p.say("memo serve (pid %d) on %s, database %s", s.cmd.Process.Pid, s.Base, storage.RedactDSN(s.Database))
	return s, nil
}

// env is the environment of every memo command this tool runs: same data, database and public URL.
func (s *memoServer) env() []string {
	return append(os.Environ(),
		"MEMO_DATA="+s.data, "MEMO_DATABASE="+s.Database, "MEMO_LISTEN="+s.Host, "MEMO_PUBLIC_URL="+s.Base,
		"MEMO_ALLOW_PRIVATE_NETWORKS=true",
	)
}

// target wraps a running server: only its URL is known, plus its database when given.
func target(ctx context.Context, o options) (*memoServer, error) {
	u, err := url.Parse(o.Target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--target %q: give the server's public URL, e.g. http://127.0.0.1:8080", o.Target)
	}
	s := &memoServer{Base: u.Scheme + "://" + u.Host, Host: u.Host, Database: o.Database}
	if err := waitHealthy(ctx, s.Base, 5*time.Second); err != nil {
		return nil, err
	}
	if s.Database != "" {
		// memo publish, for the fan-out, runs against the target's database.
		if err := s.build(ctx, o); err != nil {
			s.stop()
			return nil, err
		}
	}
	return s, nil
}

func waitHealthy(ctx context.Context, base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s/healthz did not answer 200 within %s: %v", base, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// publish runs `memo publish` as a second process, as an admin would, and returns when the revision is stored.
func (s *memoServer) publish(ctx context.Context, markdown, changelog string) error {
	if s.bin == "" {
		return fmt.Errorf("publish needs the server's database (--database with --target)")
	}
	file := filepath.Join(filepath.Dir(s.data), "revision.md")
	if err := os.WriteFile(file, []byte(markdown), 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, s.bin, "publish", file, "--changelog", changelog)
	cmd.Env = s.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("memo publish: %w\n%s", err, out)
	}
	return nil
}

// peakRSSMB reads the server's peak resident memory (VmHWM) from /proc; 0 when the process is not ours.
func (s *memoServer) peakRSSMB() float64 { return s.statusMB("VmHWM:") }

// fileRSSMB reads how much of the server's resident memory is mapped from files (RssFile): the binary's code and
// read-only data, shared and given back by the kernel under pressure, counted in VmHWM all the same.
func (s *memoServer) fileRSSMB() float64 { return s.statusMB("RssFile:") }

// statusMB reads one "NAME: N kB" field of the server's /proc status, in MB.
func (s *memoServer) statusMB(field string) float64 {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// logProblems returns how many warnings and errors the server logged, and the last few, so that a refusal seen by
// the load (a 503) comes with the server's reason.
func (s *memoServer) logProblems(keep int) (int, []string) {
	if s.logFile == nil {
		return 0, nil
	}
	b, err := os.ReadFile(s.logFile.Name())
	if err != nil {
		return 0, nil
	}
	var last []string
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			n++
			last = append(last, line)
			if len(last) > keep {
				last = last[1:]
			}
		}
	}
	return n, last
}

// stop ends the server we started (SIGTERM, then SIGKILL) and removes what this run created.
func (s *memoServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
		s.cmd = nil
	}
	if s.logFile != nil {
		s.logFile.Close()
	}
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
	s.cleanup = nil
}

// scratchSchema creates a schema of its own on the PostgreSQL server at dsn and returns a URL using it, and a
// function that drops it.
func scratchSchema(ctx context.Context, dsn string) (string, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("--database: %w", err)
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, fmt.Errorf("--database: %w", err)
	}
	schema := fmt.Sprintf("memo_load_%d_%d", time.Now().Unix(), os.Getpid())
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create schema %s on %s: %w", schema, storage.RedactDSN(dsn), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin.ExecContext(dctx, `DROP SCHEMA `+schema+` CASCADE`)
		admin.Close()
	}
	return u.String(), drop, nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
