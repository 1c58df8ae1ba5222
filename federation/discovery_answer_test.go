package federation

import (
	"net/url"
	"testing"
)

// queryValue reads one parameter as url.Values.Get does.
func TestQueryValueAgreesWithParseQuery(t *testing.T) {
	for _, raw := range []string{
		"", "resource=acct:memo@memo.example", "resource=acct%3Amemo%40memo.example",
		"a=1&resource=x&resource=y", "resource", "resource=", "&&resource=a+b", "resourc%65=z",
		"resource=%zz&resource=ok", "x=%zz&resource=ok", "resource=a;b", "%zz=1&resource=q",
	} {
		want := ""
		if v, err := url.ParseQuery(raw); err == nil || v != nil {
			want = v.Get("resource")
		}
		if got := queryValue(raw, "resource"); got != want {
			t.Errorf("queryValue(%q) = %q, url.Values.Get gives %q", raw, got, want)
		}
	}
}

func FuzzQueryValue(f *testing.F) {
	f.Add("resource=acct:memo@memo.example&x=1")
	f.Add("resourc%65=a%20b+c")
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw)
		if got, want := queryValue(raw, "resource"), v.Get("resource"); got != want {
			t.Fatalf("queryValue(%q) = %q, url.Values.Get gives %q", raw, got, want)
		}
	})
}
