package federation

import (
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/inbound"
)

func TestVisibility(t *testing.T) {
	const actor = "https://a.example/users/u"
	cases := []struct {
		to, cc []string
		want   string
	}{
		{[]string{publicAudience}, []string{actor + "/followers"}, "public"},
		{[]string{"as:Public"}, nil, "public"},
		{[]string{actor + "/followers"}, []string{publicAudience}, "unlisted"},
		{[]string{actor + "/followers"}, []string{"https://memo.example/users/memo"}, "followers"},
		{[]string{"https://memo.example/users/memo"}, nil, "direct"},
		{nil, nil, "public"},
	}
	for _, c := range cases {
		if got := visibility(&inbound.Activity{To: c.to, Cc: c.cc}, actor); got != c.want {
			t.Errorf("to %v cc %v: %s, want %s", c.to, c.cc, got, c.want)
		}
	}
}

func TestSanitize(t *testing.T) {
	in := `<p>Je signe <script>alert(1)</script><a href="javascript:alert(2)" onclick="x()">lien</a> <img src=x onerror=y()><span class="h-card"><a href="https://a.example/@u">@u</a></span></p>`
	out := sanitize(in)
	for _, bad := range []string{"<script", "javascript:", "onclick", "onerror"} {
		if strings.Contains(out, bad) {
			t.Errorf("sanitised reply still has %q: %s", bad, out)
		}
	}
	if !strings.Contains(out, "Je signe") || !strings.Contains(out, `href="https://a.example/@u"`) {
		t.Errorf("sanitised reply lost its text or links: %s", out)
	}
}
