package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/storage"
)

// The soak: mixed traffic against a real `memo serve` for a while, to see that what the server holds (memory,
// database, goroutines, open files) levels off instead of growing with time. Honest instances sign replies,
// likes and their undoing; readers load pages and searches; strangers send junk (unsigned posts, oversized bodies,
// bad digests, random methods) and follow floods from one host. The figures are sampled at the start, the middle
// and the end.

// soakSample is the server's footprint at one moment.
type soakSample struct {
	At         string  `json:"at"`
	ElapsedS   float64 `json:"elapsed_s"`
	RSSMB      float64 `json:"rss_mb"`
	DatabaseMB float64 `json:"database_mb"`
	Goroutines int     `json:"goroutines"`
	Threads    int     `json:"threads"`
	OpenFiles  int     `json:"open_files"`
	InboxRows  int     `json:"inbox_rows"`
}

// soakResult is the soak's JSON line.
type soakResult struct {
	Mode      string         `json:"mode"`
	Database  string         `json:"database"`
	Cores     int            `json:"cores"`
	DurationS float64        `json:"duration_s"`
	Samples   []soakSample   `json:"samples"`
	Sent      map[string]int `json:"sent"`
	Status    map[string]int `json:"status"`
	// LevelOff tells, per figure, whether the second half grew by at most a tenth of the first half's growth plus
	// a small allowance (what a run of minutes can tell of hours).
	LevelOff map[string]bool `json:"level_off"`
}

// soakKinds are the traffic kinds and their weights in the mix.
var soakKinds = []struct {
	name   string
	weight int
}{
	{"honest", 15}, {"page", 40}, {"search", 10}, {"unsigned", 10}, {"oversized", 3}, {"bad_digest", 10},
	{"random_method", 10}, {"follow_flood", 2},
}

