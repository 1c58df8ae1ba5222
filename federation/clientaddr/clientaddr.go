// Package clientaddr finds the address of the client behind a request: the TCP peer, or, when the peer is a
// trusted reverse proxy, the address the proxy forwarded. Every per-address limit, the access log and the refusal
// records use it, so that they all name the same client.
package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// DefaultTrusted is the default list of trusted proxies: loopback only, as GoToSocial's trusted-proxies setting
// (docs.gotosocial.org, configuration/general), so that a proxy on the same machine works out of the box and
// nothing else can choose its own address.
const DefaultTrusted = "127.0.0.0/8,::1/128"

// Proxies is the set of peers whose forwarding headers are believed.
type Proxies struct {
	nets []netip.Prefix
}

// Parse reads a comma-separated list of CIDRs or bare addresses; an empty list trusts no proxy.
func Parse(list string) (*Proxies, error) {
	p := &Proxies{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "/") {
			a, err := netip.ParseAddr(item)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR nor an address", item)
			}
			item = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String()
		}
		pf, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", item)
		}
		if pf.Addr().Is4In6() && pf.Bits() >= 96 {
			pf = netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits()-96)
		}
		p.nets = append(p.nets, pf.Masked())
	}
	return p, nil
}

// Default returns the default trusted proxies.
func Default() *Proxies {
	p, err := Parse(DefaultTrusted)
	if err != nil {
		panic(err)
	}
	return p
}

func (p *Proxies) trusted(a netip.Addr) bool {
	if p == nil {
		return false
	}
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the client's address. When the TCP peer is a trusted proxy, it is the rightmost address of
// X-Forwarded-For (or, without it, of Forwarded's for=) that is not itself a trusted proxy: entries to its left
// were written by the client and prove nothing. From an untrusted peer those headers are ignored. The zero Addr
// means RemoteAddr could not be read (a test's handler called directly); callers use Key, which names it.
func (p *Proxies) Client(r *http.Request) netip.Addr {
	peer := parseHost(r.RemoteAddr)
	if !peer.IsValid() || !p.trusted(peer) {
		return peer
	}
	hops := forwarded(r)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a := parseHost(hops[i])
		if !a.IsValid() {
			// Garbage where a proxy should have written an address: the last good hop is all we know.
			break
		}
		client = a
		if !p.trusted(a) {
			break
		}
	}
	return client
}

// forwarded lists the hops a proxy reported, left to right.
func forwarded(r *http.Request) []string {
	if vs := r.Header.Values("X-Forwarded-For"); len(vs) > 0 {
		var out []string
		for _, v := range vs {
			for _, h := range strings.Split(v, ",") {
				out = append(out, strings.TrimSpace(h))
			}
		}
		return out
	}
	var out []string
	for _, v := range r.Header.Values("Forwarded") {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					out = append(out, strings.Trim(val, `"`))
				}
			}
		}
	}
	return out
}

// parseHost reads "1.2.3.4", "1.2.3.4:80", "::1", "[::1]:80" or "[::1]".
func parseHost(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.WithZone("").Unmap()
}

// Key is what limits count by: an IPv4 address, or the /64 of an IPv6 one, since a single IPv6 client usually
// holds a whole /64 and could otherwise take a new address for each request.
func Key(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// String names an address for logs and records ("unknown" when there is none).
func String(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	return a.String()
}
