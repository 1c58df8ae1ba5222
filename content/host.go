package content

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// Hosts are compared and stored in one form only, so that a block, a copy, a signature's instance or the rule "on
// the actor's host" cannot be dodged by another spelling of the same host: `EVIL.example.`, `evil.example:443`
// and `evil。example` are all evil.example.

// hostProfile maps a host name as a resolver would (UTS #46 for lookup: case, width, IDNA to ASCII), without
// refusing labels such as "r3---sn-x" (CheckHyphens) or "_x" that real hosts carry; the result is checked below.
var hostProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false),
	idna.CheckHyphens(false), idna.StrictDomainName(false), idna.VerifyDNSLength(true))

// CanonicalHost returns hostport (a host name or IP literal as in a URL's authority, with an optional port) in
// its canonical form: lower case, IDNA in ASCII (xn--), no trailing dot, IPv6 compressed and bracketed, and no
// port when it is the default one of scheme (443 for https, 80 for http; either when scheme is "", as for a
// domain an admin types).
func CanonicalHost(scheme, hostport string) (string, error) {
	if hostport == "" {
		return "", errors.New("empty host")
	}
	host, port := hostport, ""
	bracketed := strings.HasPrefix(hostport, "[")
	switch {
	case strings.HasPrefix(hostport, "["):
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "", fmt.Errorf("host %q: unclosed [", hostport)
		}
		host, port = hostport[1:end], hostport[end+1:]
		if port != "" {
			if port[0] != ':' {
				return "", fmt.Errorf("host %q: junk after ]", hostport)
			}
			port = port[1:]
			if port == "" {
				return "", fmt.Errorf("host %q: empty port", hostport)
			}
		}
	case strings.Count(hostport, ":") == 1:
		host, port, _ = strings.Cut(hostport, ":")
		if port == "" {
			return "", fmt.Errorf("host %q: empty port", hostport)
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strings.HasPrefix(port, "0") {
			return "", fmt.Errorf("host %q: bad port %q", hostport, port)
		}
		if (n == 443 && scheme != "http") || (n == 80 && scheme != "https") {
			port = ""
		}
	}
	var name string
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" || (bracketed && !ip.Is6()) {
			return "", fmt.Errorf("host %q: not a host address", hostport)
		}
		name = ip.String()
		if ip.Is6() && !ip.Is4In6() {
			name = "[" + name + "]"
		}
	} else if bracketed {
		return "", fmt.Errorf("host %q: not an IPv6 address in brackets", hostport)
	} else {
		if strings.HasSuffix(host, ".") && !strings.HasSuffix(host, "..") {
			host = strings.TrimSuffix(host, ".") // the root's dot: evil.example. is evil.example
		}
		ascii, err := hostProfile.ToASCII(host)
		if err != nil {
			return "", fmt.Errorf("host %q: %w", hostport, err)
		}
		if !validName(ascii) {
			return "", fmt.Errorf("host %q is not a host name", hostport)
		}
		name = ascii
	}
	if port != "" {
		return name + ":" + port, nil
	}
	return name, nil
}

// validName accepts dot-separated labels of letters, digits, '-' and '_' (some hosts carry underscores).
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// URLHost returns the canonical host of a URL (see CanonicalHost), or "" when it has none or it is not a valid
// host: callers that compare hosts must treat "" as a mismatch.
func URLHost(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return ""
	}
	h, err := CanonicalHost(strings.ToLower(u.Scheme), u.Host)
	if err != nil {
		return ""
	}
	return h
}
