package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// runHealthcheck asks the server that the same settings describe for /healthz: the container image's health
// check, which has no shell or curl to do it.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("healthcheck", "", "Ask the local server for /healthz; exit status 0 when it answers ok.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := finish(); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	scheme, tlsCfg := "http", (*tls.Config)(nil)
	if cfg.Domain != "" {
		// The certificate names the domain, not the loopback address asked.
		scheme, tlsCfg = "https", &tls.Config{ServerName: cfg.Domain}
	}
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	url := scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
	resp, err := client.Get(url)
	if err != nil {
		return fmt.Errorf("%s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
