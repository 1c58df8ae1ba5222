package signing

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/memo-fediverse/memo/content"
)

// ErrForged marks a reply whose ownership does not hold; the inbox refuses it and stores nothing.
var ErrForged = errors.New("forged reply")

// CheckAuthor requires the note to be attributed to the activity's actor, and to no one else: a signature in
// someone else's name is refused even when it arrives correctly signed.
func CheckAuthor(activityActor string, n Note) error {
	if len(n.AttributedTo) == 0 {
		return fmt.Errorf("%w: note %s has no attributedTo", ErrForged, n.ID)
	}
	for _, a := range n.AttributedTo {
		if a != activityActor {
			return fmt.Errorf("%w: note %s is attributed to %s, not to the sender %s", ErrForged, n.ID, a, activityActor)
		}
	}
	return nil
}

// CheckNoteHost requires the note's id to live on the actor's host, so an actor cannot sign with a note that
// another server would answer for.
func CheckNoteHost(actorIRI string, n Note) error {
	ah, err := hostOf(actorIRI)
	if err != nil {
		return fmt.Errorf("%w: actor %w", ErrForged, err)
	}
	nh, err := hostOf(n.ID)
	if err != nil {
		return fmt.Errorf("%w: note %w", ErrForged, err)
	}
	if ah != nh {
		return fmt.Errorf("%w: note %s is on %s, its actor on %s", ErrForged, n.ID, nh, ah)
	}
	return nil
}

// SameNote compares a forwarded note with the copy fetched from its own server: the fields that decide whether
// and how it signs must agree.
func SameNote(forwarded, fetched Note) error {
	switch {
	case forwarded.ID != fetched.ID:
		return fmt.Errorf("%w: fetched note is %s, not %s", ErrForged, fetched.ID, forwarded.ID)
	case strings.Join(forwarded.AttributedTo, " ") != strings.Join(fetched.AttributedTo, " "):
		return fmt.Errorf("%w: note %s: forwarded and fetched authors differ", ErrForged, forwarded.ID)
	case forwarded.InReplyTo != fetched.InReplyTo:
		return fmt.Errorf("%w: note %s: forwarded and fetched inReplyTo differ", ErrForged, forwarded.ID)
	case Normalize(forwarded.Content) != Normalize(fetched.Content):
		return fmt.Errorf("%w: note %s: forwarded and fetched text differ", ErrForged, forwarded.ID)
	case VisibilityOf(forwarded, "") != VisibilityOf(fetched, ""):
		return fmt.Errorf("%w: note %s: forwarded and fetched addressing differ", ErrForged, forwarded.ID)
	}
	return nil
}

// hostOf returns the canonical host (content.CanonicalHost) of an http(s) IRI.
func hostOf(iri string) (string, error) {
	u, err := url.Parse(iri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) IRI", iri)
	}
	h := content.URLHost(iri)
	if h == "" {
		return "", fmt.Errorf("%q has no valid host", iri)
	}
	return h, nil
}
