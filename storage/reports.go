package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds of the reports kept: what another instance's moderators send is stored, but never without limit.
const (
	MaxReportsPerHost   = 1000 // the latest reports of each host are kept, older ones dropped
	MaxReportComment    = 2000 // bytes of the comment kept
	MaxReportObjects    = 20   // reported objects kept
	maxReportObjectSize = 500  // bytes of each object's IRI kept
)

// Report is a Flag received from another instance: its moderators report our actor or some of our objects.
type Report struct {
	ID          int64     `db:"id"`
	ActivityIRI string    `db:"activity_iri"`
	ActorIRI    string    `db:"actor_iri"`
	Domain      string    `db:"domain"`
	ObjectsJSON string    `db:"objects"`
	Comment     string    `db:"comment"`
	ReceivedMS  int64     `db:"received_at"`
	Objects     []string  `db:"-"`
	ReceivedAt  time.Time `db:"-"`
}

// AddReport stores a report, clipped to the bounds above, and drops the host's reports beyond the latest
// MaxReportsPerHost. It reports whether the report was new (a Flag received twice is stored once).
func (t *Tx) AddReport(ctx context.Context, r Report) (bool, error) {
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = t.s.now()
	}
	var objects []string
	for _, o := range r.Objects {
		if len(objects) == MaxReportObjects {
			break
		}
		objects = append(objects, clipText(o, maxReportObjectSize))
	}
	if objects == nil {
		objects = []string{}
	}
	objJSON, err := json.Marshal(objects)
	if err != nil {
		return false, fmt.Errorf("encode report objects: %w", err)
	}
	res, err := t.tx.ExecContext(ctx, t.tx.Rebind(`INSERT INTO reports (activity_iri, actor_iri, domain, objects, comment, received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (activity_iri) DO NOTHING`),
		r.ActivityIRI, r.ActorIRI, r.Domain, string(objJSON), clipText(r.Comment, MaxReportComment), ms(r.ReceivedAt))
	if err != nil {
		return false, fmt.Errorf("store report %s: %w", r.ActivityIRI, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(`DELETE FROM reports WHERE domain = ? AND id <= (SELECT id FROM reports WHERE domain = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`),
		r.Domain, r.Domain, MaxReportsPerHost); err != nil {
		return false, fmt.Errorf("drop old reports of %s: %w", r.Domain, err)
	}
	return true, nil
}

// Reports lists the latest reports, newest first.
func (s *Store) Reports(ctx context.Context, limit int) ([]Report, error) {
	if limit <= 0 {
		limit = 50
	}
	var out []Report
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT id, activity_iri, actor_iri, domain, objects, comment, received_at FROM reports ORDER BY id DESC LIMIT ?`), limit); err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	for i := range out {
		out[i].ReceivedAt = fromMS(out[i].ReceivedMS)
		if err := json.Unmarshal([]byte(out[i].ObjectsJSON), &out[i].Objects); err != nil {
			return nil, fmt.Errorf("report %d objects: %w", out[i].ID, err)
		}
	}
	return out, nil
}

// clipText keeps at most max bytes of s, cut on a character boundary, with control characters (terminal escapes
// included) turned into spaces: reports are read in a terminal.
func clipText(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
