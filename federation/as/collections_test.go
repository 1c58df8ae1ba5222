package as

import (
	"net/url"
	"testing"
)

func TestPageAndCursorRules(t *testing.T) {
	for q, want := range map[string]int{"": 1, "page=true": 1, "page=1": 1, "page=7": 7, "page=0": -1, "page=-2": -1, "page=x": -1, "page=99999999": -1} {
		v, _ := url.ParseQuery(q)
		n, err := pageNumber(v)
		if want < 0 {
			if err == nil {
				t.Errorf("%q: page %d accepted", q, n)
			}
			continue
		}
		if err != nil || n != want {
			t.Errorf("%q: %d, %v; want %d", q, n, err, want)
		}
	}
	for q, want := range map[string]int64{"": 0, "before=42": 42, "before=0": -1, "before=-1": -1, "before=4x": -1, "before=": -1} {
		v, _ := url.ParseQuery(q)
		if got := cursor(v, "before"); got != want {
			t.Errorf("%q: cursor %d, want %d", q, got, want)
		}
	}
}
