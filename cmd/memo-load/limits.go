package main

import (
	"bufio"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rsaRates measures RSA-2048 PKCS#1 v1.5 SHA-256 (what HTTP signatures use) on every core at once for d each:
// signatures per second and verifications per second this machine can do in total.
func rsaRates(key *rsa.PrivateKey, d time.Duration) (signPerS, verifyPerS float64) {
	digest := sha256.Sum256([]byte("(request-target): post /inbox\nhost: example\ndate: now\ndigest: SHA-256=x"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	run := func(op func()) float64 {
		var n atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		stop := start.Add(d)
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for time.Now().Before(stop) {
					op()
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return float64(n.Load()) / time.Since(start).Seconds()
	}
	signPerS = run(func() { rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:]) })
	verifyPerS = run(func() { rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig) })
	return signPerS, verifyPerS
}

// bareEnv makes the memo-load binary (or its test binary) serve the bare WebFinger handler instead of measuring.
const bareEnv = "MEMO_LOAD_BARE_WEBFINGER"

var bareDoc = []byte(`{"subject":"acct:memo@127.0.0.1","aliases":["http://127.0.0.1/users/memo"],"links":[{"rel":"self","type":"application/activity+json","href":"http://127.0.0.1/users/memo"},{"rel":"http://webfinger.net/rel/profile-page","type":"text/html","href":"http://127.0.0.1/"},{"rel":"http://ostatus.org/schema/1.0/subscribe","template":"http://127.0.0.1/interact?uri={uri}"}]}`)

// serveBare is the bare process: a fixed WebFinger document with nothing but net/http, the ceiling any Go server
// reaches on this machine for that request. It prints its address and serves until stdin closes.
func serveBare() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jrd+json")
		w.Write(bareDoc)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	fmt.Println("http://" + ln.Addr().String())
	io.Copy(io.Discard, os.Stdin)
	return srv.Close()
}

// bareWebFinger starts the bare handler in a process of its own (this same binary), so that it competes with the
// load generator for the cores exactly as memo serve does.
func bareWebFinger(ctx context.Context) (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), bareEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start the bare WebFinger process: %w", err)
	}
	stop := func() { stdin.Close(); cmd.Wait() }
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("bare WebFinger process: %w", err)
	}
	return strings.TrimSpace(line), stop, nil
}
