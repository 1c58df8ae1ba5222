package storage_test

import (
	"context"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// Migration 0010 on a database written before it: a key id two actors claim is dropped from both (each is fetched
// again when it signs), and stored hosts lose their capitals and trailing dot, two spellings of one blocked domain
// becoming one block.
func TestMigrationHostsAndKeys(t *testing.T) {
	for _, b := range storagetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			s, err := storage.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			db := s.DB()
			// Back to the state before 0010, with rows as older versions wrote them.
			for _, q := range []string{
				`DROP INDEX actors_key_id_unique`,
				`DELETE FROM schema_migrations WHERE version = '0010_hosts_keys'`,
				`INSERT INTO actors (iri, type, domain, key_id, public_key_pem, fetched_at) VALUES
					('https://social.example/users/victim', 'Person', 'social.example', 'https://social.example/users/victim#main-key', 'victim-pem', 1),
					('https://social.example/users/mallory', 'Person', 'Social.Example.', 'https://social.example/users/victim#main-key', 'mallory-pem', 2),
					('https://other.example/users/ok', 'Person', 'other.example', 'https://other.example/users/ok#main-key', 'ok-pem', 3)`,
				`INSERT INTO blocks (kind, value, reason, created_at) VALUES ('domain', 'evil.example', '', 1), ('domain', 'EVIL.example.', '', 2), ('domain', 'Spam.Example.', '', 3), ('actor', 'https://Keep.Example/users/x', '', 4)`,
				`INSERT INTO followers (actor_iri, follow_iri, inbox, domain, created_at) VALUES ('https://social.example/users/victim', 'f', 'i', 'SOCIAL.example.', 1)`,
			} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if _, err := s.AddSignature(ctx, storage.Signature{ActorIRI: "https://social.example/users/victim", ActorType: "Person", Handle: "@victim@social.example",
				DisplayName: "V", Domain: "Social.Example.", NoteIRI: "https://social.example/n/1", InReplyTo: "https://memo.example/memo", Content: "je signe", Revision: 1, Visibility: "public"}); err != nil {
				t.Fatal(err)
			}
			s.Close()

			s = storagetest.Open(t, dsn)
			db = s.DB()
			var keys []struct {
				IRI   string `db:"iri"`
				KeyID string `db:"key_id"`
				PEM   string `db:"public_key_pem"`
				Dom   string `db:"domain"`
			}
			if err := db.SelectContext(ctx, &keys, `SELECT iri, key_id, public_key_pem, domain FROM actors ORDER BY iri`); err != nil {
				t.Fatal(err)
			}
			want := map[string][3]string{
				"https://other.example/users/ok":       {"https://other.example/users/ok#main-key", "ok-pem", "other.example"},
				"https://social.example/users/mallory": {"", "", "social.example"},
				"https://social.example/users/victim":  {"", "", "social.example"},
			}
			for _, k := range keys {
				if w := want[k.IRI]; [3]string{k.KeyID, k.PEM, k.Dom} != w {
					t.Errorf("actor %s: key %q pem %q domain %q, want %v", k.IRI, k.KeyID, k.PEM, k.Dom, w)
				}
			}
			if len(keys) != len(want) {
				t.Errorf("%d actors, want %d", len(keys), len(want))
			}
			blocks, err := s.Blocks(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, b := range blocks {
				got[b.Kind+" "+b.Value] = true
			}
			if len(blocks) != 3 || !got["domain evil.example"] || !got["domain spam.example"] || !got["actor https://Keep.Example/users/x"] {
				t.Errorf("blocks after the migration: %+v", blocks)
			}
			var dom string
			if err := db.GetContext(ctx, &dom, `SELECT domain FROM signatures`); err != nil || dom != "social.example" {
				t.Errorf("signature domain %q, %v", dom, err)
			}
			if per, err := s.SignaturesPerInstance(ctx, 10); err != nil || len(per) != 1 || per[0].Domain != "social.example" || per[0].Count != 1 {
				t.Errorf("signatures per instance after the migration: %+v, %v", per, err)
			}
			if err := db.GetContext(ctx, &dom, `SELECT domain FROM followers`); err != nil || dom != "social.example" {
				t.Errorf("follower domain %q, %v", dom, err)
			}
			// The index now refuses a second holder at the database itself.
			if _, err := db.ExecContext(ctx, `INSERT INTO actors (iri, type, domain, key_id, fetched_at) VALUES ('https://x.example/u', 'Person', 'x.example', 'https://other.example/users/ok#main-key', 1)`); err == nil {
				t.Error("a second actor with the same key id was stored")
			}
		})
	}
}
