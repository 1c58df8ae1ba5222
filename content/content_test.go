package content

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRefusesWhatCannotBePublished(t *testing.T) {
	for _, c := range []struct {
		name string
		src  []byte
		want error
	}{
		{"empty", nil, ErrEmpty},
		{"blank", []byte(" \n\t\r\n"), ErrEmpty},
		{"too large", append([]byte("# T\n\n"), make([]byte, MaxMarkdownBytes)...), ErrTooLarge},
		{"Latin-1", []byte("# Mémo\n\nsign\xe9\n"), ErrNotUTF8},
		{"text before the title", []byte("Intro\n\n# Title\n"), ErrNoTitle},
		{"level-2 heading", []byte("## Title\n"), ErrNoTitle},
		{"no space after #", []byte("#Title\n"), ErrNoTitle},
		{"empty title", []byte("#   \n\ntext\n"), ErrNoTitle},
	} {
		if _, err := Parse(c.src); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// A file saved on Windows (CRLF, a byte-order mark) publishes as the same text as one saved elsewhere.
func TestParseNormalisesLineEndingsAndBOM(t *testing.T) {
	unix, err := Parse([]byte("# Titre  \n\nUn paragraphe.\n"))
	if err != nil {
		t.Fatal(err)
	}
	windows, err := Parse([]byte("\ufeff# Titre  \r\n\r\nUn paragraphe.\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if unix != windows {
		t.Errorf("unix %+v\nwindows %+v", unix, windows)
	}
	if unix.Title != "Titre" || strings.Contains(unix.Markdown, "\r") || strings.HasPrefix(unix.Markdown, "\ufeff") {
		t.Errorf("parsed %+v", unix)
	}
	if unix.HTML != "<h1>Titre</h1>\n<p>Un paragraphe.</p>\n" {
		t.Errorf("HTML %q", unix.HTML)
	}
	// Blank lines before the title are allowed.
	if d, err := Parse([]byte("\n\n  # Après des lignes vides\n")); err != nil || d.Title != "Après des lignes vides" {
		t.Errorf("title after blank lines: %+v, %v", d, err)
	}
}

// A revision file cannot carry markup or scripts: raw HTML and javascript: links are dropped.
func TestRenderDropsRawHTMLAndScriptLinks(t *testing.T) {
	html, err := Render("<script>alert(1)</script>\n\nTexte <b onclick=\"x()\">gras</b> et [lien](javascript:alert(1)).\n\n<iframe src=\"https://evil.example\"></iframe>\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<b ", "onclick", "javascript:", "<iframe"} {
		if strings.Contains(html, bad) {
			t.Errorf("rendered HTML keeps %q: %s", bad, html)
		}
	}
	if !strings.Contains(html, "Texte") || !strings.Contains(html, "gras") {
		t.Errorf("the text itself was lost: %s", html)
	}
}

// The extensions the memo's text relies on: typographic quotes and dashes, bare links, strikethrough, tables.
func TestRenderExtensions(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`Un "test" -- ici...`, "<p>Un &ldquo;test&rdquo; &ndash; ici&hellip;</p>\n"},
		{"Voir https://covid19-open.frama.io/memo/ ici", `<p>Voir <a href="https://covid19-open.frama.io/memo/">https://covid19-open.frama.io/memo/</a> ici</p>` + "\n"},
		{"~~barré~~", "<p><del>barré</del></p>\n"},
		{"| a | b |\n|---|---|\n| 1 | 2 |", "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>1</td>\n<td>2</td>\n</tr>\n</tbody>\n</table>\n"},
		{"*Si* **elle** [lien](https://inno3.frama.io/x#y)", `<p><em>Si</em> <strong>elle</strong> <a href="https://inno3.frama.io/x#y">lien</a></p>` + "\n"},
		{"a < b & c", "<p>a &lt; b &amp; c</p>\n"},
	} {
		if got, err := Render(c.src); err != nil || got != c.want {
			t.Errorf("Render(%q) = %q, %v\nwant %q", c.src, got, err, c.want)
		}
	}
}

// The memo as shipped parses: its title, its text and the links it holds.
func TestShippedMemo(t *testing.T) {
	d, err := Parse([]byte(MemoMarkdown()))
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "Pour du libre et de l’open en conscience" {
		t.Errorf("title %q", d.Title)
	}
	for _, want := range []string{"<h1>Pour du libre et de l’open en conscience</h1>", `<a href="http://creativecommons.org/licenses/by/4.0/">`, "<strong>"} {
		if !strings.Contains(d.HTML, want) {
			t.Errorf("memo HTML lacks %s", want)
		}
	}
	if len(d.Markdown) > MaxMarkdownBytes {
		t.Errorf("the shipped memo (%d bytes) is over the limit it sets for revisions", len(d.Markdown))
	}
	if a := Attribution(); !strings.Contains(a, "CC BY 4.0") && !strings.Contains(a, "Creative Commons") {
		t.Errorf("attribution names no licence: %q", a)
	}
}

func TestAbstractEndsWithTheWayToSign(t *testing.T) {
	if AbstractWith("") != Abstract {
		t.Error("no phrase: the default abstract")
	}
	if !strings.HasSuffix(Abstract, "« je signe ».") || !strings.HasPrefix(Abstract, "Écrit en 2020") {
		t.Errorf("default abstract: %q", Abstract)
	}
	got := AbstractWith("I sign")
	if !strings.HasSuffix(got, "écrivant « I sign ».") || strings.Contains(got, "je signe") {
		t.Errorf("abstract with a configured phrase: %q", got)
	}
}
