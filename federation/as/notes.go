package as

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/go-fed/activity/streams"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// howToSignHTML explains signing by reply, in French then English, quoting the phrases the inbox recognises
// (content.DefaultSigningPhrases when none are configured).
func howToSignHTML(urls content.URLs, configured []string) string {
	memo := html.EscapeString(urls.Memo())
	sigs := html.EscapeString(urls.Signatures())
	var fr, en []string
	for _, p := range content.SigningPhrases(configured) {
		fr = append(fr, "« "+html.EscapeString(p)+" »")
		en = append(en, "“"+html.EscapeString(p)+"”")
	}
	return `<p><strong>Comment signer le mémo</strong></p>` +
		`<p>Depuis votre compte du fédivers (Mastodon, GoToSocial, Pleroma, Misskey…), répondez <a href="` + memo + `">au mémo</a>, ` +
		`à une de ses impulsions ou à ce message en écrivant l’une de ces formules : ` + strings.Join(fr, ", ") + `. ` +
		`Une réponse publique ou non listée vous fait apparaître dans <a href="` + sigs + `">la liste des signatures</a> ; ` +
		`une réponse réservée à vos abonné·es ou mentionnée seulement est comptée sans que votre nom soit affiché. ` +
		`Pour retirer votre signature, supprimez votre réponse.</p>` +
		`<p><strong>How to sign the memo</strong></p>` +
		`<p>From your fediverse account, reply to the memo, to one of its impulses or to this post with one of these ` +
		`phrases: ` + strings.Join(en, ", ") + `. Public and unlisted replies are listed; followers-only or direct ` +
		`ones are counted without your name. Delete your reply to withdraw.</p>`
}

// HowToSignNote is the seeded row of the pinned "how to sign" note. It is written once, at the first start, with
// the phrases configured then: remote servers keep the copy they received, so the note is not rewritten when the
// phrases change later (EnsurePublished warns when it no longer matches them).
func HowToSignNote(urls content.URLs, phrases []string, now time.Time) storage.Note {
	return storage.Note{
		Slug: content.HowToSignSlug, Kind: storage.NoteHowToSign, Content: howToSignHTML(urls, phrases),
		To: []string{asPublic}, Cc: []string{urls.Followers()}, Public: true, PublishedAt: now,
	}
}

// revisionNoteSlug names the note announcing revision n.
func revisionNoteSlug(n int) string { return fmt.Sprintf("revision-%d", n) }

// RevisionNote announces revision n and what changed in it. The changelog is the publisher's plain text.
func RevisionNote(urls content.URLs, rev storage.Revision, now time.Time) storage.Note {
	body := fmt.Sprintf(`<p>Nouvelle révision du mémo « <a href="%s">%s</a> » : révision %d.</p><p>Ce qui change : %s</p><p><a href="%s">Voir les différences</a> · <a href="%s">toutes les révisions</a></p>`,
		html.EscapeString(urls.Memo()), html.EscapeString(rev.Title), rev.Number, html.EscapeString(rev.Changelog),
		html.EscapeString(urls.Diff(rev.Number-1, rev.Number)), html.EscapeString(urls.Revisions()))
	return storage.Note{
		Slug: revisionNoteSlug(rev.Number), Kind: storage.NoteRevision, Content: body,
		To: []string{asPublic}, Cc: []string{urls.Followers()}, Public: true, PublishedAt: now,
	}
}

// StoredNote builds a note of the notes table as a Note, with its interaction counts.
func (o Builder) StoredNote(ctx context.Context, n storage.Note) (map[string]any, error) {
	m, err := o.noteDocument(n)
	if err != nil {
		return nil, err
	}
	if err := o.withInteractions(ctx, m, o.urls.Note(n.Slug)); err != nil {
		return nil, err
	}
	return m, nil
}

// NewNote builds a note being created inside a write transaction: no database read, no interactions yet.
func (o Builder) NewNote(n storage.Note) (map[string]any, error) {
	m, err := o.noteDocument(n)
	if err != nil {
		return nil, err
	}
	if err := withNoInteractions(m, o.urls.Note(n.Slug)); err != nil {
		return nil, err
	}
	return m, nil
}

// noteDocument is a note of the notes table as a Note, without its interaction collections.
func (o Builder) noteDocument(n storage.Note) (map[string]any, error) {
	id := o.urls.Note(n.Slug)
	Note := streams.NewActivityStreamsNote()
	Note.SetJSONLDId(idProp(id))
	Note.SetActivityStreamsContent(contentProp(n.Content))
	Note.SetActivityStreamsUrl(urlProp(id))
	Note.SetActivityStreamsPublished(publishedProp(n.PublishedAt))
	Note.SetActivityStreamsAttributedTo(attributedToProp(o.urls.Actor()))
	Note.SetActivityStreamsTo(toProp(n.To...))
	Note.SetActivityStreamsCc(ccProp(n.Cc...))
	if u, ok := remoteIRI(n.InReplyTo); ok {
		irt := streams.NewActivityStreamsInReplyToProperty()
		irt.AppendIRI(u)
		Note.SetActivityStreamsInReplyTo(irt)
	}
	Note.SetActivityStreamsContext(contextProp(o.urls.Memo()))
	if n.Kind == storage.NoteHowToSign {
		Note.SetActivityStreamsName(nameProp("Comment signer le mémo"))
	}
	m, err := serialize(Note)
	if err != nil {
		return nil, err
	}
	m["contentMap"] = languageMap(n.Content)
	var tags []any
	if err := json.Unmarshal([]byte(n.Tags), &tags); err != nil {
		return nil, fmt.Errorf("note %s: tags: %w", n.Slug, err)
	}
	m["tag"] = append([]any{}, tags...)
	m["attachment"] = []any{}
	m["sensitive"] = false
	keepAudienceArrays(m)
	return m, nil
}

// Note serves a Note by slug: public ones only (others were addressed to someone and are not listed), and a
// Tombstone once deleted.
func (o Builder) Note(ctx context.Context, slug string) (map[string]any, error) {
	n, err := o.store.NoteBySlug(ctx, slug)
	if err != nil {
		return nil, StoreErr(err, "no note %q", slug)
	}
	if !n.Public {
		return nil, NotFound("no note %q", slug)
	}
	if n.Deleted() {
		t, err := o.tombstone(o.urls.Note(slug), "Note", n.DeletedAt)
		if err != nil {
			return nil, err
		}
		return nil, Gone(t)
	}
	return o.StoredNote(ctx, n)
}
