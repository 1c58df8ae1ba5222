package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Impulse is a lesson or a measure as stored.
type Impulse struct {
	Slug        string        `db:"slug"`
	Kind        string        `db:"kind"`
	Position    int           `db:"position"`
	Markdown    string        `db:"markdown"`
	HTML        string        `db:"html"`
	PublishedMS int64         `db:"published_at"`
	UpdatedMS   int64         `db:"updated_at"`
	RetractedMS sql.NullInt64 `db:"retracted_at"`

	PublishedAt time.Time `db:"-"`
	UpdatedAt   time.Time `db:"-"`
	RetractedAt time.Time `db:"-"` // zero while published
}

func (i *Impulse) fill() {
	i.PublishedAt, i.UpdatedAt, i.RetractedAt = fromMS(i.PublishedMS), fromMS(i.UpdatedMS), fromNullMS(i.RetractedMS)
}

// Retracted tells whether the impulse was withdrawn (its object then answers 410).
func (i Impulse) Retracted() bool { return i.RetractedMS.Valid }

const impulseCols = `slug, kind, position, markdown, html, published_at, updated_at, retracted_at`

// PutImpulse inserts an impulse, or updates its text if it exists.
func (s *Store) PutImpulse(ctx context.Context, imp Impulse) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO impulses (`+impulseCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
		ON CONFLICT (slug) DO UPDATE SET markdown = excluded.markdown, html = excluded.html, updated_at = excluded.updated_at`),
		imp.Slug, imp.Kind, imp.Position, imp.Markdown, imp.HTML, ms(imp.PublishedAt), ms(imp.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put impulse %s: %w", imp.Slug, err)
	}
	return nil
}

// Impulses lists every impulse, retracted ones included, lessons first, in order.
func (s *Store) Impulses(ctx context.Context) ([]Impulse, error) {
	var out []Impulse
	if err := s.db.SelectContext(ctx, &out, `SELECT `+impulseCols+` FROM impulses ORDER BY CASE kind WHEN 'lesson' THEN 0 ELSE 1 END, position`); err != nil {
		return nil, fmt.Errorf("list impulses: %w", err)
	}
	for i := range out {
		out[i].fill()
	}
	return out, nil
}

// Impulse returns one impulse by slug.
func (s *Store) Impulse(ctx context.Context, slug string) (Impulse, error) {
	var imp Impulse
	if err := getRow(ctx, s.db, &imp, "impulse "+slug, s.rebind(`SELECT `+impulseCols+` FROM impulses WHERE slug = ?`), slug); err != nil {
		return imp, err
	}
	imp.fill()
	return imp, nil
}

// RetractImpulse marks an impulse withdrawn. It reports ErrNotFound for an unknown or already retracted slug.
func (s *Store) RetractImpulse(ctx context.Context, slug string) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE impulses SET retracted_at = ? WHERE slug = ? AND retracted_at IS NULL`), ms(s.now()), slug)
	if err != nil {
		return fmt.Errorf("retract impulse %s: %w", slug, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
