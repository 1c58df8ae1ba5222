package fetch

import (
	"fmt"
	"net/netip"
	"syscall"
)

// The dialer refuses every address that is not public, after DNS resolution, so that a peer's URL cannot reach
// this machine's network.

// control runs after DNS resolution, for every connection, including those made for redirects.
func (c *Client) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, ErrForbiddenAddress)
	}
	if c.cfg.AllowPrivate || !Forbidden(ap.Addr()) {
		return nil
	}
	for _, ok := range c.cfg.Allow {
		if ok.Addr() == ap.Addr().Unmap() && ok.Port() == ap.Port() {
			return nil
		}
	}
	return fmt.Errorf("dial %s: %w", address, ErrForbiddenAddress)
}

var extraForbidden = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: would reach IPv4 space behind it
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("fec0::/10"),      // old site-local
}

// Forbidden tells whether addr is not a public unicast address: loopback, private, link-local (169.254.169.254,
// the cloud metadata service, among them), unspecified, multicast, or another reserved range. IPv4-mapped IPv6
// addresses are judged as the IPv4 address they carry.
func Forbidden(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() {
		return true
	}
	for _, p := range extraForbidden {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
