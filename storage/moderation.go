package storage

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/content"
)

// Moderation writes that must happen together: a block hides what the blocked party signed and drops them as
// followers in the same transaction. Refusing their activities is the inbox's check (IsBlocked), read on every
// request, so a block made from the command line takes effect at once in a running server.

// Block is one row of the blocks table.
type Block struct {
	Kind      string    `db:"kind"`
	Value     string    `db:"value"`
	Reason    string    `db:"reason"`
	CreatedMS int64     `db:"created_at"`
	CreatedAt time.Time `db:"-"`
}

// BlockEffect tells what a block changed besides the block itself.
type BlockEffect struct {
	SignaturesHidden int
	FollowersRemoved int
	AlreadyBlocked   bool
}

// NormaliseBlock checks a block's value and returns it in stored form: an actor as an http(s) IRI with its host in
// canonical form, a domain as a canonical host (content.CanonicalHost: lower case, IDNA in ASCII, no trailing dot,
// no default port). A block of example.com also covers its subdomains.
func NormaliseBlock(kind, value string) (string, error) {
	value = strings.TrimSpace(value)
	switch kind {
	case BlockActor:
		iri, err := canonicalIRI(value)
		if err != nil {
			return "", fmt.Errorf("actor %q: give the actor's IRI, e.g. https://example.social/users/name", value)
		}
		return iri, nil
	case BlockDomain:
		d, err := content.CanonicalHost("", value)
		if err != nil {
			return "", fmt.Errorf("domain %q: give a host name, e.g. example.social (%v)", value, err)
		}
		return d, nil
	}
	return "", fmt.Errorf("block kind %q: want %q or %q", kind, BlockActor, BlockDomain)
}

// canonicalIRI returns an http(s) IRI with its host in canonical form, so that an actor named with another
// spelling of its host is still the same actor.
func canonicalIRI(iri string) (string, error) {
	u, err := url.Parse(iri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("%q is not an http(s) IRI", iri)
	}
	h, err := content.CanonicalHost(u.Scheme, u.Host)
	if err != nil {
		return "", err
	}
	u.Host = h
	return u.String(), nil
}

// domainMatch is the condition selecting rows of a column holding a host that a domain block covers.
func domainMatch(col string) string {
	return `(LOWER(` + col + `) = ? OR LOWER(` + col + `) LIKE ? ESCAPE '\')`
}

func domainArgs(d string) []any {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return []any{d, "%." + r.Replace(d)}
}

// BlockAndHide blocks an actor or a domain, hides their standing signatures and removes them as followers, all in
// one transaction. Blocking again changes nothing more than hiding what appeared since.
func (s *Store) BlockAndHide(ctx context.Context, kind, value, reason string) (BlockEffect, error) {
	var eff BlockEffect
	value, err := NormaliseBlock(kind, value)
	if err != nil {
		return eff, err
	}
	err = s.InTx(ctx, func(t *Tx) error {
		if err := t.lockBlocks(ctx, true); err != nil {
			return err
		}
		res, err := t.tx.ExecContext(ctx, t.tx.Rebind(`INSERT INTO blocks (kind, value, reason, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, value) DO NOTHING`),
			kind, value, reason, ms(s.now()))
		if err != nil {
			return fmt.Errorf("block %s %s: %w", kind, value, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			eff.AlreadyBlocked = true
		}
		sigWhere, folWhere, args := `actor_iri = ?`, `actor_iri = ?`, []any{value}
		if kind == BlockDomain {
			sigWhere, folWhere, args = domainMatch("domain"), domainMatch("domain"), domainArgs(value)
		}
		res, err = t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE signatures SET status = 'hidden' WHERE status <> 'hidden' AND `+sigWhere), args...)
		if err != nil {
			return fmt.Errorf("hide signatures of %s: %w", value, err)
		}
		n, _ := res.RowsAffected()
		eff.SignaturesHidden = int(n)
		res, err = t.tx.ExecContext(ctx, t.tx.Rebind(`DELETE FROM followers WHERE `+folWhere), args...)
		if err != nil {
			return fmt.Errorf("remove followers of %s: %w", value, err)
		}
		n, _ = res.RowsAffected()
		eff.FollowersRemoved = int(n)
		return nil
	})
	return eff, err
}

// BlockedResult is the result recorded for a received activity that a block made before its effects leaves
// without any.
const BlockedResult = "refused: actor or domain blocked"

// Unblock lifts a block and tells whether there was one. Signatures hidden by the block stay hidden: a moderator
// shows them one by one (memo signatures show ID), since some may have been hidden for their own reasons.
func (s *Store) Unblock(ctx context.Context, kind, value string) (bool, error) {
	value, err := NormaliseBlock(kind, value)
	if err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM blocks WHERE kind = ? AND value = ?`), kind, value)
	if err != nil {
		return false, fmt.Errorf("unblock %s %s: %w", kind, value, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Blocks lists every block, newest first.
func (s *Store) Blocks(ctx context.Context) ([]Block, error) {
	out := []Block{}
	if err := s.db.SelectContext(ctx, &out, `SELECT kind, value, reason, created_at FROM blocks ORDER BY created_at DESC, kind, value`); err != nil {
		return nil, fmt.Errorf("list blocks: %w", err)
	}
	for i := range out {
		out[i].CreatedAt = fromMS(out[i].CreatedMS)
	}
	return out, nil
}
