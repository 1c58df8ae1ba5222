package views

import (
	"errors"
	"html"
	"strconv"
	"strings"

	"github.com/memo-fediverse/memo/storage"
)

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// parseID reads a positive decimal id from a path segment, refusing signs, leading zeros and overflow so that one
// object has one URL.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 18 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

func atoiOr(s string, def int) int {
	n, ok := parseID(s)
	if !ok || n > 1<<30 {
		return def
	}
	return int(n)
}

// plainExcerpt turns trusted HTML into at most max characters of text, for descriptions.
func plainExcerpt(h string, max int) string {
	text := html.UnescapeString(tagRE.ReplaceAllString(h, " "))
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > max {
		cut := string(r[:max])
		if i := strings.LastIndex(cut, " "); i > max/2 {
			cut = cut[:i]
		}
		return cut + "…"
	}
	return text
}
