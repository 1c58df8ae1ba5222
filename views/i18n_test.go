package views

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestNegotiateLocale(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"", "fr"},
		{"fr-FR,fr;q=0.9,en;q=0.8", "fr"},
		{"en-US,en;q=0.9", "en"},
		{"en-GB", "en"},
		{"EN", "en"},
		{"de-DE,de;q=0.9,en;q=0.8", "en"},
		{"de-DE,de;q=0.9", "fr"},
		{"en;q=0.5,fr;q=0.6", "fr"},
		{"fr;q=0.5,en;q=0.6", "en"},
		{"en;q=0,fr;q=0.1", "fr"},
		{"en;q=0", "fr"},
		{"fr;q=0,en", "en"},
		{"en, fr", "en"},
		{"fr, en", "fr"},
		{"*", "fr"},
		{"*;q=0.9, en", "en"},
		{"en;q=abc", "fr"},
		{"en;q=2", "fr"},
		{"en; q=0.7 , de", "en"},
		{",,;;=", "fr"},
		{"english", "fr"},
	} {
		if got := negotiateLocale(c.header).Tag; got != c.want {
			t.Errorf("Accept-Language %q: %s, want %s", c.header, got, c.want)
		}
	}
}

func TestLocaleFormats(t *testing.T) {
	d := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
	if got := french.Date(d); got != "1er mars 2026" {
		t.Errorf("french date %q", got)
	}
	if got := english.Date(d); got != "1 March 2026" {
		t.Errorf("english date %q", got)
	}
	for _, c := range []struct {
		l    *locale
		n    int
		want string
	}{{french, 0, "0 signature"}, {french, 1, "1 signature"}, {french, 2, "2 signatures"}, {english, 0, "0 signatures"}, {english, 1, "1 signature"}} {
		if got := c.l.Count("count.signatures", c.n); got != c.want {
			t.Errorf("%s count %d = %q, want %q", c.l.Tag, c.n, got, c.want)
		}
	}
}

// Both catalogues have the same keys, and every key the templates and the code use exists.
func TestCatalogues(t *testing.T) {
	for k := range frStrings {
		if _, ok := enStrings[k]; !ok {
			t.Errorf("%q is in French only", k)
		}
	}
	for k := range enStrings {
		if _, ok := frStrings[k]; !ok {
			t.Errorf("%q is in English only", k)
		}
	}
	for k, fr := range frStrings {
		if strings.Count(fr, "%") != strings.Count(enStrings[k], "%") {
			t.Errorf("%q: the two languages take different arguments: %q / %q", k, fr, enStrings[k])
		}
	}

	uses := regexp.MustCompile(`\.(T|F|Count) "([a-z0-9.]+)"|\.(T|F|Count)\("([a-z0-9.]+)"|errors\.New\("(interact\.[a-z.]+)"\)`)
	var files []string
	fs.WalkDir(os.DirFS("."), ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".html") || (strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go"))) {
			files = append(files, path)
		}
		return nil
	})
	found := 0
	for _, path := range files {
		b, err := os.ReadFile(filepath.Clean(path))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range uses.FindAllStringSubmatch(string(b), -1) {
			fn, key := m[1]+m[3], m[2]+m[4]+m[5]
			found++
			keys := []string{key}
			if fn == "Count" {
				keys = []string{key + ".one", key + ".other"}
			}
			for _, k := range keys {
				if _, ok := frStrings[k]; !ok {
					t.Errorf("%s uses %q, which the catalogue lacks", path, k)
				}
			}
		}
	}
	if found < 100 {
		t.Errorf("found only %d catalogue uses: the scan is broken", found)
	}
}
