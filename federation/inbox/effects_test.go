package inbox

import (
	"os"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/inbound"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// TestVisibilityOneReading decodes real payloads the way the inbox does and checks that the stored reply and the
// signature read the same audience (signing.Addressed), for every implementation's shapes.
func TestVisibilityOneReading(t *testing.T) {
	const ap = "../../testdata/activitypub/"
	cases := []struct {
		file string
		want signing.Visibility
	}{
		{"mastodon/create-note-contentmap.json", signing.Public},
		{"mastodon/create-note-reply.json", signing.Unlisted},
		{"mastodon/note-direct-message.json", signing.Direct},
		{"gotosocial/create-note.json", signing.Public},
		{"gotosocial-live/002-Create-Note.json", signing.Public},
		{"gotosocial-live/011-Create-Note.json", signing.Direct},
		{"pleroma/create-note-reply-live.json", signing.Public},
		{"pleroma/create-note-legacy-2018.json", signing.Public},
		{"misskey/note-reply-misskey-content.json", signing.Unlisted},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw, err := os.ReadFile(ap + c.file)
			if err != nil {
				t.Fatal(err)
			}
			act, err := inbound.DecodeActivity(raw)
			if err != nil {
				t.Fatal(err)
			}
			note := act
			if act.Object != nil && act.Object.Inline != nil {
				note = act.Object.Inline
			}
			author := note.AttributedTo
			stored := replyVisibility(act, note, author, storage.RemoteActor{}, nil)
			n, err := signing.ParseNote(note.Raw)
			if err != nil {
				t.Fatal(err)
			}
			if stored != string(c.want) || signing.VisibilityOf(n, "") != c.want {
				t.Fatalf("stored %s, signature %s, want %s (to %v cc %v)", stored, signing.VisibilityOf(n, ""), c.want, note.To, note.Cc)
			}
		})
	}
}

// TestVisibilityShapes covers the shapes no fixture has: compact Public forms, Pleroma's flag on the Create,
// an empty audience, and the followers collection known only from the author's document.
func TestVisibilityShapes(t *testing.T) {
	const actor = "https://a.example/users/u"
	doc := `{"id":"` + actor + `","type":"Person","followers":"https://a.example/c/42"}`
	cases := []struct {
		name     string
		to, cc   []string
		createDM bool
		cached   storage.RemoteActor
		want     string
	}{
		{"full IRI", []string{content.PublicAudience}, []string{actor + "/followers"}, false, storage.RemoteActor{}, "public"},
		{"as:Public", []string{"as:Public"}, nil, false, storage.RemoteActor{}, "public"},
		{"bare Public in cc", []string{actor + "/followers"}, []string{"Public"}, false, storage.RemoteActor{}, "unlisted"},
		{"followers by suffix", []string{actor + "/followers"}, []string{"https://memo.example/users/memo"}, false, storage.RemoteActor{}, "followers"},
		{"followers from the actor", []string{"https://a.example/c/42"}, nil, false, storage.RemoteActor{IRI: actor, Raw: doc}, "followers"},
		{"suffix ignored when followers known", []string{"https://b.example/users/v/followers"}, nil, false, storage.RemoteActor{IRI: actor, Raw: doc}, "direct"},
		{"mention only", []string{"https://memo.example/users/memo"}, nil, false, storage.RemoteActor{}, "direct"},
		{"empty to and cc", nil, nil, false, storage.RemoteActor{}, "direct"},
		{"Pleroma flag on the Create", []string{"https://memo.example/users/memo", actor + "/followers"}, nil, true, storage.RemoteActor{}, "direct"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			note := &inbound.Activity{Type: "Note", To: c.to, Cc: c.cc, AttributedTo: actor}
			act := &inbound.Activity{Type: "Create", Actor: actor, DirectMessage: c.createDM}
			if got := replyVisibility(act, note, actor, c.cached, nil); got != c.want {
				t.Fatalf("to %v cc %v: %s, want %s", c.to, c.cc, got, c.want)
			}
		})
	}
	if got := interactionVisibility(&inbound.Activity{Type: "Like"}); got != "public" {
		t.Fatalf("a Like without audience: %s, want public", got)
	}
	if got := interactionVisibility(&inbound.Activity{Type: "Announce", To: []string{actor}}); got != "direct" {
		t.Fatalf("an Announce to one actor: %s, want direct", got)
	}
}

func TestSanitize(t *testing.T) {
	in := `<p>Je signe <script>alert(1)</script><a href="javascript:alert(2)" onclick="x()">lien</a> <img src=x onerror=y()><span class="h-card"><a href="https://a.example/@u">@u</a></span></p>`
	out := content.SanitizeHTML(in)
	for _, bad := range []string{"<script", "javascript:", "onclick", "onerror"} {
		if strings.Contains(out, bad) {
			t.Errorf("sanitised reply still has %q: %s", bad, out)
		}
	}
	if !strings.Contains(out, "Je signe") || !strings.Contains(out, `href="https://a.example/@u"`) {
		t.Errorf("sanitised reply lost its text or links: %s", out)
	}
}
