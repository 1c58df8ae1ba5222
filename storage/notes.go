package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Kinds of notes the memo actor writes.
const (
	NoteHowToSign       = "how-to-sign"     // the pinned explanation of how to sign
	NoteRevision        = "revision"        // the announcement of a new revision, with its changelog
	NoteAcknowledgement = "acknowledgement" // the reply to a signer
)

// Note is a Note the memo actor wrote. Content is HTML we produced ourselves; To and Cc are audience IRIs; Tags is
// the JSON array of tag objects (mentions, hashtags) exactly as it goes into the Note.
type Note struct {
	ID          int64         `db:"id"`
	Slug        string        `db:"slug"`
	Kind        string        `db:"kind"`
	Content     string        `db:"content"`
	InReplyTo   string        `db:"in_reply_to"`
	ToJSON      string        `db:"to_json"`
	CcJSON      string        `db:"cc_json"`
	Tags        string        `db:"tags_json"`
	Public      bool          `db:"public"`
	PublishedMS int64         `db:"published_at"`
	DeletedMS   sql.NullInt64 `db:"deleted_at"`

	To          []string  `db:"-"`
	Cc          []string  `db:"-"`
	PublishedAt time.Time `db:"-"`
	DeletedAt   time.Time `db:"-"` // zero while the note stands
}

// Deleted tells whether the note was deleted (its object then answers 410).
func (n Note) Deleted() bool { return n.DeletedMS.Valid }

func (n *Note) fill() error {
	n.PublishedAt, n.DeletedAt = fromMS(n.PublishedMS), fromNullMS(n.DeletedMS)
	if err := json.Unmarshal([]byte(n.ToJSON), &n.To); err != nil {
		return fmt.Errorf("note %s: to: %w", n.Slug, err)
	}
	if err := json.Unmarshal([]byte(n.CcJSON), &n.Cc); err != nil {
		return fmt.Errorf("note %s: cc: %w", n.Slug, err)
	}
	return nil
}

const noteCols = `id, slug, kind, content, in_reply_to, to_json, cc_json, tags_json, public, published_at, deleted_at`

// InsertNote stores n unless a note with its slug exists; it reports whether it
// stored it. Slugs are chosen by the caller so that seeding and publishing can run twice without duplicates.
func (t *Tx) InsertNote(ctx context.Context, n Note) (bool, error) {
	if n.Slug == "" || n.Kind == "" {
		return false, fmt.Errorf("insert note: slug and kind are required")
	}
	if n.PublishedAt.IsZero() {
		n.PublishedAt = t.s.now()
	}
	to, err := json.Marshal(nonNil(n.To))
	if err != nil {
		return false, fmt.Errorf("insert note %s: %w", n.Slug, err)
	}
	cc, err := json.Marshal(nonNil(n.Cc))
	if err != nil {
		return false, fmt.Errorf("insert note %s: %w", n.Slug, err)
	}
	if n.Tags == "" {
		n.Tags = "[]"
	}
	if !json.Valid([]byte(n.Tags)) {
		return false, fmt.Errorf("insert note %s: tags are not JSON", n.Slug)
	}
	res, err := t.tx.ExecContext(ctx, t.tx.Rebind(`INSERT INTO notes (slug, kind, content, in_reply_to, to_json, cc_json, tags_json, public, published_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (slug) DO NOTHING`),
		n.Slug, n.Kind, n.Content, n.InReplyTo, string(to), string(cc), n.Tags, n.Public, ms(n.PublishedAt))
	if err != nil {
		return false, fmt.Errorf("insert note %s: %w", n.Slug, err)
	}
	added, _ := res.RowsAffected()
	return added > 0, nil
}

// DeleteAcknowledgements marks deleted, at now, our acknowledgements of the signing reply replyIRI (they are then
// served as tombstones) and returns them; none when there are none left standing.
func (t *Tx) DeleteAcknowledgements(ctx context.Context, replyIRI string, now time.Time) ([]Note, error) {
	var out []Note
	if err := t.tx.SelectContext(ctx, &out, t.tx.Rebind(`UPDATE notes SET deleted_at = ?
WHERE kind = ? AND in_reply_to = ? AND deleted_at IS NULL RETURNING `+noteCols), ms(now), NoteAcknowledgement, replyIRI); err != nil {
		return nil, fmt.Errorf("delete acknowledgements of %s: %w", replyIRI, err)
	}
	for i := range out {
		if err := out[i].fill(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// InsertNote is Tx.InsertNote in a transaction of its own.
func (s *Store) InsertNote(ctx context.Context, n Note) (bool, error) {
	var added bool
	err := s.InTx(ctx, func(t *Tx) error {
		var err error
		added, err = t.InsertNote(ctx, n)
		return err
	})
	return added, err
}

// NoteBySlug returns one note, deleted or not.
func (s *Store) NoteBySlug(ctx context.Context, slug string) (Note, error) {
	var n Note
	if err := getRow(ctx, s.db, &n, "note "+slug, s.rebind(`SELECT `+noteCols+` FROM notes WHERE slug = ?`), slug); err != nil {
		return n, err
	}
	return n, n.fill()
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
