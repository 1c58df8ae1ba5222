package views

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/storage/storagetest"
)

// robotsAllows applies RFC 9309 to one path: the longest matching rule wins, Allow wins a tie, `*` matches any
// run of characters and `$` ends the pattern.
func robotsAllows(rules, path string) bool {
	best, allow := -1, true
	for _, line := range strings.Split(rules, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		if (key != "allow" && key != "disallow") || val == "" {
			continue
		}
		expr := "^" + strings.ReplaceAll(regexp.QuoteMeta(strings.TrimSuffix(val, "$")), `\*`, ".*")
		if strings.HasSuffix(val, "$") {
			expr += "$"
		}
		if !regexp.MustCompile(expr).MatchString(path) {
			continue
		}
		if len(val) > best || (len(val) == best && key == "allow") {
			best, allow = len(val), key == "allow"
		}
	}
	return allow
}

func TestRobots(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	h := newTestSite(t, store, testBase).Handler()

	r := get(t, h, "/robots.txt")
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("robots.txt: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	if !strings.HasPrefix(r.Body, "User-agent: *\n") {
		t.Fatalf("robots.txt does not start with a group for every crawler:\n%s", r.Body)
	}
	for path, want := range map[string]bool{
		"/":                              true,
		"/memo":                          true,
		"/memo/revisions/1":              true,
		"/impulses/lesson-1":             true,
		"/signatures":                    true,
		"/signatures?after=50":           true,
		"/signatures/12":                 true,
		"/about":                         true,
		"/feed.atom":                     true,
		"/interact":                      false,
		"/interact?handle=a%40b.example": false,
		"/signatures?q=alice":            false,
		"/signatures?after=50&q=alice":   false,
		"/memo/diff?from=1&to=2":         false,
		"/inbox":                         false,
		"/users/memo/inbox":              false,
		"/activities/3":                  false,
	} {
		if got := robotsAllows(r.Body, path); got != want {
			t.Errorf("%s: allowed %v, want %v\n%s", path, got, want, r.Body)
		}
	}
}
