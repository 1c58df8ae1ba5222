package clientaddr

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClient(t *testing.T) {
	p, err := Parse("127.0.0.0/8, ::1/128, 10.0.0.0/8, 192.0.2.5")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer string
		headers    map[string]string
		want       string
	}{
		{"direct client", "198.51.100.1:4000", nil, "198.51.100.1"},
		{"untrusted peer's header ignored", "198.51.100.1:4000", map[string]string{"X-Forwarded-For": "203.0.113.1"}, "198.51.100.1"},
		{"trusted proxy", "127.0.0.1:4000", map[string]string{"X-Forwarded-For": "203.0.113.1"}, "203.0.113.1"},
		{"rightmost untrusted", "127.0.0.1:4000", map[string]string{"X-Forwarded-For": "192.0.2.99, 203.0.113.1, 10.1.2.3"}, "203.0.113.1"},
		{"bare trusted address", "192.0.2.5:80", map[string]string{"X-Forwarded-For": "203.0.113.7"}, "203.0.113.7"},
		{"all trusted: the leftmost", "127.0.0.1:4000", map[string]string{"X-Forwarded-For": "10.0.0.1, 10.0.0.2"}, "10.0.0.1"},
		{"garbage after a trusted hop", "127.0.0.1:4000", map[string]string{"X-Forwarded-For": "203.0.113.1, nonsense, 10.0.0.2"}, "10.0.0.2"},
		{"trusted proxy without header", "[::1]:4000", nil, "::1"},
		{"IPv6 behind a proxy", "[::1]:4000", map[string]string{"X-Forwarded-For": "2001:db8::1"}, "2001:db8::1"},
		{"Forwarded", "127.0.0.1:4000", map[string]string{"Forwarded": `for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"X-Forwarded-For wins", "127.0.0.1:4000", map[string]string{"Forwarded": "for=192.0.2.60", "X-Forwarded-For": "203.0.113.2"}, "203.0.113.2"},
		{"mapped IPv4 peer", "[::ffff:127.0.0.1]:4000", map[string]string{"X-Forwarded-For": "203.0.113.3"}, "203.0.113.3"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for k, v := range c.headers {
			r.Header.Set(k, v)
		}
		if got := p.Client(r); got.String() != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}

	// The default trusts loopback only; an empty list trusts nobody.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr, r.Header = "127.0.0.1:1", map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}
	if got := Default().Client(r); got.String() != "203.0.113.1" {
		t.Errorf("default behind loopback: %s", got)
	}
	none, err := Parse("")
	if err != nil {
		t.Fatal(err)
	}
	if got := none.Client(r); got.String() != "127.0.0.1" {
		t.Errorf("no trusted proxy: %s", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.0/8,,nope"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.1":             "203.0.113.1",
		"2001:db8:1:2::1":         "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::9999": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":         "2001:db8:1:3::/64",
	} {
		if got := Key(netip.MustParseAddr(in)); got != want {
			t.Errorf("Key(%s) = %s, want %s", in, got, want)
		}
	}
	if Key(netip.Addr{}) != "unknown" {
		t.Error("the zero address has no key")
	}
}

func BenchmarkClient(b *testing.B) {
	p := Default()
	r := httptest.NewRequest("POST", "/inbox", nil)
	r.RemoteAddr = "127.0.0.1:4000"
	r.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.1")
	for b.Loop() {
		Key(p.Client(r))
	}
}
