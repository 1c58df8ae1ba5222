package signing

// Result is what the rules say about one reply.
type Result struct {
	// Signature is true when the text signs; false makes the reply a comment.
	Signature bool
	// Phrase is the configured phrase that matched.
	Phrase     string
	Visibility Visibility
}

// Classify applies the phrase and visibility rules to a reply whose author's followers collection is followers
// (may be empty). Whether the reply answers one of our objects and whether it is authentic are separate checks
// (ReplyTarget, CheckAuthor, CheckNoteHost).
func Classify(n Note, followers string, m *Matcher) Result {
	text := Normalize(n.Content)
	if n.Summary != "" {
		// A content warning is part of what the author wrote; a line break keeps it a clause of its own.
		text = Normalize(n.Summary) + "\n" + text
	}
	phrase, ok := m.Match(text)
	return Result{Signature: ok, Phrase: phrase, Visibility: VisibilityOf(n, followers)}
}
