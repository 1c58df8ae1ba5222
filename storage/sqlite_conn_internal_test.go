package storage

import "testing"

func TestWritesClassifiesStatements(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT id FROM activities WHERE type = 'Update'":                                  false,
		"SELECT updated_at, deleted_at FROM signatures":                                    false,
		"  insert into t (a) values (?)":                                                   true,
		"UPDATE deliveries SET state = 'inflight'":                                         true,
		"DELETE FROM followers WHERE actor_iri = ?":                                        true,
		"WITH picked AS MATERIALIZED (\n  SELECT id FROM deliveries\n)\nUPDATE deliveries": true,
		"WITH c AS (SELECT 1) SELECT * FROM c WHERE note = 'DELETE me'":                    false,
		"INSERT INTO x VALUES ('it''s') ON CONFLICT DO NOTHING":                            true,
	} {
		if got := writes(q); got != want {
			t.Errorf("writes(%q) = %v, want %v", q, got, want)
		}
	}
}
