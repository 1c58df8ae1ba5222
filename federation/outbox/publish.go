package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/as"
	"github.com/memo-fediverse/memo/storage"
)

// EnsurePublished records the outbox activities of seeded objects that lack one: it seeds the "how to sign" note,
// then stores a Create for the memo Article (as of revision 1), for each impulse Note and for that note. Activity
// addresses are derived from the objects, so a second run stores nothing new. Nothing is delivered: these
// objects were there before anyone could follow.
//
// phrases are the configured signing phrases (none: the defaults), quoted by the texts that say how to sign.
func EnsurePublished(ctx context.Context, store *storage.Store, urls content.URLs, phrases ...string) error {
	o := as.New(urls, store, phrases)
	seed := as.HowToSignNote(urls, phrases, store.Now())
	if _, err := store.InsertNote(ctx, seed); err != nil {
		return fmt.Errorf("seed the how-to-sign note: %w", err)
	}

	first, err := store.Revision(ctx, 1)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // nothing seeded yet: the caller seeds the memo first
	}
	if err != nil {
		return fmt.Errorf("ensure published: %w", err)
	}
	if err := o.EnsureCreated(ctx, as.CreateMemoName(), first.PublishedAt, func() (map[string]any, error) {
		return o.Article(ctx, first, first, urls.Memo())
	}); err != nil {
		return err
	}

	imps, err := store.Impulses(ctx)
	if err != nil {
		return fmt.Errorf("ensure published: %w", err)
	}
	for _, imp := range imps {
		if imp.Retracted() {
			continue
		}
		if err := o.EnsureCreated(ctx, as.CreateImpulseName(imp.Slug), imp.PublishedAt, func() (map[string]any, error) {
			return o.ImpulseNote(ctx, imp, first.Title)
		}); err != nil {
			return err
		}
	}

	howto, err := store.NoteBySlug(ctx, content.HowToSignSlug)
	if err != nil {
		return fmt.Errorf("ensure published: %w", err)
	}
	if howto.Deleted() {
		return nil
	}
	if howto.Content != seed.Content {
		slog.Warn("the pinned how-to-sign note quotes other signing phrases than the configured ones; it is kept as published",
			"note", urls.Note(content.HowToSignSlug))
	}
	return o.EnsureCreated(ctx, as.CreateNoteName(howto.Slug), howto.PublishedAt, func() (map[string]any, error) {
		return o.StoredNote(ctx, howto)
	})
}

// PublishRevision stores doc as the next revision with its outgoing activities and returns its number. In one
// transaction it stores the revision, an Update of the memo Article carrying the new text (so Mastodon shows the
// memo as edited), and a Create of a Note announcing the revision and its changelog, both with one pending
// delivery per follower inbox (shared inboxes preferred). Delivery workers send them later.
//
// phrases are the configured signing phrases (none: the defaults), quoted by the summary and the attribution.
func PublishRevision(ctx context.Context, store *storage.Store, urls content.URLs, doc content.Document, changelog string, phrases ...string) (int, error) {
	o := as.New(urls, store, phrases)
	first, err := store.Revision(ctx, 1)
	if err != nil {
		return 0, fmt.Errorf("publish: the memo has no revision 1 yet: %w", err)
	}
	now := store.Now()
	rev := storage.Revision{
		Title: doc.Title, Summary: content.AbstractWith(o.SignPhrase()), Markdown: doc.Markdown, HTML: doc.HTML,
		Changelog: changelog, PublishedAt: now,
	}
	var number int
	err = store.InTx(ctx, func(tx *storage.Tx) error {
		n, err := tx.AddRevision(ctx, rev)
		if err != nil {
			return err
		}
		number, rev.Number = n, n
		recipients, err := tx.FollowerRecipients(ctx)
		if err != nil {
			return err
		}

		article, err := o.Article(ctx, rev, first, urls.Memo())
		if err != nil {
			return fmt.Errorf("build revision %d: %w", n, err)
		}
		update, err := o.Activity("Update", o.ActivityIRI(as.UpdateMemoName(n)), article, now)
		if err != nil {
			return err
		}
		if err := tx.InsertActivity(ctx, update, recipients); err != nil {
			return err
		}

		announce := as.RevisionNote(urls, rev, now)
		if _, err := tx.InsertNote(ctx, announce); err != nil {
			return err
		}
		announce.Tags = "[]"
		note, err := o.NewNote(announce)
		if err != nil {
			return fmt.Errorf("build the announcement of revision %d: %w", n, err)
		}
		create, err := o.Activity("Create", o.ActivityIRI(as.CreateNoteName(announce.Slug)), note, now)
		if err != nil {
			return err
		}
		return tx.InsertActivity(ctx, create, recipients)
	})
	if err != nil {
		return 0, fmt.Errorf("publish revision: %w", err)
	}
	return number, nil
}

// Seed publishes the shipped memo as revision 1 and its impulses on a new database (first start), then makes sure
// every seeded object has its outbox activity. On a database that has a revision 1 it only does the latter.
func Seed(ctx context.Context, store *storage.Store, urls content.URLs, phrases ...string) error {
	if seeded, err := store.LocalObjectExists(ctx, "revision", "1"); err != nil {
		return err
	} else if seeded {
		return EnsurePublished(ctx, store, urls, phrases...)
	}
	doc, err := content.Parse([]byte(content.MemoMarkdown()))
	if err != nil {
		return fmt.Errorf("shipped memo: %w", err)
	}
	imps, err := content.ParseImpulses(content.ImpulsesMarkdown())
	if err != nil {
		return fmt.Errorf("shipped impulses: %w", err)
	}
	if err := store.SeedRevision(ctx, storage.Revision{
		Title: doc.Title, Summary: content.AbstractWith(content.SigningPhrases(phrases)[0]), Markdown: doc.Markdown, HTML: doc.HTML,
		Changelog: "Version du 3 mai 2020.", PublishedAt: content.FirstRevisionDate,
	}); err != nil {
		return err
	}
	for _, it := range imps.Items {
		if err := store.PutImpulse(ctx, storage.Impulse{
			Slug: it.Slug, Kind: it.Kind, Position: it.Position, Markdown: it.Markdown, HTML: it.HTML,
			PublishedAt: content.FirstRevisionDate, UpdatedAt: content.FirstRevisionDate,
		}); err != nil {
			return err
		}
	}
	return EnsurePublished(ctx, store, urls, phrases...)
}
