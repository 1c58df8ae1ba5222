package signing

import (
	"errors"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"

	"github.com/memo-fediverse/memo/content"
)

// Limits on what a record keeps from remote text, in runes.
const (
	MaxNameRunes = 100
	MaxTextRunes = 2000
)

// Kind tells whether a signer is a person or speaks for a group.
type Kind string

const (
	Person       Kind = "person"
	Organisation Kind = "organisation"
)

// KindOf maps an actor type to how the list shows the signer.
func KindOf(actorType string) Kind {
	switch actorType {
	case "Organization", "Group", "Service":
		return Organisation
	}
	return Person
}

// Record is a signature as it is stored: every remote string is already plain, sanitised text of bounded length.
// SignedAt is the date shown (SignatureDate), ReceivedAt when this server received the reply.
type Record struct {
	ActorIRI    string
	Kind        Kind
	Handle      string // @user@domain
	DisplayName string
	Domain      string
	ProfileURL  string // http or https only, else empty
	NoteIRI     string
	InReplyTo   string
	Text        string // plain text with line breaks; templates escape it
	SignedAt    time.Time
	ReceivedAt  time.Time
	Revision    int
	Visibility  Visibility
}

// Public tells whether the record may be listed by name.
func (r Record) Public() bool { return r.Visibility.IsPublic() }

// TargetKind names which of our objects a reply answers.
type TargetKind string

const (
	TargetMemo      TargetKind = "memo"
	TargetRevision  TargetKind = "revision"
	TargetImpulse   TargetKind = "impulse"
	TargetHowToSign TargetKind = "how-to-sign"
)

// Target is the object of ours a reply points at.
type Target struct {
	Kind     TargetKind
	Revision int    // for TargetRevision
	Slug     string // for TargetImpulse
}

// ErrNotOurs means the reply does not answer the memo, a revision, an impulse or the "how to sign" note, so it
// cannot be a signature.
var ErrNotOurs = errors.New("not a reply to the memo, an impulse or the how-to-sign note")

// ReplyTarget tells which of our objects inReplyTo names. Whether an impulse slug or a revision number exists is
// for the caller to check against the store.
func ReplyTarget(urls content.URLs, inReplyTo string) (Target, error) {
	switch {
	case inReplyTo == "":
		return Target{}, ErrNotOurs
	case inReplyTo == urls.Memo():
		return Target{Kind: TargetMemo}, nil
	case inReplyTo == urls.Note(content.HowToSignSlug):
		return Target{Kind: TargetHowToSign}, nil
	}
	if rest, ok := strings.CutPrefix(inReplyTo, urls.Revisions()+"/"); ok {
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 || strconv.Itoa(n) != rest {
			return Target{}, ErrNotOurs
		}
		return Target{Kind: TargetRevision, Revision: n}, nil
	}
	if slug, ok := strings.CutPrefix(inReplyTo, urls.Impulses()+"/"); ok && slug != "" && !strings.ContainsAny(slug, "/?#") {
		return Target{Kind: TargetImpulse, Slug: slug}, nil
	}
	return Target{}, ErrNotOurs
}

// RevisionSigned is the revision a signature is made on: the one its reply points to, or the current one.
func RevisionSigned(t Target, current int) int {
	if t.Kind == TargetRevision && t.Revision >= 1 && t.Revision <= current {
		return t.Revision
	}
	return current
}

// NewRecord builds the stored form of a signature from the author's actor document and the reply. It assumes the
// trust checks (CheckAuthor, CheckNoteHost) passed.
func NewRecord(a Actor, n Note, vis Visibility, revision int, at time.Time) (Record, error) {
	u, err := url.Parse(a.IRI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Record{}, fmt.Errorf("actor IRI %q is not an http(s) URL", a.IRI)
	}
	domain := content.URLHost(a.IRI)
	if domain == "" {
		return Record{}, fmt.Errorf("actor IRI %q has no valid host", a.IRI)
	}
	user := PlainText(a.PreferredUsername, 64)
	// Usernames are letters, digits, "_", "." and "-" everywhere we know of; anything else is dropped so a handle
	// can never carry markup or a second "@".
	user = strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.' || r == '-' {
			return r
		}
		return -1
	}, user)
	if user == "" {
		user = lastSegment(u.Path)
	}
	name := PlainText(a.Name, MaxNameRunes)
	if name == "" {
		name = user
	}
	return Record{
		ActorIRI:    a.IRI,
		Kind:        KindOf(a.Type),
		Handle:      "@" + user + "@" + domain,
		DisplayName: name,
		Domain:      domain,
		ProfileURL:  WebURL(a.URL, a.IRI),
		NoteIRI:     n.ID,
		InReplyTo:   n.InReplyTo,
		Text:        NoteText(n.Content),
		SignedAt:    at.UTC(),
		ReceivedAt:  at.UTC(),
		Revision:    revision,
		Visibility:  vis,
	}, nil
}

func lastSegment(p string) string {
	p = strings.TrimRight(p, "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

var strict = bluemonday.StrictPolicy()

var (
	controlChars = regexp.MustCompile(`[\p{Cc}\p{Cf}\p{Co}\p{Cs}]`)
	blankRuns    = regexp.MustCompile(`[\s\p{Zs}]+`)
	blankLines   = regexp.MustCompile(`\n{3,}`)
	breakTags    = regexp.MustCompile(`(?i)<\s*(br|/p|/div|/li|/blockquote)\b[^>]*>`)
)

// PlainText turns a remote one-line string (a display name) into the text to show. An ActivityStreams name is
// plain text, not HTML: it is kept as given ("Tom <3 Jerry", "<Alice>" and "&amp;" stay whole), and the templates
// and encoders escape it where it is shown. Only what could mislead a reader goes: control and format characters
// (bidi overrides and isolates included, U+202A–U+202E, U+2066–U+2069) become spaces, except the zero-width
// joiners that emoji sequences need; whitespace is collapsed and the text cut at max runes.
func PlainText(s string, max int) string {
	s = strings.ToValidUTF8(s, "")
	s = controlChars.ReplaceAllStringFunc(s, func(c string) string {
		if c == "\u200d" || c == "\u200c" {
			return c
		}
		return " "
	})
	s = strings.TrimSpace(blankRuns.ReplaceAllString(s, " "))
	return truncate(s, max)
}

// NoteText keeps the readable text of a reply, with its paragraphs, for the signature page: HTML reduced to text
// (links keep their visible text here, so a mention still reads as one), entities decoded, control and format
// characters removed as in names, and cut at MaxTextRunes.
func NoteText(contentHTML string) string {
	withBreaks := breakTags.ReplaceAllString(strings.ToValidUTF8(contentHTML, ""), "$0\n")
	text := html.UnescapeString(strict.Sanitize(withBreaks))
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		line = controlChars.ReplaceAllString(line, " ")
		lines = append(lines, strings.TrimSpace(blankRuns.ReplaceAllString(line, " ")))
	}
	text = strings.TrimSpace(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
	return truncate(text, MaxTextRunes)
}

func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:max-1])) + "…"
}

// WebURL returns the first of the candidates that is an absolute http or https URL, or "" (a javascript: or
// data: profile link must never reach a page).
func WebURL(candidates ...string) string {
	for _, c := range candidates {
		u, err := url.Parse(strings.TrimSpace(c))
		if err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil {
			return u.String()
		}
	}
	return ""
}
