package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// These tests run the real binary: `memo serve` as child processes that are killed with SIGKILL or stopped with
// SIGTERM, `memo publish` and `memo retract` beside them on the same database, and remote instances on loopback
// that verify every signature.

// memoBinary builds cmd/memo into the test's temporary folder (the build cache makes the second build a link).
func memoBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "memo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var (
	binMu sync.Mutex
	bins  = map[*testing.T]string{}
)

// binaryFor returns the binary built for this test, building it on first use.
func binaryFor(t *testing.T) string {
	binMu.Lock()
	defer binMu.Unlock()
	if b, ok := bins[t]; ok {
		return b
	}
	b := memoBinary(t)
	bins[t] = b
	t.Cleanup(func() {
		binMu.Lock()
		delete(bins, t)
		binMu.Unlock()
	})
	return b
}

// syncBuffer collects a child's output for the failure message.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type server struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
	base string
}

// memoEnv is the environment of one process: its data folder and database, and the public URL every replica shares.
func memoEnv(data, database, publicURL string) []string {
	env := append(os.Environ(),
		"MEMO_DATA="+data,
		"MEMO_PUBLIC_URL="+publicURL,
		"MEMO_ALLOW_PRIVATE_NETWORKS=true",
		"MEMO_DELIVERY_LEASE=3s",
		"MEMO_LOG_LEVEL=debug",
	)
	if database != "" {
		env = append(env, "MEMO_DATABASE="+database)
	}
	return env
}

func startServe(t *testing.T, name string, env []string) *server {
	t.Helper()
	return startOn(t, name, freeAddr(t), env)
}

// startOn starts `memo serve` listening on addr with env, and waits until it answers /healthz.
func startOn(t *testing.T, name, addr string, env []string) *server {
	t.Helper()
	s := spawn(t, name, "http://"+addr, append(append([]string{}, env...), "MEMO_LISTEN="+addr))
	testwait.Until(t, name+" to answer /healthz", func() bool {
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("%s exited at start: %v\n%s", name, err, s.out.String())
		default:
		}
		resp, err := http.Get(s.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return s
}

// spawn starts `memo serve` with env, killed when the test ends (its output logged if the test failed).
func spawn(t *testing.T, name, base string, env []string) *server {
	t.Helper()
	cmd := exec.Command(binaryFor(t), "serve")
	cmd.Env = env
	return spawnCmd(t, name, base, cmd)
}

// spawnCmd starts cmd, a `memo serve` however it is launched, as spawn does.
func spawnCmd(t *testing.T, name, base string, cmd *exec.Cmd) *server {
	t.Helper()
	s := &server{t: t, name: name, out: &syncBuffer{}, done: make(chan error, 1), base: base, cmd: cmd}
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("%s output:\n%s", name, s.out.String())
		}
	})
	return s
}

func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	err := <-s.done
	s.done <- err
}

