package storage

import (
	"context"
	"database/sql"
	"fmt"
)

// ArticleState is everything of the living memo's document that changes without a new revision, read in one round
// trip: the memo is the most fetched document, and its four separate reads were most of its cost.
type ArticleState struct {
	Revision   int // the current revision's number; ErrNotFound before the first
	Signatures int
	Counts     InteractionCounts
	CopyOf     string // MetaCopyOf, empty on an origin
}

// ArticleState reads the state of the object objectIRI (the memo) and of the publication around it.
func (s *Store) ArticleState(ctx context.Context, objectIRI string) (ArticleState, error) {
	var row struct {
		Revision   sql.NullInt64  `db:"revision"`
		Signatures sql.NullInt64  `db:"signatures"`
		Replies    sql.NullInt64  `db:"replies"`
		Likes      sql.NullInt64  `db:"likes"`
		Shares     sql.NullInt64  `db:"shares"`
		CopyOf     sql.NullString `db:"copy_of"`
	}
	err := s.db.GetContext(ctx, &row, s.rebind(`SELECT
		(SELECT MAX(number) FROM revisions) AS revision,
		(SELECT public + private FROM signature_counts WHERE id = 1) AS signatures,
		(SELECT replies FROM interaction_counts WHERE object_iri = ?) AS replies,
		(SELECT likes FROM interaction_counts WHERE object_iri = ?) AS likes,
		(SELECT shares FROM interaction_counts WHERE object_iri = ?) AS shares,
		(SELECT value FROM meta WHERE key = ?) AS copy_of`), objectIRI, objectIRI, objectIRI, MetaCopyOf)
	if err != nil {
		return ArticleState{}, fmt.Errorf("article state of %s: %w", objectIRI, err)
	}
	if !row.Revision.Valid {
		return ArticleState{}, ErrNotFound
	}
	return ArticleState{
		Revision: int(row.Revision.Int64), Signatures: int(row.Signatures.Int64), CopyOf: row.CopyOf.String,
		Counts: InteractionCounts{Replies: int(row.Replies.Int64), Likes: int(row.Likes.Int64), Shares: int(row.Shares.Int64)},
	}, nil
}
