package signing

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/memo-fediverse/memo/content"
)

// blockElements end a line of text: their content must not glue onto the next paragraph's first word.
var blockElements = map[atom.Atom]bool{
	atom.P: true, atom.Br: true, atom.Div: true, atom.Li: true, atom.Ul: true, atom.Ol: true,
	atom.Blockquote: true, atom.Pre: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Tr: true, atom.Td: true, atom.Th: true, atom.Hr: true,
}

// skippedElements never hold visible words.
var skippedElements = map[atom.Atom]bool{atom.Script: true, atom.Style: true, atom.Template: true}

// HTMLText extracts the visible text of a remote note's HTML. The text of links is dropped (mentions, h-cards and
// pasted URLs are links in every implementation we read) except for hashtags, whose text starts with "#". Block
// elements become line breaks.
func HTMLText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var out, link strings.Builder
	inLink, skip := 0, 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			if inLink > 0 {
				flushLink(&out, &link)
			}
			return out.String()
		case html.TextToken:
			if skip > 0 {
				continue
			}
			if inLink > 0 {
				link.Write(z.Text())
			} else {
				out.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch {
			case skippedElements[a]:
				skip++
			case a == atom.A:
				inLink++
			case blockElements[a]:
				out.WriteString("\n")
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch {
			case skippedElements[a]:
				if skip > 0 {
					skip--
				}
			case a == atom.A:
				if inLink > 0 {
					inLink--
				}
				if inLink == 0 {
					flushLink(&out, &link)
				}
			case blockElements[a]:
				out.WriteString("\n")
			}
		}
	}
}

// flushLink keeps a link's text only when it is a hashtag.
func flushLink(out, link *strings.Builder) {
	t := strings.TrimSpace(link.String())
	if strings.HasPrefix(t, "#") || strings.HasPrefix(t, "＃") {
		out.WriteString(" " + t + " ")
	} else {
		out.WriteString(" ")
	}
	link.Reset()
}

var (
	// A mention written without a link: @user or @user@host.
	bareMention = regexp.MustCompile(`(^|[^\p{L}\p{N}_])@[\p{L}\p{N}_.\-]+(@[\p{L}\p{N}_.\-]+(:\d+)?)?`)
	bareURL     = regexp.MustCompile(`(?i)\b(https?|ftp|gemini)://\S+|\bwww\.\S+`)
	spaces      = regexp.MustCompile(`[ \t\p{Zs}]+`)
	lineBreaks  = regexp.MustCompile(`\s*\n\s*`)
)

// Fold returns s without accents, in compatibility form and case-folded: "SIGNÉ" and "signe" give the same text.
func Fold(s string) string { return content.Fold(s) }

// Normalize reduces a note's HTML to the folded text the phrase rules read. Line breaks are kept (they end
// clauses), other runs of whitespace become one space.
func Normalize(contentHTML string) string {
	text := HTMLText(strings.ToValidUTF8(contentHTML, ""))
	text = bareURL.ReplaceAllString(text, " ")
	text = bareMention.ReplaceAllString(text, "$1 ")
	text = Fold(text)
	text = spaces.ReplaceAllString(text, " ")
	text = lineBreaks.ReplaceAllString(text, "\n")
	return strings.TrimSpace(text)
}
