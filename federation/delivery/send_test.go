package delivery

import "testing"

func TestSignatureRefused(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   bool
	}{
		{401, "", true},
		{400, "Verification failed: bad Signature", true},
		{400, "invalid JSON", false},
		{403, "signature blocked", false},
		{202, "", false},
		{500, "signature", false},
	} {
		if got := signatureRefused(c.status, []byte(c.body)); got != c.want {
			t.Errorf("%d %q: %v, want %v", c.status, c.body, got, c.want)
		}
	}
}