func runSoak(ctx context.Context, o options, p *progress, stdout io.Writer) error {
	srv, err := startMemo(ctx, o, p, func(dsn string) error { return seedSignatures(ctx, dsn, 0, o.SmallSigs) })
	if err != nil {
		return err
	}
	defer srv.stop()
	if srv.cmd == nil {
		return fmt.Errorf("--soak needs a server this tool starts (not --target): it reads the process's /proc")
	}
	urls := content.URLs{Base: srv.Base, Username: "memo"}
	fed, err := newFediverse(o.Instances, o.KeyPool, srv.Base, urls.KeyID())
	if err != nil {
		return err
	}
	defer fed.close()
	if err := fed.loadOurKey(ctx, urls.Actor()); err != nil {
		return err
	}
	res := &soakResult{Mode: o.mode(), Cores: runtime.NumCPU(), DurationS: o.Soak.Seconds(), Sent: map[string]int{}, Status: map[string]int{}}
	res.Database = "sqlite"
	if storage.IsPostgresURL(srv.Database) {
		res.Database = "postgresql"
	}
	client := localClient(o.Concurrency)
	start := time.Now()
	sample := func(at string) error {
		s, err := srv.footprint(ctx, client, urls)
		if err != nil {
			return err
		}
		s.At, s.ElapsedS = at, time.Since(start).Seconds()
		res.Samples = append(res.Samples, s)
		p.say("soak %s: rss %.1f MB, database %.1f MB, %d goroutines, %d threads, %d open files, %d inbox rows",
			at, s.RSSMB, s.DatabaseMB, s.Goroutines, s.Threads, s.OpenFiles, s.InboxRows)
		return nil
	}
	if err := sample("start"); err != nil {
		return err
	}
	p.say("soak: %s of mixed traffic at concurrency %d from %d instances", o.Soak, o.Concurrency, o.Instances)
	start = time.Now()
	soakCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := &soakTraffic{fed: fed, urls: urls, client: client, sent: map[string]int{}, status: map[string]int{}}
	var wg sync.WaitGroup
	for w := range o.Concurrency {
		wg.Go(func() { t.worker(soakCtx, w) })
	}
	// The middle and the end are sampled under traffic; "idle" once it stopped and the clients closed their
	// connections: what the server then still holds is its own.
	var sampleErr error
	for _, at := range []string{"middle", "end"} {
		select {
		case <-time.After(time.Until(start.Add(o.Soak / 2))):
		case <-ctx.Done():
		}
		if at == "end" {
			select {
			case <-time.After(time.Until(start.Add(o.Soak))):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		if sampleErr = sample(at); sampleErr != nil {
			break
		}
	}
	cancel()
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if sampleErr != nil {
		return sampleErr
	}
	client.CloseIdleConnections()
	for _, inst := range fed.instances {
		inst.client.CloseIdleConnections()
	}
	time.Sleep(3 * time.Second)
	if err := sample("idle"); err != nil {
		return err
	}
	t.mu.Lock()
	res.Sent, res.Status = t.sent, t.status
	t.mu.Unlock()
	res.LevelOff = levelOff(res.Samples)
	if n, last := srv.logProblems(5); n > 0 {
		p.say("the server logged %d warnings or errors; the last ones:\n  %s", n, strings.Join(last, "\n  "))
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

// levelOff compares the growth of each figure over the second half of the traffic with the first half's.
func levelOff(s []soakSample) map[string]bool {
	if len(s) < 3 {
		return nil
	}
	a, m, e := s[0], s[1], s[2]
	check := func(first, second, allowance float64) bool { return second <= first/10+allowance || second <= 0 }
	return map[string]bool{
		"rss":        check(m.RSSMB-a.RSSMB, e.RSSMB-m.RSSMB, 8),
		"goroutines": check(float64(m.Goroutines-a.Goroutines), float64(e.Goroutines-m.Goroutines), 20),
		"threads":    check(float64(m.Threads-a.Threads), float64(e.Threads-m.Threads), 4),
		"open_files": check(float64(m.OpenFiles-a.OpenFiles), float64(e.OpenFiles-m.OpenFiles), 10),
	}
}

// footprint reads the server process's memory, threads and open files from /proc, its goroutines from /metrics
// and its database's size.
func (s *memoServer) footprint(ctx context.Context, client *http.Client, urls content.URLs) (soakSample, error) {
	var out soakSample
	pid := s.cmd.Process.Pid
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return out, fmt.Errorf("server status: %w", err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			out.RSSMB = kb / 1024
		}
	}
	f.Close()
	if tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid)); err == nil {
		out.Threads = len(tasks)
	}
	if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		out.OpenFiles = len(fds)
	}
	if s.Metrics != "" {
		if out.Goroutines, err = goroutines(ctx, client, s.Metrics); err != nil {
			return out, err
		}
	}
	if out.DatabaseMB, err = databaseMB(ctx, s.Database); err != nil {
		return out, err
	}
	if out.InboxRows, err = inboxRows(ctx, s.Database); err != nil {
		return out, err
	}
	return out, nil
}

// goroutines reads go_goroutines from the server's Prometheus metrics.
func goroutines(ctx context.Context, client *http.Client, metricsURL string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(n), err
		}
	}
	return 0, fmt.Errorf("GET /metrics: no go_goroutines (HTTP %d)", resp.StatusCode)
}

// databaseMB is the database's size on disk: the SQLite file with its write-ahead log, or the PostgreSQL
// schema's tables and indexes.
func databaseMB(ctx context.Context, dsn string) (float64, error) {
	if !storage.IsPostgresURL(dsn) {
		var total int64
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if fi, err := os.Stat(dsn + suffix); err == nil {
				total += fi.Size()
			}
		}
		if total == 0 {
			return 0, fmt.Errorf("database %s: no file", filepath.Base(dsn))
		}
		return float64(total) / (1 << 20), nil
	}
	s, err := storage.Open(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	bytes, err := s.PostgresBytes(ctx)
	return float64(bytes) / (1 << 20), err
}

// soakTraffic sends the mix; workers share its counters.
type soakTraffic struct {
	fed    *fediverse
	urls   content.URLs
	client *http.Client
	seq    atomic.Int64

	mu     sync.Mutex
	sent   map[string]int
	status map[string]int
}

// pick draws a traffic kind by weight.
func pick() string {
	total := 0
	for _, k := range soakKinds {
		total += k.weight
	}
	n := randN(total)
	for _, k := range soakKinds {
		if n < k.weight {
			return k.name
		}
		n -= k.weight
	}
	return soakKinds[0].name
}

func randN(n int) int {
	v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
	return int(v.Int64())
}

// honestActors is the pool of actors that send honest activities: a steady community, not an ever-growing one.
const honestActors = 200

