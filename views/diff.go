package views

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// A word diff of two Markdown sources, grouped by paragraph (a Markdown line) for display.

type diffSegment struct {
	Op   string // "eq", "ins" or "del"
	Text string
}

type diffParagraph struct {
	Segments []diffSegment
	Changed  bool
}

// diffBlock is a run of paragraphs shown together: changed ones in full, long unchanged runs folded away.
type diffBlock struct {
	Collapsed  bool
	Paragraphs []diffParagraph
}

type wordDiffResult struct {
	Blocks   []diffBlock
	Inserted int // words
	Deleted  int
}

// Tokens are words, runs of blanks, line breaks and single other characters, so a change of one word shows as
// that word and punctuation stays in place.
var tokenRE = regexp.MustCompile(`\n|[^\S\n]+|[\p{L}\p{N}]+|.`)

// wordDiff compares two texts word by word. Each distinct token is mapped to one rune so that diffmatchpatch's
// character diff works on words (the usual line-mode trick, at word granularity).
func wordDiff(a, b string) wordDiffResult {
	index := map[string]rune{}
	var vocab []string
	encode := func(s string) []rune {
		toks := tokenRE.FindAllString(s, -1)
		out := make([]rune, len(toks))
		for i, t := range toks {
			r, ok := index[t]
			if !ok {
				// Runes from the supplementary planes leave room for far more distinct tokens than any memo has.
				r = rune(0x10000 + len(vocab))
				index[t] = r
				vocab = append(vocab, t)
			}
			out[i] = r
		}
		return out
	}
	ra, rb := encode(a), encode(b)
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0 // exact: revisions are small and the page must be right
	diffs := dmp.DiffMainRunes(ra, rb, false)
	diffs = dmp.DiffCleanupSemantic(diffs)

	var res wordDiffResult
	var paragraphs []diffParagraph
	cur := diffParagraph{}
	flush := func() {
		if len(cur.Segments) > 0 {
			paragraphs = append(paragraphs, cur)
		}
		cur = diffParagraph{}
	}
	add := func(op, text string) {
		if text == "" {
			return
		}
		if n := len(cur.Segments); n > 0 && cur.Segments[n-1].Op == op {
			cur.Segments[n-1].Text += text
		} else {
			cur.Segments = append(cur.Segments, diffSegment{Op: op, Text: text})
		}
		if op != "eq" {
			cur.Changed = true
		}
	}
	for _, d := range diffs {
		var sb strings.Builder
		for _, r := range d.Text {
			sb.WriteString(vocab[r-0x10000])
		}
		text := sb.String()
		op := "eq"
		switch d.Type {
		case diffmatchpatch.DiffInsert:
			op = "ins"
			res.Inserted += countWords(text)
		case diffmatchpatch.DiffDelete:
			op = "del"
			res.Deleted += countWords(text)
		}
		lines := strings.Split(text, "\n")
		for i, line := range lines {
			if i > 0 {
				// A paragraph break added or removed shows as the paragraphs themselves.
				flush()
			}
			add(op, line)
		}
	}
	flush()
	res.Blocks = groupParagraphs(paragraphs)
	return res
}

func countWords(s string) int {
	return len(strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }))
}

// groupParagraphs keeps changed paragraphs and one unchanged neighbour on each side in view, and folds longer
// unchanged runs.
func groupParagraphs(ps []diffParagraph) []diffBlock {
	keep := make([]bool, len(ps))
	for i, p := range ps {
		if p.Changed {
			for j := i - 1; j <= i+1; j++ {
				if j >= 0 && j < len(ps) {
					keep[j] = true
				}
			}
		}
	}
	var blocks []diffBlock
	for i, p := range ps {
		collapsed := !keep[i]
		if n := len(blocks); n > 0 && blocks[n-1].Collapsed == collapsed {
			blocks[n-1].Paragraphs = append(blocks[n-1].Paragraphs, p)
			continue
		}
		blocks = append(blocks, diffBlock{Collapsed: collapsed, Paragraphs: []diffParagraph{p}})
	}
	return blocks
}
