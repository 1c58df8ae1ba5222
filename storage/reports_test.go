package storage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestReportsBounded: each host keeps its latest MaxReportsPerHost reports, objects and comment are clipped, and a
// report received twice is stored once.
func TestReportsBounded(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		var objects []string
		for i := range 50 {
			objects = append(objects, fmt.Sprintf("https://memo.example/notes/%d%s", i, strings.Repeat("x", 600)))
		}
		add := func(host string, n int) {
			err := s.InTx(ctx, func(tx *storage.Tx) error {
				_, err := tx.AddReport(ctx, storage.Report{
					ActivityIRI: fmt.Sprintf("https://%s/reports/%d", host, n), ActorIRI: "https://" + host + "/actor", Domain: host,
					Objects: objects, Comment: strings.Repeat("spam ", 1000),
				})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		flood := storage.MaxReportsPerHost + 5
		for i := range flood {
			add("flood.example", i)
		}
		for i := range 3 {
			add("calm.example", i)
		}
		add("calm.example", 0) // the same Flag again
		var perHost []struct {
			Domain string `db:"domain"`
			N      int    `db:"n"`
			Oldest string `db:"oldest"`
		}
		if err := s.DB().Select(&perHost, `SELECT domain, COUNT(*) AS n, MIN(activity_iri) AS oldest FROM reports GROUP BY domain ORDER BY domain`); err != nil {
			t.Fatal(err)
		}
		if len(perHost) != 2 || perHost[0].N != 3 || perHost[1].N != storage.MaxReportsPerHost {
			t.Fatalf("reports per host = %+v, want calm 3, flood %d", perHost, storage.MaxReportsPerHost)
		}
		var oldestFlood string
		if err := s.DB().Get(&oldestFlood, `SELECT activity_iri FROM reports WHERE domain = 'flood.example' ORDER BY id LIMIT 1`); err != nil || oldestFlood != "https://flood.example/reports/5" {
			t.Fatalf("oldest flood report kept = %q, %v; want the 6th (the 5 first dropped)", oldestFlood, err)
		}
		latest, err := s.Reports(ctx, 2)
		if err != nil || len(latest) != 2 || latest[0].Domain != "calm.example" {
			t.Fatalf("latest reports = %+v, %v", latest, err)
		}
		r := latest[0]
		if len(r.Objects) != storage.MaxReportObjects || len(r.Comment) != storage.MaxReportComment || len(r.Objects[0]) > 500 {
			t.Errorf("report kept %d objects (first %d bytes) and %d bytes of comment", len(r.Objects), len(r.Objects[0]), len(r.Comment))
		}
	})
}