func (t *soakTraffic) worker(ctx context.Context, w int) {
	for ctx.Err() == nil {
		kind := pick()
		code := t.send(ctx, kind)
		if ctx.Err() != nil && code == 0 {
			return
		}
		t.mu.Lock()
		t.sent[kind]++
		t.status[kind+" "+strconv.Itoa(code)]++
		t.mu.Unlock()
	}
}

// send sends one request of kind and returns its status (0: no answer).
func (t *soakTraffic) send(ctx context.Context, kind string) int {
	n := t.seq.Add(1)
	switch kind {
	case "page":
		pages := []string{t.urls.Home(), t.urls.Signatures(), t.urls.Memo(), t.urls.Signatures() + "?after=100"}
		return t.get(ctx, pages[randN(len(pages))])
	case "search":
		qs := []string{"signataire 42", "seed7", "éloïse", "zz"}
		return t.get(ctx, t.urls.Signatures()+"?q="+url.QueryEscape(qs[randN(len(qs))]))
	case "honest":
		a := t.fed.actor(randN(honestActors))
		return t.signed(ctx, a, honestActivity(a, t.urls, n), nil)
	case "follow_flood":
		// Ever new actors on one host, each a first contact: a key fetch, a follower, an Accept to deliver.
		a := t.fed.actor(len(t.fed.instances)*(honestActors+int(n)) + 0)
		return t.signed(ctx, a, mustJSON(map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
			"id": a.IRI + "/follows/" + strconv.FormatInt(n, 10), "type": "Follow", "actor": a.IRI, "object": t.urls.Actor()}), nil)
	case "bad_digest":
		a := t.fed.actor(randN(honestActors))
		return t.signed(ctx, a, honestActivity(a, t.urls, n), []byte(`{"type":"Delete"}`))
	case "unsigned":
		big := strings.Repeat("x", 60<<10)
		return t.do(ctx, http.MethodPost, t.urls.SharedInbox(), []byte(`{"type":"Create"}`), map[string]string{"Content-Type": "application/activity+json", "X-Junk": big})
	case "oversized":
		return t.do(ctx, http.MethodPost, t.urls.SharedInbox(), bytes.Repeat([]byte("a"), 2<<20), map[string]string{"Content-Type": "application/activity+json"})
	case "random_method":
		method := fmt.Sprintf("M%08X", randN(1<<30))
		return t.do(ctx, method, t.urls.Base+"/"+strconv.FormatInt(n, 36), nil, nil)
	}
	return 0
}

// honestActivity is a's n-th activity: a Like of the memo, or the undoing of a's previous one, or a signature
// reply (which a's later replies only comment).
func honestActivity(a actor, urls content.URLs, n int64) []byte {
	id := a.IRI + "/likes/" + strconv.FormatInt(n, 10)
	switch n % 3 {
	case 0:
		return mustJSON(map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Like", "actor": a.IRI, "object": urls.Memo()})
	case 1:
		return mustJSON(map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id + "/undo", "type": "Undo", "actor": a.IRI,
			"object": map[string]any{"id": a.IRI + "/likes/" + strconv.FormatInt(n-1, 10), "type": "Like", "actor": a.IRI, "object": urls.Memo()}})
	}
	b, _ := activityFor(a, kindSign, urls, time.Now())
	return b
}

// signed posts body to the shared inbox from a's instance, signed by a; with tamper, the signed body is replaced
// by tamper on the wire (the Digest no longer matches).
func (t *soakTraffic) signed(ctx context.Context, a actor, body, tamper []byte) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.urls.SharedInbox(), bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/activity+json")
	if err := httpsign.SignRequest(req, body, a.key, a.KeyID, time.Now()); err != nil {
		return 0
	}
	if tamper != nil {
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(tamper)), int64(len(tamper))
	}
	return t.roundTrip(a.inst.client, req)
}

func (t *soakTraffic) get(ctx context.Context, u string) int {
	return t.do(ctx, http.MethodGet, u, nil, map[string]string{"Accept": "text/html"})
}

func (t *soakTraffic) do(ctx context.Context, method, u string, body []byte, h map[string]string) int {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return 0
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return t.roundTrip(t.client, req)
}

func (t *soakTraffic) roundTrip(c *http.Client, req *http.Request) int {
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode
}
