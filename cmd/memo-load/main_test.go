package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for memo-load when the tool starts its bare WebFinger process.
func TestMain(m *testing.M) {
	if os.Getenv(bareEnv) != "" {
		if err := serveBare(); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// requiredFields are the figures issue 6 asks for in the JSON line.
var requiredFields = []string{
	"inbox_per_s", "inbox_p99_ms", "inbox_lost", "inbox_duplicates", "inbox_ratio", "fanout_instances", "fanout_s",
	"fanout_ratio", "rsa_sign_per_s", "rsa_verify_per_s", "home_per_s", "webfinger_per_s", "webfinger_ratio",
	"actor_per_s", "sigpage_p99_ms_small", "sigpage_p99_ms_large", "search_p99_ms_large", "rss_mb",
	"client_ceiling_per_s", "actor_ratio", "home_ratio", "memo_ratio", "inbox_applied_after_burst_s",
}

// runTiny runs the tool end to end in its tiny mode and returns the decoded last line of stdout.
func runTiny(t *testing.T, args ...string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, append([]string{"--tiny"}, args...), &stdout, &stderr); err != nil {
		t.Fatalf("memo-load --tiny: %v\nstderr:\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	var got map[string]any
	if err := json.Unmarshal([]byte(last), &got); err != nil {
		t.Fatalf("last line of stdout is not JSON: %q (%v)\nstdout:\n%s", last, err, stdout.String())
	}
	for _, f := range requiredFields {
		if _, ok := got[f].(float64); !ok {
			t.Errorf("JSON lacks the number %s: %s", f, last)
		}
	}
	if !strings.Contains(stdout.String(), "webfinger_ratio") {
		t.Errorf("no table before the JSON line:\n%s", stdout.String())
	}
	t.Logf("stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
	return got
}

// checkFigures checks what must hold on any machine: nothing lost or doubled, every scenario produced a figure.
func checkFigures(t *testing.T, got map[string]any, database string) {
	t.Helper()
	if got["database"] != database {
		t.Errorf("database = %v, want %s", got["database"], database)
	}
	for _, f := range []string{"inbox_lost", "inbox_duplicates"} {
		if got[f] != 0.0 {
			t.Errorf("%s = %v, want 0", f, got[f])
		}
	}
	for _, f := range []string{"inbox_per_s", "inbox_ratio", "rsa_sign_per_s", "rsa_verify_per_s", "home_per_s",
		"webfinger_per_s", "webfinger_ratio", "actor_per_s", "actor_ratio", "home_ratio", "memo_ratio", "client_ceiling_per_s", "sigpage_p99_ms_small", "sigpage_p99_ms_large", "search_p99_ms_large", "rss_mb"} {
		if v, _ := got[f].(float64); v <= 0 {
			t.Errorf("%s = %v, want a positive figure", f, got[f])
		}
	}
	if got["inbox_refused"] != 0.0 {
		t.Errorf("inbox_refused = %v, want 0", got["inbox_refused"])
	}
	if got["inbox_stored_rows"] != got["n"] {
		t.Errorf("inbox_stored_rows = %v, want n = %v", got["inbox_stored_rows"], got["n"])
	}
	if rows, _ := got["sigpage_rows_large"].(float64); rows < 2000 {
		t.Errorf("sigpage_rows_large = %v, want the 2,000 seeded rows at least", got["sigpage_rows_large"])
	}
	// The fan-out must reach every instance: a failure is a failed run, not a figure left out.
	if got["fanout_error"] != nil {
		t.Errorf("fan-out failed: %v", got["fanout_error"])
	}
	if v, _ := got["fanout_s"].(float64); v <= 0 {
		t.Errorf("fanout_s = %v, want a positive duration", got["fanout_s"])
	}
}

func TestTinyRunSQLite(t *testing.T) {
	checkFigures(t, runTiny(t), "sqlite")
}

func TestTinyRunPostgres(t *testing.T) {
	dsn := os.Getenv("MEMO_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("MEMO_TEST_POSTGRES is not set: the SQLite run covers the tool")
	}
	checkFigures(t, runTiny(t, "--database", dsn), "postgresql")
}

// TestTinySoak runs the soak for a few seconds: four samples with every figure, every kind of traffic sent, the
// honest traffic and the pages answered, and no junk accepted.
func TestTinySoak(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"--tiny", "--soak", "4s", "-c", "4"}, &stdout, &stderr); err != nil {
		t.Fatalf("memo-load --soak: %v\nstderr:\n%s", err, stderr.String())
	}
	var got soakResult
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &got); err != nil {
		t.Fatalf("stdout is not the soak's JSON: %v\n%s", err, stdout.String())
	}
	if len(got.Samples) != 4 {
		t.Fatalf("%d samples, want start, middle, end and idle: %+v", len(got.Samples), got.Samples)
	}
	for _, s := range got.Samples {
		if s.RSSMB <= 0 || s.DatabaseMB <= 0 || s.Goroutines <= 0 || s.Threads <= 0 || s.OpenFiles <= 0 {
			t.Errorf("sample %+v lacks a figure", s)
		}
	}
	for _, k := range soakKinds {
		if got.Sent[k.name] == 0 && k.weight >= 10 {
			t.Errorf("no %s traffic sent: %v", k.name, got.Sent)
		}
	}
	for key, n := range got.Status {
		kind, code, _ := strings.Cut(key, " ")
		switch kind {
		case "honest", "follow_flood":
			if code != "202" {
				t.Errorf("%d %s requests answered %s", n, kind, code)
			}
		case "page", "search":
			if code != "200" {
				t.Errorf("%d %s requests answered %s", n, kind, code)
			}
		default:
			if strings.HasPrefix(code, "2") || code == "0" {
				t.Errorf("%d %s requests answered %s: junk must be refused", n, kind, code)
			}
		}
	}
	if len(got.LevelOff) != 4 {
		t.Errorf("level_off = %v", got.LevelOff)
	}
	t.Logf("stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
}

func TestOptions(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseOptions([]string{"--quick"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if o.Requests != 1500 || o.Instances != 50 || o.Concurrency != 64 || o.Signatures != 50_000 {
		t.Errorf("quick defaults = %+v", o)
	}
	o, err = parseOptions(nil, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if o.Requests != 20_000 || o.Instances != 1_000 || o.Signatures != 1_000_000 {
		t.Errorf("full defaults = %+v", o)
	}
	for _, bad := range [][]string{{"-n", "2"}, {"-k", "-1"}, {"extra"}} {
		if _, err := parseOptions(bad, &stderr); err == nil {
			t.Errorf("parseOptions(%q) accepted", bad)
		}
	}
}

func TestKindsCoverEveryInstance(t *testing.T) {
	const n, k = 30, 5
	perInstance := map[int]map[kind]int{}
	for g := range n {
		i := g % k
		if perInstance[i] == nil {
			perInstance[i] = map[kind]int{}
		}
		perInstance[i][kindOf(g, k)]++
	}
	for i := range k {
		for _, kd := range []kind{kindSign, kindFollow, kindBoost} {
			if perInstance[i][kd] != 2 {
				t.Errorf("instance %d sends %d of kind %d, want 2", i, perInstance[i][kd], kd)
			}
		}
	}
}

func TestActivityType(t *testing.T) {
	for body, want := range map[string]string{
		`{"@context":["https://www.w3.org/ns/activitystreams",{"toot":"x"}],"id":"a","type":"Update","object":{"type":"Article"}}`: "Update",
		`{"object":{"type":"Note"},"type":"Create"}` + "\n":                                                                        "Create",
		`{"object":{"type":"Note"}}`:             "",
		`{"type":"Like","zone":{"type":"Note"}}`: "Like",
		`{"type":"Like","x":"a\"type\":\"Note"}`: "Like",
		`{"id":"a"}`:                             "",
		`not json`:                               "",
	} {
		if got := activityType([]byte(body)); got != want {
			t.Errorf("activityType(%s) = %q, want %q", body, got, want)
		}
	}
}
