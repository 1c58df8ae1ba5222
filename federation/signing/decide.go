package signing

import (
	"fmt"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// Reply is one authenticated reply as the inbox hands it over: the HTTP signature verified, its key owned by
// Sender, the activity's actor equal to Sender.
type Reply struct {
	Sender          string // the activity's actor, owner of the key that signed the request
	Note            Note
	Author          Actor // the note author's actor document
	CurrentRevision int
	ReceivedAt      time.Time
	// RevisionPublishedAt is when the revision the reply signs was published (zero when unknown): a reply cannot
	// sign a text before it existed.
	RevisionPublishedAt time.Time
}

// Decision is what a reply amounts to.
type Decision struct {
	Target Target
	Result Result
	// Record is filled when Result.Signature is true.
	Record Record
}

// Decide runs every rule on a reply: it must answer one of our objects (else ErrNotOurs), be written by its
// sender on the sender's host (else ErrForged), and then it is a signature or a comment. The inbox still has to
// check that an impulse slug exists, and that the actor has not signed already (storage.ErrAlreadySigned).
func Decide(urls content.URLs, m *Matcher, r Reply) (Decision, error) {
	var d Decision
	t, err := ReplyTarget(urls, r.Note.InReplyTo)
	if err != nil {
		return d, err
	}
	d.Target = t
	if err := CheckAuthor(r.Sender, r.Note); err != nil {
		return d, err
	}
	if err := CheckNoteHost(r.Sender, r.Note); err != nil {
		return d, err
	}
	if r.Author.IRI != r.Sender {
		return d, fmt.Errorf("%w: actor document %s is not the sender %s", ErrForged, r.Author.IRI, r.Sender)
	}
	d.Result = Classify(r.Note, r.Author.Followers, m)
	if !d.Result.Signature {
		return d, nil
	}
	d.Record, err = NewRecord(r.Author, r.Note, d.Result.Visibility, RevisionSigned(t, r.CurrentRevision), r.ReceivedAt)
	d.Record.SignedAt = SignatureDate(r.Note.Published, r.ReceivedAt, r.RevisionPublishedAt)
	return d, err
}

// MaxClockSkew is how far in the future of its reception a reply's published date may be and still be believed:
// servers' clocks drift a little.
const MaxClockSkew = 5 * time.Minute

// SignatureDate is the date a signature shows: the reply's published date when it is plausible (not after its
// reception beyond MaxClockSkew, not before the revision it signs was published), the reception time otherwise.
// A published date a little ahead of the reception is brought back to it: nothing is signed in our future. The
// sender's server states published as it likes; the reception time is ours, and both are kept.
func SignatureDate(published, received, revisionPublished time.Time) time.Time {
	received = received.UTC()
	switch {
	case published.IsZero(),
		published.After(received.Add(MaxClockSkew)),
		!revisionPublished.IsZero() && published.Before(revisionPublished):
		return received
	case published.After(received):
		return received
	}
	return published.UTC()
}

// Row is the record as a storage row, with its evidence (Evidence.Marshal).
func (r Record) Row(actorType, evidence string) storage.Signature {
	return storage.Signature{
		ActorIRI: r.ActorIRI, ActorType: PlainText(actorType, 40), Handle: r.Handle, DisplayName: r.DisplayName,
		Domain: r.Domain, ProfileURL: r.ProfileURL, NoteIRI: r.NoteIRI, InReplyTo: r.InReplyTo, Content: r.Text,
		Revision: r.Revision, Visibility: string(r.Visibility), Evidence: evidence, SignedAt: r.SignedAt,
		ReceivedAt: r.ReceivedAt,
	}
}
