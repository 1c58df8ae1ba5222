package signing

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/memo-fediverse/memo/content"
)

// DefaultPhrases are the signing phrases of the design; an admin may replace them.
var DefaultPhrases = content.DefaultSigningPhrases

// negationWords cancel a phrase near them in the same clause (French, English, German, Spanish), with the
// conditional markers that make it hypothetical. Spanish "sí" folds to "si" and is caught too; a comma after it
// ("Sí, firmo") ends the clause and lets the phrase count.
var negationWords = map[string]bool{
	"ne": true, "n": true, "t": true, "pas": true, "jamais": true, "point": true, "aucun": true, "aucune": true, "rien": true,
	"not": true, "no": true, "never": true, "cannot": true, "nobody": true, "nor": true, "nothing": true,
	"nicht": true, "nichts": true, "kein": true, "keine": true, "nie": true, "niemals": true,
	"nunca": true, "jamas": true, "tampoco": true, "ni": true, "nada": true,
	"si": true, "if": true, "wenn": true, "falls": true, "whether": true,
}

// determiners before a one-word phrase make it a noun: "un signe", "en signe de", "the sign".
var determiners = map[string]bool{
	"un": true, "une": true, "le": true, "la": true, "l": true, "les": true, "des": true, "du": true, "ce": true,
	"cet": true, "cette": true, "ces": true, "mon": true, "ton": true, "son": true, "bon": true, "mauvais": true,
	"en": true, "quel": true, "a": true, "an": true, "the": true, "this": true, "that": true, "el": true, "los": true,
	"una": true, "ein": true, "das": true, "der": true, "die": true,
}

// particles after a phrase ending in "sign" change its meaning: "I sign up", "I sign in".
var particles = map[string]bool{"up": true, "in": true, "out": true, "off": true, "over": true}

const (
	negationBefore = 3
	negationAfter  = 2
)

// Matcher finds signing phrases in normalised text.
type Matcher struct {
	phrases  [][]string
	original []string
}

// NewMatcher folds and splits each phrase the way note text is folded. An empty phrase is an error: it would make
// every reply a signature.
func NewMatcher(phrases []string) (*Matcher, error) {
	m := &Matcher{}
	for _, p := range phrases {
		words := words(Fold(p))
		if len(words) == 0 {
			return nil, fmt.Errorf("signing phrase %q has no words", p)
		}
		m.phrases = append(m.phrases, words)
		m.original = append(m.original, p)
	}
	if len(m.phrases) == 0 {
		return nil, errors.New("no signing phrase configured")
	}
	return m, nil
}

// MustMatcher is NewMatcher for phrases known to be valid, such as DefaultPhrases.
func MustMatcher(phrases []string) *Matcher {
	m, err := NewMatcher(phrases)
	if err != nil {
		panic(err)
	}
	return m
}

// Match tells whether text (the output of Normalize) signs, and which configured phrase did it.
func (m *Matcher) Match(text string) (phrase string, ok bool) {
	for _, c := range clauses(text) {
		for i, p := range m.phrases {
			if matchClause(c, p) {
				return m.original[i], true
			}
		}
	}
	return "", false
}

// clause is a run of words between punctuation marks; question tells it ended with "?".
type clause struct {
	words    []string
	question bool
}

func clauses(text string) []clause {
	var out []clause
	start := 0
	for i, r := range text {
		if !strings.ContainsRune(",;:.!?\n…()[]\"«»“”", r) {
			continue
		}
		if w := words(text[start:i]); len(w) > 0 {
			out = append(out, clause{words: w, question: r == '?'})
		} else if r == '?' && len(out) > 0 {
			// "je signe ?!" or "je signe !?": the mark just after still makes it a question.
			out[len(out)-1].question = true
		}
		start = i + len(string(r))
	}
	if w := words(text[start:]); len(w) > 0 {
		out = append(out, clause{words: w})
	}
	return out
}

// words splits folded text into words of letters and digits, with a leading "#" kept (hashtags are phrases of
// their own). An apostrophe separates words, so the French "n'" and the English "n't" leave the words "n" and "t",
// both negations.
func words(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 && !(len(cur) == 1 && cur[0] == '#') {
			out = append(out, string(cur))
		}
		cur = cur[:0]
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			cur = append(cur, r)
		case r == '#':
			flush()
			cur = append(cur, r)
		default:
			flush()
		}
	}
	flush()
	return out
}

func matchClause(c clause, phrase []string) bool {
	if c.question {
		return false
	}
	w := c.words
	for i := 0; i+len(phrase) <= len(w); i++ {
		if !equalWords(w[i:i+len(phrase)], phrase) {
			continue
		}
		end := i + len(phrase)
		if negated(w, i, end) {
			continue
		}
		if len(phrase) == 1 && i > 0 && determiners[w[i-1]] {
			continue
		}
		if phrase[len(phrase)-1] == "sign" && end < len(w) && particles[w[end]] {
			continue
		}
		return true
	}
	return false
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func negated(w []string, start, end int) bool {
	for j := max(0, start-negationBefore); j < min(len(w), end+negationAfter); j++ {
		if j >= start && j < end {
			continue
		}
		if negationWords[w[j]] {
			return true
		}
	}
	return false
}

// DefaultMatcher recognises the default phrases, for whoever is given none.
var DefaultMatcher = MustMatcher(DefaultPhrases)
