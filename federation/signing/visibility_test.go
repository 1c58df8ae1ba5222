package signing

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// loadNote reads a fixture holding either a Note or an activity wrapping one.
func loadNote(t *testing.T, file string) (Note, map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	obj := m
	if o, ok := m["object"].(map[string]any); ok {
		obj = o
		// Pleroma puts directMessage on the activity.
		if dm, ok := m["directMessage"]; ok {
			obj["directMessage"] = dm
		}
	}
	n, err := NoteFromMap(obj)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return n, obj
}

func TestVisibilityFixtures(t *testing.T) {
	cases := []struct {
		file string
		want Visibility
	}{
		{"mastodon-create-note-public.json", Public},
		{"mastodon-create-note-unlisted.json", Unlisted},
		{"mastodon-note-direct.json", Direct},
		{"misskey-question-public.json", Public},
		{"misskey-note-home.json", Unlisted},
		{"pleroma-create-note-public.json", Public},
		{"pleroma-note-public-litepub.json", Public},
		{"pleroma-create-chat-direct.json", Direct},
		{"gotosocial-create-note-public.json", Public},
		{"gotosocial-create-note-direct.json", Direct},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			n, _ := loadNote(t, c.file)
			if got := VisibilityOf(n, ""); got != c.want {
				t.Fatalf("VisibilityOf = %s, want %s (to %v, cc %v)", got, c.want, n.To, n.Cc)
			}
			if got := c.want.IsPublic(); got != (c.want == Public || c.want == Unlisted) {
				t.Fatalf("IsPublic(%s) = %v", c.want, got)
			}
		})
	}
}

// TestVisibilityEncodings covers the four visibilities as each implementation addresses them, built on the real
// shapes above by changing only the addressing.
func TestVisibilityEncodings(t *testing.T) {
	const pub = "https://www.w3.org/ns/activitystreams#Public"
	cases := []struct {
		name, file         string
		to, cc             []any
		directMessage      any
		followers          string
		want               Visibility
		wantPublicSignable bool
	}{
		// Mastodon (status_parser.rb): Public in to, Public in cc, followers only, mentions only.
		{"mastodon public", "mastodon-create-note-unlisted.json", []any{pub}, []any{"https://mastodon.madrid/users/felix/followers"}, nil, "https://mastodon.madrid/users/felix/followers", Public, true},
		{"mastodon unlisted", "mastodon-create-note-unlisted.json", []any{"https://mastodon.madrid/users/felix/followers"}, []any{pub, "https://mamot.fr/users/retiolus"}, nil, "https://mastodon.madrid/users/felix/followers", Unlisted, true},
		{"mastodon followers", "mastodon-create-note-unlisted.json", []any{"https://mastodon.madrid/users/felix/followers"}, []any{"https://mamot.fr/users/retiolus"}, nil, "https://mastodon.madrid/users/felix/followers", Followers, false},
		{"mastodon direct", "mastodon-create-note-unlisted.json", []any{"https://mamot.fr/users/retiolus"}, []any{}, nil, "https://mastodon.madrid/users/felix/followers", Direct, false},
		// Misskey: public (to Public, cc followers), home (to followers, cc Public), followers, specified.
		{"misskey public", "misskey-note-home.json", []any{pub}, []any{"https://misskey.usbharu.dev/users/97ws8y3rj6/followers"}, nil, "", Public, true},
		{"misskey home", "misskey-note-home.json", []any{"https://misskey.usbharu.dev/users/97ws8y3rj6/followers"}, []any{pub}, nil, "", Unlisted, true},
		{"misskey followers", "misskey-note-home.json", []any{"https://misskey.usbharu.dev/users/97ws8y3rj6/followers"}, []any{"https://calckey.jp/users/9bu1xzwjyb"}, nil, "", Followers, false},
		{"misskey specified", "misskey-note-home.json", []any{"https://calckey.jp/users/9bu1xzwjyb"}, []any{}, nil, "", Direct, false},
		// Pleroma/Akkoma: compact "as:Public" and bare "Public" spellings, the directMessage flag.
		{"pleroma as:Public", "pleroma-create-note-public.json", []any{"as:Public"}, []any{"https://greenish.red/users/nutomic/followers"}, false, "", Public, true},
		{"pleroma bare Public in cc", "pleroma-create-note-public.json", []any{"https://greenish.red/users/nutomic/followers"}, []any{"Public"}, false, "", Unlisted, true},
		{"pleroma followers", "pleroma-create-note-public.json", []any{"https://greenish.red/users/nutomic/followers"}, []any{"https://enterprise.lemmy.ml/u/picard"}, false, "", Followers, false},
		{"pleroma direct flag", "pleroma-create-note-public.json", []any{"https://enterprise.lemmy.ml/u/picard", "https://greenish.red/users/nutomic/followers"}, []any{}, true, "", Direct, false},
		// A followers collection not named /followers is found through the actor's document.
		{"custom followers IRI", "pleroma-create-note-public.json", []any{"https://greenish.red/c/abc"}, []any{}, nil, "https://greenish.red/c/abc", Followers, false},
		{"lone IRI unknown", "pleroma-create-note-public.json", []any{"https://greenish.red/c/abc"}, []any{}, nil, "", Direct, false},
		// No audience at all is never public; the flag wins over a public address.
		{"empty to and cc", "mastodon-create-note-unlisted.json", []any{}, []any{}, nil, "", Direct, false},
		{"directMessage beside Public", "pleroma-create-note-public.json", []any{pub}, []any{}, true, "", Direct, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, obj := loadNote(t, c.file)
			obj["to"], obj["cc"] = c.to, c.cc
			delete(obj, "directMessage")
			if c.directMessage != nil {
				obj["directMessage"] = c.directMessage
			}
			n, err := NoteFromMap(obj)
			if err != nil {
				t.Fatal(err)
			}
			got := VisibilityOf(n, c.followers)
			if got != c.want || got.IsPublic() != c.wantPublicSignable {
				t.Fatalf("VisibilityOf = %s (public %v), want %s (public %v)", got, got.IsPublic(), c.want, c.wantPublicSignable)
			}
		})
	}
}

func TestParseNoteShapes(t *testing.T) {
	n, _ := loadNote(t, "mastodon-create-note-unlisted.json")
	if n.ID != "https://mastodon.madrid/users/felix/statuses/107224289116410645" || n.InReplyTo == "" ||
		len(n.AttributedTo) != 1 || n.AttributedTo[0] != "https://mastodon.madrid/users/felix" {
		t.Fatalf("parsed %+v", n)
	}
	// attributedTo as an array of objects (PeerTube, some forks), to as a single string (GoToSocial).
	n, err := ParseNote([]byte(`{"id":"https://p.example/n/1","type":"Note","attributedTo":[{"type":"Person","id":"https://p.example/a/x"}],"to":"as:Public","contentMap":{"fr":"<p>je signe</p>"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.AttributedTo) != 1 || n.AttributedTo[0] != "https://p.example/a/x" || len(n.To) != 1 || n.Content == "" {
		t.Fatalf("parsed %+v", n)
	}
	if _, err := ParseNote([]byte(`{"type":"Note"}`)); err == nil {
		t.Fatal("a note without id was accepted")
	}
	if _, err := ParseNote([]byte(`{`)); err == nil {
		t.Fatal("broken JSON was accepted")
	}
}
