package content

import (
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// apostrophes lists the characters people type for an apostrophe; they all become "'".
var apostrophes = strings.NewReplacer("’", "'", "‘", "'", "ʼ", "'", "`", "'", "´", "'", "＃", "#")

// Fold returns s without accents, in compatibility form and case-folded: "SIGNÉ" and "signe" give the same text.
// The signing phrases and the signature search both compare folded text, so that what one matches the other does.
func Fold(s string) string {
	t := transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		folded = s
	}
	return cases.Fold().String(apostrophes.Replace(folded))
}

// PlainText returns the visible text of an HTML fragment, its elements replaced by spaces, for indexing.
func PlainText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var out strings.Builder
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return out.String()
		case html.TextToken:
			if skip == 0 {
				out.Write(z.Text())
			}
			continue
		case html.StartTagToken, html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "script" || string(name) == "style" {
				if tt == html.StartTagToken {
					skip++
				} else if skip > 0 {
					skip--
				}
			}
		}
		out.WriteByte(' ')
	}
}
