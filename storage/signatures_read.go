package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The web pages read signatures with these rules: a row counts while it stands (not withdrawn, not hidden by a
// moderator, as CountSignatures counts); it is listed by name only when its reply was 'public' or 'unlisted'
// (followers-only and direct replies are private signatures, counted but never named).
const (
	activeWhere = `withdrawn_at IS NULL AND status <> 'hidden'`
	listedWhere = activeWhere + ` AND visibility IN ('public', 'unlisted')`
)

// ListedSignature is what the web shows of one signature: public profile data only, never the evidence.
type ListedSignature struct {
	ID          int64     `db:"id"`
	ActorIRI    string    `db:"actor_iri"`
	ActorType   string    `db:"actor_type"`
	Handle      string    `db:"handle"`
	DisplayName string    `db:"display_name"`
	Domain      string    `db:"domain"`
	ProfileURL  string    `db:"profile_url"`
	NoteIRI     string    `db:"note_iri"`
	Revision    int       `db:"revision"`
	SignedMS    int64     `db:"signed_at"`
	SignedAt    time.Time `db:"-"`
}

const listedCols = `id, actor_iri, actor_type, handle, display_name, domain, profile_url, note_iri, revision, signed_at`

// SignatureQuery selects a page of listed signatures, oldest first (signature number order). Search matches the
// display name, the handle or the instance. After and Before are keyset cursors (signature ids); at most one is set.
type SignatureQuery struct {
	Search string
	After  int64
	Before int64
	Limit  int
}

// ListedSignatures returns one page of listed signatures in ascending id order.
func (s *Store) ListedSignatures(ctx context.Context, q SignatureQuery) ([]ListedSignature, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	sq, err := s.searchFor(ctx, q.Search)
	if err != nil {
		return nil, err
	}
	where, args := sq.and(), sq.args
	order := "ASC"
	switch {
	case q.Before > 0:
		where += ` AND ` + sq.id + ` < ?`
		args = append(args, q.Before)
		order = "DESC"
	case q.After > 0:
		where += ` AND ` + sq.id + ` > ?`
		args = append(args, q.After)
	}
	args = append(args, q.Limit)
	var out []ListedSignature
	query := `SELECT ` + listedCols + sq.from + ` WHERE ` + listedWhere + where + ` ORDER BY ` + sq.id + ` ` + order + ` LIMIT ?`
	if err := s.db.SelectContext(ctx, &out, s.rebind(query), args...); err != nil {
		return nil, fmt.Errorf("list signatures: %w", err)
	}
	if order == "DESC" {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	for i := range out {
		out[i].SignedAt = fromMS(out[i].SignedMS)
	}
	return out, nil
}

// countListedSignatures counts the listed signatures a search matches.
func (s *Store) countListedSignatures(ctx context.Context, search string) (int, error) {
	sq, err := s.searchFor(ctx, search)
	if err != nil {
		return 0, err
	}
	where, args := sq.and(), sq.args
	query := `SELECT COUNT(*)` + sq.from + ` WHERE ` + listedWhere + where
	if where == "" {
		// Without a search every listed signature matches: read the kept count, not a million rows.
		query = `SELECT public FROM signature_counts WHERE id = 1`
	}
	var n int
	if err := s.db.GetContext(ctx, &n, s.rebind(query), args...); err != nil {
		return 0, fmt.Errorf("count listed signatures: %w", err)
	}
	return n, nil
}

// CountListedSignaturesUpTo counts the listed signatures a search finds, stopping past limit: a word that most
// signers share would otherwise cost as many index reads as it has matches, on every page of its results. It
// returns limit+1 when there are more than limit.
func (s *Store) CountListedSignaturesUpTo(ctx context.Context, search string, limit int) (int, error) {
	sq, err := s.searchFor(ctx, search)
	if err != nil {
		return 0, err
	}
	where, args := sq.and(), sq.args
	if where == "" {
		n, err := s.countListedSignatures(ctx, "")
		return min(n, limit+1), err
	}
	args = append(args, limit+1)
	var n int
	query := `SELECT COUNT(*) FROM (SELECT ` + sq.id + sq.from + ` WHERE ` + listedWhere + where + ` LIMIT ?) AS x`
	if err := s.db.GetContext(ctx, &n, s.rebind(query), args...); err != nil {
		return 0, fmt.Errorf("count listed signatures: %w", err)
	}
	return n, nil
}

// HasListedSignature tells whether a listed signature exists on the given side of id, for pagination links.
func (s *Store) HasListedSignature(ctx context.Context, search string, beyond int64, after bool) (bool, error) {
	sq, err := s.searchFor(ctx, search)
	if err != nil {
		return false, err
	}
	where, args := sq.and(), sq.args
	// The ORDER BY matters on PostgreSQL: without it, the generic plan of the prepared statement is a sequential
	// scan that stops at the first match, which is the whole table when there is none, on every
	// page; ordered by id, the plan walks the index from beyond.
	cmp := " AND " + sq.id + " < ? ORDER BY " + sq.id + " DESC"
	if after {
		cmp = " AND " + sq.id + " > ? ORDER BY " + sq.id
	}
	args = append(args, beyond)
	var n int
	if err := s.db.GetContext(ctx, &n, s.rebind(`SELECT COUNT(*) FROM (SELECT `+sq.id+sq.from+` WHERE `+listedWhere+where+cmp+` LIMIT 1) AS x`), args...); err != nil {
		return false, fmt.Errorf("look for more signatures: %w", err)
	}
	return n > 0, nil
}

// ListedSignatureByID returns one listed signature; a private, hidden or withdrawn one is ErrNotFound.
func (s *Store) ListedSignatureByID(ctx context.Context, id int64) (ListedSignature, error) {
	var sig ListedSignature
	if err := getRow(ctx, s.db, &sig, "signature "+strconv.FormatInt(id, 10), s.rebind(`SELECT `+listedCols+` FROM signatures WHERE id = ? AND `+listedWhere), id); err != nil {
		return sig, err
	}
	sig.SignedAt = fromMS(sig.SignedMS)
	return sig, nil
}

// signatureListCols leaves the evidence out of lists: it can weigh kilobytes per row and lists never show it.
const signatureListCols = `id, actor_iri, actor_type, handle, display_name, domain, profile_url, note_iri, in_reply_to, content, revision, visibility, status, via_copy, '' AS evidence, signed_at, withdrawn_at`

// SignatureCounts are the numbers the collection and the pages announce.
type SignatureCounts struct {
	Public    int `db:"public"`    // standing, listed by name
	Private   int `db:"private"`   // standing, followers-only or direct: counted, never named
	Withdrawn int `db:"withdrawn"` // withdrawn by their signer
	Hidden    int `db:"hidden"`    // hidden by a moderator (and not withdrawn)
}

// Total is the number of signatures that count, the number every page and collection announces: public and
// private.
func (c SignatureCounts) Total() int { return c.Public + c.Private }

// CountSignatures counts signatures by state.
func (s *Store) CountSignatures(ctx context.Context) (SignatureCounts, error) {
	var c SignatureCounts
	// Kept by triggers (migration 0006) in the transactions that change signatures.
	err := s.db.GetContext(ctx, &c, `SELECT public, private, withdrawn, hidden FROM signature_counts WHERE id = 1`)
	if err != nil {
		return c, fmt.Errorf("count signatures: %w", err)
	}
	return c, nil
}

// InstanceCount is the number of listed signatures from one instance.
type InstanceCount struct {
	Domain string `db:"domain"`
	Count  int    `db:"n"`
}

// SignaturesPerInstance counts listed signatures per instance, largest first. Private signatures are left out:
// a count per instance could point at who signed privately on a small one.
func (s *Store) SignaturesPerInstance(ctx context.Context, limit int) ([]InstanceCount, error) {
	if limit <= 0 {
		limit = 100
	}
	out := []InstanceCount{}
	// Kept by triggers (migration 0007), so the cost does not grow with the signatures.
	err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT domain, listed AS n FROM signature_domains WHERE listed > 0
		ORDER BY listed DESC, domain LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("signatures per instance: %w", err)
	}
	return out, nil
}

// SignatureFilter selects signatures newest first, by keyset: Before is the id of the last row of the previous
// page (0 for the first page), After the id of the first row of the next one, to page back (rows still come
// newest first). Search matches display name, handle or instance, ignoring case and accents. By default only
// listed signatures are returned; the flags widen that for moderators.
type SignatureFilter struct {
	Before, After    int64
	Limit            int
	Search           string
	IncludePrivate   bool // followers-only and direct ones too
	IncludeInactive  bool // withdrawn and hidden ones too
	IncludeEvidence  bool // only for EachSignature
	OldestFirstOrder bool // only for EachSignature
}

// where returns how the filter reads signatures (see searchFor) and its WHERE clause with arguments.
func (f SignatureFilter) where(sq searchSQL) (searchSQL, string, []any) {
	var conds []string
	var args []any
	switch {
	case !f.IncludePrivate && !f.IncludeInactive:
		conds = append(conds, listedWhere)
	case !f.IncludeInactive:
		conds = append(conds, activeWhere)
	case !f.IncludePrivate:
		conds = append(conds, `visibility IN ('public', 'unlisted')`)
	}
	if sq.cond != "" {
		conds = append(conds, sq.cond)
		args = append(args, sq.args...)
	}
	if len(conds) == 0 {
		return sq, "", args
	}
	return sq, " WHERE " + strings.Join(conds, " AND "), args
}

// Signatures returns one page of signatures, newest first. It reads the signatures_listed index, so every page
// costs about the same however long the list; a search reads the search index.
func (s *Store) Signatures(ctx context.Context, f SignatureFilter) ([]Signature, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 50
	}
	search, err := s.searchFor(ctx, f.Search)
	if err != nil {
		return nil, err
	}
	sq, where, args := f.where(search)
	order := "DESC"
	add := func(cond string, v int64) {
		if where == "" {
			where = " WHERE " + cond
		} else {
			where += " AND " + cond
		}
		args = append(args, v)
	}
	switch {
	case f.Before > 0:
		add(sq.id+" < ?", f.Before)
	case f.After > 0:
		add(sq.id+" > ?", f.After)
		order = "ASC"
	}
	args = append(args, f.Limit)
	out := []Signature{}
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT `+signatureListCols+sq.from+where+` ORDER BY `+sq.id+` `+order+` LIMIT ?`), args...); err != nil {
		return nil, fmt.Errorf("list signatures: %w", err)
	}
	if order == "ASC" {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	for i := range out {
		out[i].fill()
	}
	return out, nil
}

// EachSignature streams every signature the filter selects (Before, After and Limit are ignored) to fn, newest
// first unless OldestFirstOrder, without holding them all in memory. fn's error stops the walk and is returned.
func (s *Store) EachSignature(ctx context.Context, f SignatureFilter, fn func(Signature) error) error {
	cols := signatureListCols
	if f.IncludeEvidence {
		cols = signatureCols
	}
	order := "DESC"
	if f.OldestFirstOrder {
		order = "ASC"
	}
	search, err := s.searchFor(ctx, f.Search)
	if err != nil {
		return err
	}
	sq, where, args := f.where(search)
	rows, err := s.db.QueryxContext(ctx, s.rebind(`SELECT `+cols+sq.from+where+` ORDER BY `+sq.id+` `+order), args...)
	if err != nil {
		return fmt.Errorf("export signatures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g Signature
		if err := rows.StructScan(&g); err != nil {
			return fmt.Errorf("export signatures: %w", err)
		}
		g.fill()
		if err := fn(g); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export signatures: %w", err)
	}
	return nil
}
