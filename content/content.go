// Package content holds the memo's text as shipped (CC BY 4.0) and turns the Markdown format that `memo publish`
// accepts into what the publication needs: a title, an abstract, HTML and the impulses.
package content

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

//go:embed text/memo.fr.md text/impulses.fr.md text/ATTRIBUTION.md
var texts embed.FS

// FirstRevisionDate is the date of the memo's published version of 2020, revision 1 here.
var FirstRevisionDate = time.Date(2020, 5, 3, 12, 0, 0, 0, time.UTC)

const (
	Licence     = "CC BY 4.0"
	LicenceURL  = "https://creativecommons.org/licenses/by/4.0/"
	OriginalURL = "https://covid19-open.frama.io/memo/"
	Authors     = "le collectif des communautés du libre, de l’open et des communs (covid19-open-memo@framalistes.org)"
	Language    = "fr"
)

// MaxMarkdownBytes bounds a revision's source; the rendered Article must stay well under 1 MB once serialised.
const MaxMarkdownBytes = 256 << 10

// ErrEmpty and ErrNotUTF8 are the refusals of a publishable file.
var (
	ErrEmpty    = errors.New("the file is empty")
	ErrNotUTF8  = errors.New("the file is not valid UTF-8")
	ErrTooLarge = fmt.Errorf("the file is larger than %d KiB", MaxMarkdownBytes>>10)
	ErrNoTitle  = errors.New("the file has no title: its first line must be a level-1 heading (`# Title`)")
)

// Document is a memo revision's text, parsed.
type Document struct {
	Title    string
	Markdown string
	HTML     string
}

// MemoMarkdown returns the memo as shipped.
func MemoMarkdown() string { return mustRead("text/memo.fr.md") }

// ImpulsesMarkdown returns the impulses as shipped.
func ImpulsesMarkdown() string { return mustRead("text/impulses.fr.md") }

// Attribution returns the licence and attribution notice shipped with the text.
func Attribution() string { return mustRead("text/ATTRIBUTION.md") }

func mustRead(name string) string {
	b, err := texts.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("embedded %s: %v", name, err))
	}
	return string(b)
}

var md = goldmark.New(goldmark.WithExtensions(extension.Typographer, extension.Linkify, extension.Strikethrough, extension.Table))

// Render turns Markdown into HTML. Raw HTML in the source is dropped (goldmark's default), so a revision file
// cannot inject markup.
func Render(src string) (string, error) {
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		return "", fmt.Errorf("render markdown: %w", err)
	}
	return buf.String(), nil
}

// Parse checks and renders a memo revision file: UTF-8, not empty, a `# Title` first.
func Parse(src []byte) (Document, error) {
	if len(bytes.TrimSpace(src)) == 0 {
		return Document{}, ErrEmpty
	}
	if len(src) > MaxMarkdownBytes {
		return Document{}, ErrTooLarge
	}
	if !utf8.Valid(src) {
		return Document{}, ErrNotUTF8
	}
	text := strings.ReplaceAll(string(src), "\r\n", "\n")
	text = strings.TrimPrefix(text, "\ufeff")
	title := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "# ") {
			title = strings.TrimSpace(strings.TrimPrefix(line, "# "))
		}
		break
	}
	if title == "" {
		return Document{}, ErrNoTitle
	}
	html, err := Render(text)
	if err != nil {
		return Document{}, err
	}
	return Document{Title: title, Markdown: text, HTML: html}, nil
}

// Abstract is the memo's summary with the default signing phrase; AbstractWith names the configured one.
// Mastodon shows only an Article's name, summary and link, so this has to stand on its own and end with how to
// sign.
const Abstract = abstractHead + "« je signe »."

// AbstractWith is the memo's summary ending with phrase as the way to sign.
func AbstractWith(phrase string) string {
	if phrase == "" {
		return Abstract
	}
	return abstractHead + "« " + phrase + " »."
}

const abstractHead = "Écrit en 2020 par une trentaine de personnes des communautés du libre, de l’open et des communs, " +
	"ce mémorandum rappelle la place des initiatives ouvertes, participatives et collaboratives dans notre société " +
	"et appelle à des infrastructures numériques communes, fédérées et soutenables, accompagnées de 6 enseignements " +
	"et 7 mesures. Pour le signer, répondez à ce message en écrivant "

// Hashtags are attached to the Article and the impulses.
var Hashtags = []string{"LibreEtOpen", "CommunsNumeriques", "Memo"}