// memoRun runs a one-shot subcommand (publish, retract) as its own process.
func memoRun(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binaryFor(t), args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("memo %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// newRemote is a simulated instance (fedtest) whose inboxes answer after delay; trustRemotes gives it our key.
func newRemote(t *testing.T, delay time.Duration) *fedtest.Instance {
	inst := fedtest.NewInstance(t, "remote")
	inst.SetFailure(fedtest.Failure{Delay: delay})
	return inst
}

// trustRemotes makes the remotes verify our deliveries with the actor's public key, and hold them to what our
// deliveries promise (fedtest.MemoDelivery); until then they refuse every delivery.
func trustRemotes(remotes []*fedtest.Instance, publicURL string, pub *rsa.PublicKey) {
	keyID := content.URLs{Base: publicURL, Username: "memo"}.KeyID()
	for _, r := range remotes {
		r.TrustKey(keyID, pub)
		r.SetCheck(fedtest.MemoDelivery(keyID))
	}
}

// slowRemotes makes every remote answer after delay from now on.
func slowRemotes(remotes []*fedtest.Instance, delay time.Duration) {
	for _, r := range remotes {
		r.SetFailure(fedtest.Failure{Delay: delay})
	}
}

// addFollowers makes the remotes' accounts follow the memo: the first half of the remotes through a shared inbox,
// the others (GoToSocial-like) each through their own inbox.
func addFollowers(t *testing.T, s *storage.Store, remotes []*fedtest.Instance, perRemote int) (inboxes int) {
	t.Helper()
	err := s.InTx(context.Background(), func(tx *storage.Tx) error {
		for i, r := range remotes {
			shared := i < len(remotes)/2
			if shared {
				inboxes++
			} else {
				inboxes += perRemote
			}
			for k := 0; k < perRemote; k++ {
				f := storage.Follower{
					ActorIRI: fmt.Sprintf("%s/users/u%d", r.Base, k), FollowIRI: fmt.Sprintf("%s/follows/%d", r.Base, k),
					Inbox: fmt.Sprintf("%s/users/u%d/inbox", r.Base, k), Domain: r.Host,
				}
				if shared {
					f.SharedInbox = r.SharedInbox()
				}
				if err := tx.AddFollower(context.Background(), f); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return inboxes
}

func writeRevision(t *testing.T, dir string, n int) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("memo-%d.md", n))
	text := fmt.Sprintf("# Pour du libre et de l'open en conscience\n\nRévision de test numéro %d.\n\nUn paragraphe.\n", n)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// deliveryRows reads the queue of the given activities.
type deliveryRow struct {
	ID       int64  `db:"id"`
	Activity string `db:"activity_iri"`
	Inbox    string `db:"inbox"`
	State    string `db:"state"`
	LeasedBy string `db:"leased_by"`
}

func queueRows(t *testing.T, s *storage.Store) []deliveryRow {
	t.Helper()
	var rows []deliveryRow
	if err := s.DB().Select(&rows, `SELECT id, activity_iri, inbox, state, leased_by FROM deliveries ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	return rows
}

// rowKey names a delivery across all remotes; remoteKey names it inside its remote, as the remote counts.
func rowKey(d deliveryRow) string { return d.Activity + " " + d.Inbox }

func remoteKey(d deliveryRow) string {
	u, _ := url.Parse(d.Inbox)
	return d.Activity + " " + u.Path
}

func remoteFor(remotes []*fedtest.Instance, inbox string) *fedtest.Instance {
	u, _ := url.Parse(inbox)
	for _, r := range remotes {
		if r.Host == u.Host {
			return r
		}
	}
	return nil
}

func allDelivered(t *testing.T, s *storage.Store, want int) bool {
	rows := queueRows(t, s)
	if len(rows) < want {
		return false
	}
	for _, d := range rows {
		if d.State != storage.DeliveryDelivered {
			return false
		}
	}
	return true
}

// checkDeliveries asserts that every queued (activity, inbox) reached its remote, and that any one received twice
// is in allowedTwice: only requests in flight when a process died may be repeated.
func checkDeliveries(t *testing.T, s *storage.Store, remotes []*fedtest.Instance, allowedTwice map[string]bool) (repeated int) {
	t.Helper()
	for _, d := range queueRows(t, s) {
		n := remoteFor(remotes, d.Inbox).Tally().Activities[remoteKey(d)]
		switch {
		case n == 0:
			t.Errorf("%s never reached %s", d.Activity, d.Inbox)
		case n > 1 && !allowedTwice[rowKey(d)]:
			t.Errorf("%s reached %s %d times, and it was not in flight in a killed process", d.Activity, d.Inbox, n)
		case n > 1:
			repeated++
		}
	}
	for _, r := range remotes {
		if bad := r.Refused(); len(bad) > 0 {
			t.Errorf("%s refused requests: %v", r.Host, bad)
		}
	}
	return repeated
}

func publicKeyOf(t *testing.T, s *storage.Store, data string) *rsa.PublicKey {
	t.Helper()
	pemText, err := s.Meta(context.Background(), "actor_key")
	if err != nil {
		b, ferr := os.ReadFile(filepath.Join(data, "actor-key.pem"))
		if ferr != nil {
			t.Fatalf("actor key: %v / %v", err, ferr)
		}
		pemText = string(b)
	}
	k, err := httpsign.ParsePrivateKey([]byte(pemText))
	if err != nil {
		t.Fatal(err)
	}
	return &k.PublicKey
}

func openStore(t *testing.T, dsn string) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A kill -9 in the middle of a fan-out loses nothing: after a restart every inbox gets the revision, and only the
// requests that were in flight in the killed process may arrive twice. Then SIGTERM: the server stops within its
// grace period and hands back what it held.
func TestKill9MidFanOutLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	data := t.TempDir()
	db := filepath.Join(data, "memo.db")
	publicURL := "http://" + freeAddr(t)
	env := memoEnv(data, "", publicURL)
	var remotes []*fedtest.Instance
	for i := 0; i < 12; i++ {
		remotes = append(remotes, newRemote(t, 300*time.Millisecond))
	}

	first := startServe(t, "serve-1", env)
	store := openStore(t, db)
	trustRemotes(remotes, publicURL, publicKeyOf(t, store, data))
	inboxes := addFollowers(t, store, remotes, 4)
	out := memoRun(t, env, "publish", writeRevision(t, data, 2), "--changelog", "test revision")
	if !strings.Contains(out, "published revision 2") {
		t.Fatalf("publish said %q", out)
	}
	want := 2 * inboxes // Update{Article} and Create{Note} to each inbox

	// The server picks the new rows up by itself; kill it once some requests are under way and none is finished.
	testwait.Until(t, "the fan-out to start", func() bool {
		n := 0
		for _, r := range remotes {
			n += r.Tally().Total()
		}
		return n >= 8
	})
	first.kill()
	inflight := map[string]bool{}
	rows := queueRows(t, store)
	if len(rows) != want {
		t.Fatalf("queue has %d rows, want %d", len(rows), want)
	}
	for _, d := range rows {
		if d.State == storage.DeliveryInflight {
			inflight[rowKey(d)] = true
		}
	}
	if len(inflight) == 0 {
		t.Fatal("no delivery was in flight at the kill: the test did not interrupt anything")
	}
	if allDelivered(t, store, want) {
		t.Fatal("everything was delivered before the kill")
	}

	metricsAddr := freeAddr(t)
	second := startServe(t, "serve-2", append(append([]string{}, env...), "MEMO_METRICS_LISTEN="+metricsAddr))
	testwait.Until(t, "every delivery to be recorded after the restart", func() bool { return allDelivered(t, store, want) })
	repeated := checkDeliveries(t, store, remotes, inflight)
	t.Logf("%d deliveries in flight at the kill, %d of them sent again", len(inflight), repeated)

	// memo retract beside the running server: Delete{Tombstone} reaches every inbox.
	out = memoRun(t, env, "retract", "lesson-1")
	if !strings.Contains(out, "retracted") {
		t.Fatalf("retract said %q", out)
	}
	want += inboxes
	testwait.Until(t, "the Delete to be delivered", func() bool { return allDelivered(t, store, want) })
	checkDeliveries(t, store, remotes, inflight)
	deletes := 0
	for _, r := range remotes {
		deletes += r.Tally().Kinds["Delete Tombstone"]
	}
	if deletes != inboxes {
		t.Errorf("Delete{Tombstone} received %d times, want %d", deletes, inboxes)
	}
	req, _ := http.NewRequest("GET", second.base+"/impulses/lesson-1", nil)
	req.Header.Set("Accept", "application/activity+json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusGone {
		t.Errorf("retracted impulse answered %v, %v; want 410", resp.Status, err)
	} else {
		resp.Body.Close()
	}
	// Metrics are served on their own listener only: the public one does not know /metrics.
	if resp, err := http.Get(second.base + "/metrics"); err != nil {
		t.Errorf("/metrics on the public listener: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("/metrics on the public listener answered %d, want 404", resp.StatusCode)
		}
	}
	if resp, err := http.Get("http://" + metricsAddr + "/metrics"); err != nil {
		t.Errorf("metrics: %v", err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{"memo_deliveries_sent_total", `memo_delivery_queue{state="delivered"} ` + fmt.Sprint(want), "memo_http_request_duration_seconds"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	}
	report := memoRun(t, env, "deliveries")
	if !strings.Contains(report, "delivered") || !strings.Contains(report, fmt.Sprint(want)) {
		t.Errorf("memo deliveries printed:\n%s", report)
	}

	// SIGTERM while requests hang: the server stops and puts back what it held.
	slowRemotes(remotes, time.Hour)
	memoRun(t, env, "publish", writeRevision(t, data, 3), "--changelog", "another")
	testwait.Until(t, "deliveries of revision 3 to be in flight", func() bool {
		for _, d := range queueRows(t, store) {
			if d.State == storage.DeliveryInflight {
				return true
			}
		}
		return false
	})
	second.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-second.done:
		second.done <- err
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
	for _, d := range queueRows(t, store) {
		if d.State == storage.DeliveryInflight {
			t.Errorf("delivery %d still in flight after a graceful stop (leased by %s)", d.ID, d.LeasedBy)
		}
	}
}

// Two replicas on one PostgreSQL share the queue: each delivery is sent once; when one replica is killed, the other
// finishes its work once the lease runs out.
func TestReplicasShareTheQueue(t *testing.T) {
	if os.Getenv(storagetest.EnvPostgres) == "" {
		t.Skipf("%s is not set: the replicas test needs PostgreSQL", storagetest.EnvPostgres)
	}
	dsn := storagetest.PostgresDSN(t) // fails, not skips, when the server is absent
	publicURL := "http://" + freeAddr(t)
	dataA, dataB := t.TempDir(), t.TempDir()
	envA, envB := memoEnv(dataA, dsn, publicURL), memoEnv(dataB, dsn, publicURL)
	// More domains than one replica may hold at once (16 requests): per-domain limits then leave work for both.
	var remotes []*fedtest.Instance
	for i := 0; i < 30; i++ {
		remotes = append(remotes, newRemote(t, 150*time.Millisecond))
	}
	a := startServe(t, "replica-a", envA)
	b := startServe(t, "replica-b", envB)
	store := openStore(t, dsn)
	trustRemotes(remotes, publicURL, publicKeyOf(t, store, dataA))
	inboxes := addFollowers(t, store, remotes, 2)

	memoRun(t, envA, "publish", writeRevision(t, dataA, 2), "--changelog", "shared queue")
	want := 2 * inboxes
	testwait.Until(t, "the first fan-out", func() bool { return allDelivered(t, store, want) })
	if n := checkDeliveries(t, store, remotes, nil); n != 0 {
		t.Errorf("%d deliveries sent twice in normal operation", n)
	}
	sentBy := func(s *server) int { return strings.Count(s.out.String(), `"msg":"delivered"`) }
	if sentBy(a) == 0 || sentBy(b) == 0 || sentBy(a)+sentBy(b) != want {
		t.Errorf("replica A sent %d, B %d; want both to share %d", sentBy(a), sentBy(b), want)
	}

	// Kill A in the middle of the next fan-out.
	slowRemotes(remotes, 600*time.Millisecond)
	memoRun(t, envB, "publish", writeRevision(t, dataB, 3), "--changelog", "replica killed")
	want *= 2
	pidA := fmt.Sprintf("-%d-", a.cmd.Process.Pid)
	testwait.Until(t, "replica A to hold deliveries", func() bool {
		for _, d := range queueRows(t, store) {
			if d.State == storage.DeliveryInflight && strings.Contains(d.LeasedBy, pidA) {
				return true
			}
		}
		return false
	})
	a.kill()
	heldByA := map[string]bool{}
	for _, d := range queueRows(t, store) {
		if d.State == storage.DeliveryInflight && strings.Contains(d.LeasedBy, pidA) {
			heldByA[rowKey(d)] = true
		}
	}
	if len(heldByA) == 0 {
		t.Fatal("replica A held nothing when killed: it finished its rows already")
	}
	testwait.Until(t, "replica B to finish everything", func() bool { return allDelivered(t, store, want) })
	repeated := checkDeliveries(t, store, remotes, heldByA)
	t.Logf("replica A held %d deliveries when killed; %d reached their inbox twice", len(heldByA), repeated)
}

// memo deliveries shows the counts, the parked domains with their last error and next attempt, and recent failures.
func TestDeliveriesReport(t *testing.T) {
	data := t.TempDir()
	store := openStore(t, filepath.Join(data, "memo.db"))
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	recipients := []storage.Recipient{
		{Inbox: "https://down.example/inbox", Domain: "down.example"},
		{Inbox: "https://strict.example/users/a/inbox", Domain: "strict.example"},
		{Inbox: "https://fine.example/inbox", Domain: "fine.example"},
	}
	if err := store.InsertActivity(ctx, storage.Activity{IRI: "https://memo.example/activities/9", Type: "Update", Body: "{}"}, recipients); err != nil {
		t.Fatal(err)
	}
	claimed, err := store.ClaimDeliveries(ctx, storage.Claim{Now: now.Add(time.Second), LeaseUntil: now.Add(time.Minute), Owner: "t", Limit: 10, PerDomain: 1})
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim: %d, %v", len(claimed), err)
	}
	for _, d := range claimed {
		o := storage.Outcome{ID: d.ID, Owner: "t", Now: now}
		switch d.Domain {
		case "down.example":
			o.Error = "dial tcp: connection refused\n\x1b[31mred"
			_, err = store.MarkRetry(ctx, o, now.Add(24*time.Hour))
		case "strict.example":
			o.Status, o.Error = 403, "HTTP 403"
			_, err = store.MarkFailed(ctx, o)
		default:
			o.Status = 202
			_, err = store.MarkDelivered(ctx, o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	rule := storage.DomainRule{After: time.Hour, MinFailures: 2, Probe: 12 * time.Hour}
	for _, at := range []time.Time{now.Add(-3 * time.Hour), now} {
		if _, err := store.RecordDomainFailure(ctx, "down.example", "dial tcp: connection refused", at, rule); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.RecordDomainFailure(ctx, "flaky.example", "HTTP 502", now, rule); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "deliveries", "--data", data)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"pending    1", "delivered  1", "failed     1", "in flight  0",
		"Unavailable domains (deliveries parked, tried again at NEXT ATTEMPT): 1",
		"down.example", now.Add(12 * time.Hour).Format("2006-01-02 15:04:05Z"), "connection refused",
		"Domains failing since their last success: 1", "flaky.example", "HTTP 502",
		"https://strict.example/users/a/inbox", "403",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("a remote's error text reached the terminal raw:\n%q", out)
	}
	if code, _, stderr := runCLI(t, "deliveries", "--data", data, "--recent", "-1"); code != 2 || !strings.Contains(stderr, "--recent") {
		t.Errorf("bad --recent: exit %d, %s", code, stderr)
	}
}
