package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCLI runs the memo command in-process and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestStartupErrorsAreOneClearLine(t *testing.T) {
	dir := t.TempDir()
	notAFolder := filepath.Join(dir, "file")
	if err := os.WriteFile(notAFolder, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tlsArgs := []string{"serve", "--data", dir, "--domain", "memo.example", "--acme-email", "admin@memo.example"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"domain without e-mail", []string{"serve", "--data", dir, "--domain", "memo.example"}, "MEMO_ACME_EMAIL="},
		{"domain that is an address", []string{"serve", "--data", dir, "--domain", "192.0.2.1", "--acme-email", "a@memo.example"}, "MEMO_DOMAIN="},
		{"domain with a port", []string{"serve", "--data", dir, "--domain", "memo.example:8443", "--acme-email", "a@memo.example"}, "MEMO_DOMAIN="},
		{"ACME directory over http", append(append([]string{}, tlsArgs...), "--acme-directory", "http://acme.example/dir"), "MEMO_ACME_DIRECTORY="},
		{"listen address taken", []string{"serve", "--data", dir, "--listen", busy.Addr().String()}, "MEMO_LISTEN="},
		{"https address taken", append(append([]string{}, tlsArgs...), "--listen", busy.Addr().String()), "MEMO_LISTEN="},
		{"http address taken", append(append([]string{}, tlsArgs...), "--listen", "127.0.0.1:0", "--http-listen", busy.Addr().String()), "MEMO_HTTP_LISTEN="},
		{"data folder is a file", []string{"serve", "--data", notAFolder}, "MEMO_DATA="},
		{"data folder under a file", []string{"serve", "--data", filepath.Join(notAFolder, "sub")}, "cannot create the data folder"},
		{"bad database URL", []string{"serve", "--data", dir, "--database", "mysql://x@y/z"}, "MEMO_DATABASE="},
		{"unreachable postgres", []string{"serve", "--data", dir, "--database", "postgres://nobody@127.0.0.1:1/nodb?connect_timeout=2"}, "MEMO_DATABASE="},
		{"postgres URL without host", []string{"serve", "--data", dir, "--database", "postgres://"}, "MEMO_DATABASE="},
		{"public URL without scheme", []string{"serve", "--data", dir, "--public-url", "memo.example"}, "MEMO_PUBLIC_URL="},
		{"public URL with a path", []string{"serve", "--data", dir, "--public-url", "https://memo.example/sub"}, "MEMO_PUBLIC_URL="},
		{"public URL ftp", []string{"serve", "--data", dir, "--public-url", "ftp://memo.example"}, "MEMO_PUBLIC_URL="},
		{"listen without port", []string{"serve", "--data", dir, "--listen", "localhost"}, "MEMO_LISTEN="},
		{"bad username", []string{"serve", "--data", dir, "--username", "no spaces"}, "MEMO_USERNAME="},
		{"bad boolean", []string{"serve", "--data", dir, "--allow-private-networks", "maybe"}, "MEMO_ALLOW_PRIVATE_NETWORKS="},
		{"no signing phrase", []string{"serve", "--data", dir, "--signing-phrases", " , "}, "MEMO_SIGNING_PHRASES="},
		{"punctuation-only phrase", []string{"serve", "--data", dir, "--signing-phrases", "je signe,!!"}, "MEMO_SIGNING_PHRASES="},
		{"bad acknowledge", []string{"serve", "--data", dir, "--acknowledge", "sometimes"}, "MEMO_ACKNOWLEDGE="},
		{"bad trusted proxy", []string{"serve", "--data", dir, "--trusted-proxies", "10.0.0.0/8,proxy.example"}, "MEMO_TRUSTED_PROXIES="},
		{"metrics listen without port", []string{"serve", "--data", dir, "--metrics-listen", "localhost"}, "MEMO_METRICS_LISTEN="},
		{"metrics on the public listener", []string{"serve", "--data", dir, "--metrics-listen", "127.0.0.1:8080"}, "MEMO_METRICS_LISTEN="},
		{"refused kept for no day", []string{"serve", "--data", dir, "--refused-max-days", "0"}, "MEMO_REFUSED_MAX_DAYS"},
		{"refused rows not a number", []string{"serve", "--data", dir, "--refused-max-rows", "lots"}, "MEMO_REFUSED_MAX_ROWS="},
		{"negative follow limit", []string{"serve", "--data", dir, "--follow-limit", "-5"}, "MEMO_FOLLOW_LIMIT="},
		{"delivery lease not a duration", []string{"serve", "--data", dir, "--delivery-lease", "soon"}, `MEMO_DELIVERY_LEASE="soon": give a duration of at least 100ms`},
		{"delivery lease too short", []string{"serve", "--data", dir, "--delivery-lease", "10ms"}, "MEMO_DELIVERY_LEASE="},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			if code == 0 {
				t.Fatalf("exit 0, want non-zero; stderr: %s", stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Fatalf("stderr %q does not name %q", stderr, c.want)
			}
			if first := strings.SplitN(strings.TrimSpace(stderr), "\n", 2)[0]; !strings.Contains(first, c.want) {
				t.Fatalf("the first line %q should say what to fix (%q)", first, c.want)
			}
		})
	}
}

