package content

import "testing"

func TestCanonicalHost(t *testing.T) {
	for _, c := range []struct {
		scheme, in, want string
	}{
		{"https", "evil.example", "evil.example"},
		{"https", "EVIL.Example", "evil.example"},
		{"https", "evil.example.", "evil.example"},
		{"https", "EVIL.example.:443", "evil.example"},
		{"https", "evil.example:443", "evil.example"},
		{"https", "evil.example:80", "evil.example:80"},
		{"http", "evil.example:80", "evil.example"},
		{"http", "evil.example:443", "evil.example:443"},
		{"", "evil.example:443", "evil.example"},
		{"", "evil.example:80", "evil.example"},
		{"https", "evil.example:8443", "evil.example:8443"},
		{"https", "bücher.example", "xn--bcher-kva.example"},
		{"https", "BÜCHER.example.", "xn--bcher-kva.example"},
		{"https", "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"https", "evil。example", "evil.example"}, // ideographic full stop
		{"https", "ＥＶＩＬ.example", "evil.example"}, // full-width letters
		{"https", "r3---sn-abc.example", "r3---sn-abc.example"},
		{"https", "127.0.0.1:8080", "127.0.0.1:8080"},
		{"https", "127.0.0.1:443", "127.0.0.1"},
		{"https", "[::1]:8080", "[::1]:8080"},
		{"https", "[::1]:443", "[::1]"},
		{"https", "[2001:DB8:0::1]", "[2001:db8::1]"},
		{"", "2001:db8::1", "[2001:db8::1]"},
	} {
		got, err := CanonicalHost(c.scheme, c.in)
		if err != nil || got != c.want {
			t.Errorf("CanonicalHost(%q, %q) = %q, %v; want %q", c.scheme, c.in, got, err, c.want)
		}
	}
}

func TestCanonicalHostRefuses(t *testing.T) {
	for _, in := range []string{"", "evil.example..", ".", "evil example", "evil.example/x", "user@evil.example",
		"evil.example:", "evil.example:0", "evil.example:99999", "evil.example:x", "[::1", "[::1]x", "[evil.example]",
		"[fe80::1%25eth0]", "evil..example"} {
		if got, err := CanonicalHost("https", in); err == nil {
			t.Errorf("CanonicalHost(%q) = %q, want an error", in, got)
		}
	}
}

func TestURLHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://EVIL.example.:443/users/x":   "evil.example",
		"http://evil.example:80/users/x":      "evil.example",
		"https://bücher.example/users/x":      "xn--bcher-kva.example",
		"https://[::1]:8443/users/x#main-key": "[::1]:8443",
		"/users/x":                            "",
		"https://evil..example/":              "",
		"not a url at all%":                   "",
	} {
		if got := URLHost(in); got != want {
			t.Errorf("URLHost(%q) = %q, want %q", in, got, want)
		}
	}
}
