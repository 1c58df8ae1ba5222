package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The doctor's checks of HTTPS: the certificate served at the public URL and, with --domain, the plain HTTP side
// that ACME's HTTP-01 challenges and http:// visitors reach.

func (d *doctor) checkTLS(ctx context.Context) checkResult {
	const name = "certificate"
	u, _ := url.Parse(d.cfg.PublicURL)
	if u.Scheme == "http" {
		if d.loopback && d.cfg.AllowPrivate {
			return passed(name, "plain http on loopback with private networks allowed (a local setup)")
		}
		return warned(name, "the public URL is plain http: fediverse servers fetch and deliver over https only", "serve https: `memo serve --domain "+hostOnly(u.Host)+"` or a TLS reverse proxy, and set MEMO_PUBLIC_URL=https://"+hostOnly(u.Host))
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: &tls.Config{ServerName: u.Hostname(), RootCAs: d.roots}}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return failed(name, fmt.Sprintf("%s: %v", addr, err), "serve a certificate for "+u.Hostname()+" from a public authority: `memo serve --domain "+u.Hostname()+"`, or fix the proxy's certificate")
	}
	defer conn.Close()
	leaf := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
	left := time.Until(leaf.NotAfter)
	if left < certMinValidity {
		return failed(name, fmt.Sprintf("the certificate for %s expires %s (in %s)", u.Hostname(), leaf.NotAfter.UTC().Format(time.RFC3339), left.Round(time.Hour)), "renewal is failing: check that ports 80/443 reach the server (memo --domain) or the proxy's renewal logs")
	}
	return passed(name, fmt.Sprintf("valid for %s, issued by %s, until %s", u.Hostname(), leaf.Issuer.CommonName, leaf.NotAfter.UTC().Format("2006-01-02")))
}

// checkPlainHTTP asks the domain's port 80 (u) for its home page: memo serve --domain answers there with a redirect
// to https, and Let's Encrypt's HTTP-01 challenges arrive there. Without it certificates are still obtained and
// renewed through TLS-ALPN-01 on port 443, hence a warning rather than a failure.
func (d *doctor) checkPlainHTTP(ctx context.Context, u string) checkResult {
	const name = "plain http"
	want := "https://" + d.cfg.Domain + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return failed(name, err.Error(), "check MEMO_DOMAIN")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return warned(name, fmt.Sprintf("%s does not answer: %v", u, err),
			"let port 80 reach memo (MEMO_HTTP_LISTEN, default :80; a firewall may hold it): HTTP-01 challenges and http:// links arrive there, else certificates rely on TLS-ALPN-01 on 443 alone")
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, want) {
		return warned(name, fmt.Sprintf("%s answered %s (Location %q), not memo's redirect to %s", u, resp.Status, loc, want),
			"another server holds port 80: stop it or let it pass /.well-known/acme-challenge/ to memo's MEMO_HTTP_LISTEN")
	}
	return passed(name, fmt.Sprintf("%s redirects to %s (ACME HTTP-01 challenges can reach memo)", u, want))
}
