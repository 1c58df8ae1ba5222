package signing

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzPlainText(f *testing.F) {
	for _, s := range []string{"Ann", "<b>x</b>", "a\u202eb\nc", "<script>alert(1)</script>", "&lt;&amp;", strings.Repeat("é", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := PlainText(s, MaxNameRunes)
		if n := utf8.RuneCountInString(out); n > MaxNameRunes {
			t.Fatalf("%d runes > %d", n, MaxNameRunes)
		}
		if controlChars.MatchString(out) || strings.ContainsAny(out, "\n\r\t") {
			t.Fatalf("control characters kept in %q", out)
		}
		// Plain text is kept as given: a short valid string without control or space characters comes out whole.
		if utf8.ValidString(s) && utf8.RuneCountInString(s) <= MaxNameRunes && !controlChars.MatchString(s) &&
			!blankRuns.MatchString(s) && out != s {
			t.Fatalf("PlainText(%q) = %q, want it unchanged", s, out)
		}
	})
}

func FuzzMatch(f *testing.F) {
	m := MustMatcher(DefaultPhrases)
	for _, s := range []string{"<p>je signe</p>", "je ne signe pas", "#JeSigne", "<a href=x>@a</a> I sign", "¿firmo?", "ich unterschreibe nicht"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text := Normalize(s)
		if !utf8.ValidString(text) && utf8.ValidString(s) {
			t.Fatalf("Normalize made invalid UTF-8 from %q", s)
		}
		phrase, ok := m.Match(text)
		if ok != (phrase != "") {
			t.Fatalf("Match = %q, %v", phrase, ok)
		}
		// Appending a negated clause never turns a comment into a signature.
		if !ok {
			if _, again := m.Match(text + "\nje ne signe pas"); again {
				t.Fatalf("a negated phrase signed after %q", text)
			}
		}
	})
}
