package views

import (
	"errors"
	"strconv"

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
