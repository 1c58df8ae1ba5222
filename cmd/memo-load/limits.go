package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"net"
	"net/http"
	"runtime"
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

// bareWebFinger serves a fixed WebFinger document with nothing but net/http: the ceiling any Go server reaches on
// this machine for that request.
func bareWebFinger(ctx context.Context) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	doc := []byte(`{"subject":"acct:memo@127.0.0.1","aliases":["http://127.0.0.1/users/memo"],"links":[{"rel":"self","type":"application/activity+json","href":"http://127.0.0.1/users/memo"},{"rel":"http://webfinger.net/rel/profile-page","type":"text/html","href":"http://127.0.0.1/"},{"rel":"http://ostatus.org/schema/1.0/subscribe","template":"http://127.0.0.1/interact?uri={uri}"}]}`)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jrd+json")
		w.Write(doc)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}
