package fedtest

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/httpsign"
)

// Target says what a shaped activity acts on.
type Target struct {
	Object string // the IRI acted on: our actor (Follow, Block), our object (Like, Announce, reply), a note (Delete)
	Undone []byte // for Undo: the activity undone, as sent before (inlined or named by id, as the fixture does)
	ID     string // the activity's id; a fresh one on the instance when empty
}

// Testdata is the repository's testdata folder.
func Testdata() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata")
}

// Fixture reads testdata/activitypub/<rel>.
func Fixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Testdata(), "activitypub", rel))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

// Shape turns a fixture into an activity of a: the fixture's actor, its host and everything under them become
// a's, the id is fresh, LD signatures (which would not verify any more) go, and the object becomes target's. The
// rest (field names, object inline or as IRI, to/cc shapes, extensions) stays as the implementation wrote it.
func (a *Actor) Shape(t testing.TB, fixture []byte, tg Target) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(fixture, &m); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	origActor := iriOf(m["actor"])
	origBase := ""
	if u, err := url.Parse(origActor); err == nil && u.Host != "" {
		origBase = u.Scheme + "://" + u.Host
	}
	rewrite := func(s string) string {
		switch {
		case origActor != "" && strings.HasPrefix(s, origActor):
			return a.IRI + strings.TrimPrefix(s, origActor)
		case origBase != "" && strings.HasPrefix(s, origBase):
			return a.Instance.Base + strings.TrimPrefix(s, origBase)
		}
		return s
	}
	m = walk(m, rewrite).(map[string]any)
	delete(m, "signature")
	if tg.ID == "" {
		tg.ID = a.Instance.NextID("activities")
	}
	m["id"] = tg.ID
	m["actor"] = a.IRI
	typ, _ := m["type"].(string)
	switch typ {
	case "Undo":
		if tg.Undone != nil {
			var u map[string]any
			if err := json.Unmarshal(tg.Undone, &u); err != nil {
				t.Fatalf("undone activity: %v", err)
			}
			if _, inline := m["object"].(map[string]any); inline {
				delete(u, "@context")
				m["object"] = u
			} else {
				m["object"] = u["id"]
			}
		}
	case "Create", "Update":
		obj, inline := m["object"].(map[string]any)
		if !inline {
			if tg.Object != "" {
				m["object"] = tg.Object
			}
			break
		}
		if obj["id"] == a.IRI {
			pem, _ := httpsign.PublicKeyPEM(&a.Key.PublicKey)
			obj["publicKey"] = map[string]any{"id": a.KeyID, "owner": a.IRI, "publicKeyPem": pem}
			obj["inbox"] = a.Inbox
			break
		}
		obj["attributedTo"] = a.IRI
		if typ == "Create" {
			obj["id"] = a.Instance.NextID("notes")
			if tg.Object != "" {
				obj["inReplyTo"] = tg.Object
			}
		} else if tg.Object != "" {
			obj["id"] = tg.Object
		}
	default:
		if tg.Object != "" {
			if obj, inline := m["object"].(map[string]any); inline {
				obj["id"] = tg.Object
			} else {
				m["object"] = tg.Object
			}
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("shape: %v", err)
	}
	return b
}

func walk(v any, f func(string) string) any {
	switch x := v.(type) {
	case string:
		return f(x)
	case []any:
		for i := range x {
			x[i] = walk(x[i], f)
		}
		return x
	case map[string]any:
		for k, val := range x {
			if k == "@context" {
				continue
			}
			x[k] = walk(val, f)
		}
		return x
	}
	return v
}

func iriOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		s, _ := x["id"].(string)
		return s
	case []any:
		if len(x) > 0 {
			return iriOf(x[0])
		}
	}
	return ""
}