func TestEnvironmentSettingsAreRead(t *testing.T) {
	t.Setenv("MEMO_PUBLIC_URL", "not a url")
	code, _, stderr := runCLI(t, "serve", "--data", t.TempDir())
	if code == 0 || !strings.Contains(stderr, "MEMO_PUBLIC_URL=\"not a url\"") {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	// A flag wins over the environment.
	t.Setenv("MEMO_LISTEN", "nonsense")
	code, out, stderr := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "memo ") {
		t.Fatalf("version: code %d out %q err %q", code, out, stderr)
	}
}

// The delivery lease is read here, not by the worker: unset it leaves the worker's default (0), set it is the
// duration given, from the environment or the flag.
func TestDeliveryLeaseSetting(t *testing.T) {
	for _, c := range []struct {
		env, flag string
		want      time.Duration
	}{{"", "", 0}, {"3s", "", 3 * time.Second}, {"3s", "250ms", 250 * time.Millisecond}} {
		t.Setenv("MEMO_DELIVERY_LEASE", c.env)
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		cfg, finish := bindConfig(fs)
		args := []string{"--data", t.TempDir()}
		if c.flag != "" {
			args = append(args, "--delivery-lease", c.flag)
		}
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := finish(); err != nil {
			t.Fatalf("env %q flag %q: %v", c.env, c.flag, err)
		}
		if got := cfg.parsed.deliveryLease; got != c.want {
			t.Errorf("env %q flag %q: lease %v; want %v", c.env, c.flag, got, c.want)
		}
	}
}

func TestHelpEverywhere(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"serve", "--help"}, {"publish", "--help"}, {"version", "--help"}} {
		code, out, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d, stderr %s", args, code, stderr)
		}
		if !strings.Contains(out+stderr, "Usage") {
			t.Fatalf("%v: no usage text in %q", args, out+stderr)
		}
	}
	_, _, stderr := runCLI(t, "serve", "--help")
	for _, env := range []string{"MEMO_LISTEN", "MEMO_PUBLIC_URL", "MEMO_DATABASE", "MEMO_DATA", "MEMO_USERNAME", "MEMO_DISPLAY_NAME", "MEMO_ALLOW_PRIVATE_NETWORKS"} {
		if !strings.Contains(stderr, env) {
			t.Errorf("serve --help does not mention %s", env)
		}
	}
}

func TestKeyIsGeneratedOnceWithMode0600(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "rev.md")
	os.WriteFile(md, []byte("# Titre\n\nTexte.\n"), 0o644)
	if code, _, stderr := runCLI(t, "publish", md, "--changelog", "first", "--data", dir); code != 0 {
		t.Fatalf("publish: %s", stderr)
	}
	st, err := os.Stat(filepath.Join(dir, "actor-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v, want 0600", st.Mode().Perm())
	}
	before, _ := os.ReadFile(filepath.Join(dir, "actor-key.pem"))
	if code, _, stderr := runCLI(t, "publish", md, "--changelog", "second", "--data", dir); code != 0 {
		t.Fatalf("publish: %s", stderr)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "actor-key.pem"))
	if !bytes.Equal(before, after) {
		t.Fatal("the key changed between two starts")
	}
}

func TestPublishRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.md")
	os.WriteFile(empty, []byte("  \n\n"), 0o644)
	latin1 := filepath.Join(dir, "latin1.md")
	os.WriteFile(latin1, []byte("# M\xe9mo\n\nSign\xe9.\n"), 0o644)
	noTitle := filepath.Join(dir, "notitle.md")
	os.WriteFile(noTitle, []byte("Just text.\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"publish", empty, "--changelog", "x", "--data", dir}, "empty"},
		{[]string{"publish", latin1, "--changelog", "x", "--data", dir}, "not valid UTF-8"},
		{[]string{"publish", noTitle, "--changelog", "x", "--data", dir}, "no title"},
		{[]string{"publish", filepath.Join(dir, "missing.md"), "--changelog", "x", "--data", dir}, "no such file"},
		{[]string{"publish", empty, "--data", dir}, "--changelog"},
		{[]string{"publish", "--changelog", "x", "--data", dir}, "FILE"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: code %d, stderr %q, want it to mention %q", c.args, code, stderr, c.want)
		}
	}
	// Nothing was stored by the refusals: the database was never even created.
	if _, err := os.Stat(filepath.Join(dir, "memo.db")); err == nil {
		t.Fatal("a refused publish created the database")
	}
}
