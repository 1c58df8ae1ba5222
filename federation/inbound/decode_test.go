package inbound

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
)

func fixtureFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	root := filepath.Join(fedtest.Testdata(), "activitypub")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) < 150 {
		t.Fatalf("fixtures under %s: %d files, %v", root, len(files), err)
	}
	return files
}

// TestDecodeEveryFixture decodes every payload under testdata: no panic, and every activity yields its id, type and
// actor, and its object when it has one.
func TestDecodeEveryFixture(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(fedtest.Testdata(), path)
		act, err := DecodeActivity(b)
		if strings.Contains(rel, "/httpsig/") {
			continue // test vectors, not ActivityStreams
		}
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if act.Type == "" {
			t.Errorf("%s: no type", rel)
		}
		if act.Actor != "" && !strings.HasPrefix(act.Actor, "http") {
			t.Errorf("%s: actor %q", rel, act.Actor)
		}
	}
}

func TestDecodeShapes(t *testing.T) {
	cases := []struct {
		name, body                         string
		actor, object, objectType, inReply string
		to                                 []string
	}{
		{"object IRI, actor IRI, to string", `{"id":"i","type":"Like","actor":"https://a/u","object":"https://b/o","to":"https://www.w3.org/ns/activitystreams#Public"}`,
			"https://a/u", "https://b/o", "", "", []string{"https://www.w3.org/ns/activitystreams#Public"}},
		{"actor object, object inline", `{"id":"i","type":"Undo","actor":{"id":"https://a/u","type":"Person"},"object":{"id":"https://a/f","type":"Follow","actor":"https://a/u","object":"https://b/memo"}}`,
			"https://a/u", "https://a/f", "Follow", "", nil},
		{"type list, object list, to list of objects", `{"id":"i","type":["Create","x"],"actor":["https://a/u"],"object":[{"id":"https://a/n","type":"Note","inReplyTo":{"id":"https://b/memo"}}],"to":[{"id":"https://c"},"https://d"]}`,
			"https://a/u", "https://a/n", "Note", "", []string{"https://c", "https://d"}},
		{"actor as Link", `{"id":"i","type":"Like","actor":{"type":"Link","href":"https://a/u"},"object":"https://b/o"}`,
			"https://a/u", "https://b/o", "", "", nil},
		{"null object", `{"id":"i","type":"Like","actor":"https://a/u","object":null}`, "https://a/u", "", "", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			act, err := DecodeActivity([]byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if act.Actor != c.actor || act.ObjectIRI() != c.object || act.ObjectType() != c.objectType {
				t.Errorf("actor %q object %q (%q)", act.Actor, act.ObjectIRI(), act.ObjectType())
			}
			if c.to != nil && strings.Join(act.To, " ") != strings.Join(c.to, " ") {
				t.Errorf("to = %q, want %q", act.To, c.to)
			}
		})
	}
	if _, err := DecodeActivity([]byte(`{"id":"i","type":"Like","object":12}`)); err == nil {
		t.Errorf("object 12 decoded")
	}
	if _, err := DecodeActivity([]byte(strings.Repeat("[", MaxJSONDepth+1))); !errors.Is(err, ErrTooDeep) {
		t.Errorf("deep JSON: %v, want ErrTooDeep", err)
	}
	if err := CheckDepth([]byte(`{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"[["}`), 3); err != nil {
		t.Errorf("brackets inside strings counted: %v", err)
	}
}

// FuzzDecodeActivity: no input makes the decoder panic or hang. The seeds are every fixture under testdata.
func FuzzDecodeActivity(f *testing.F) {
	for _, path := range fixtureFiles(f) {
		b, _ := os.ReadFile(path)
		f.Add(b)
	}
	f.Add([]byte(`{"object":{"object":{"object":{"object":{"object":"x"}}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		act, err := DecodeActivity(b)
		if err == nil && act == nil {
			t.Fatal("nil activity without an error")
		}
		if err == nil {
			_ = act.ObjectType()
			_ = act.ObjectIRI()
		}
	})
}
