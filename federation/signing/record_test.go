package signing

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/memo-fediverse/memo/content"
)

func TestNewRecordFromMastodonActor(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "mastodon-actor-person.json"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseActor(raw)
	if err != nil {
		t.Fatal(err)
	}
	n := Note{ID: a.IRI + "/statuses/1", AttributedTo: []string{a.IRI}, InReplyTo: "https://memo.example/memo",
		Content: `<p><span class="h-card"><a href="https://memo.example/users/memo" class="u-url mention">@<span>memo</span></a></span> Je signe&nbsp;!</p><p>Merci.</p>`}
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.FixedZone("x", 3600))
	r, err := NewRecord(a, n, Unlisted, 3, at)
	if err != nil {
		t.Fatal(err)
	}
	want := Record{
		ActorIRI: "https://masto.qa.urbanwildlife.biz/users/mastodon", Kind: Person,
		Handle: "@mastodon@masto.qa.urbanwildlife.biz", DisplayName: "Mastodon", Domain: "masto.qa.urbanwildlife.biz",
		ProfileURL: "https://masto.qa.urbanwildlife.biz/@mastodon", NoteIRI: n.ID, InReplyTo: n.InReplyTo,
		Text: "@memo Je signe !\nMerci.", SignedAt: at.UTC(), ReceivedAt: at.UTC(), Revision: 3, Visibility: Unlisted,
	}
	if r != want {
		t.Fatalf("record\n got %+v\nwant %+v", r, want)
	}
	if !r.Public() {
		t.Fatal("unlisted must be a public signature")
	}
}

// TestPlainTextNames: names are plain text in ActivityStreams, shown as given; only control and format
// characters go (bidi overrides and isolates among them), and an empty name falls back to the username.
func TestPlainTextNames(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Tom <3 Jerry", "Tom <3 Jerry"},
		{"<Alice>", "<Alice>"},
		{"<b></b>", "<b></b>"},
		{`<img src=x onerror=alert(1)>`, `<img src=x onerror=alert(1)>`},
		{"Bob &amp; Co", "Bob &amp; Co"},
		{"  Ann\t\n Lee  ", "Ann Lee"},
		{"a\u202eb\u202ac\u202bd\u202ce\u202df\u2066g\u2067h\u2068i\u2069j", "a b c d e f g h i j"},
		{"x\x00y\x1bz\u200bw", "x y z w"},
		{"👨\u200d👩\u200d👧 family", "👨\u200d👩\u200d👧 family"},
		{"bad\xffutf8", "badutf8"},
	}
	for _, c := range cases {
		if got := PlainText(c.in, MaxNameRunes); got != c.want {
			t.Errorf("PlainText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	base := Actor{IRI: "https://a.example/users/ann", PreferredUsername: "ann"}
	for name, want := range map[string]string{"<b></b>": "<b></b>", "\u202e \u2066": "ann", "": "ann"} {
		a := base
		a.Name = name
		r, err := NewRecord(a, Note{ID: "https://a.example/n/1"}, Public, 1, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if r.DisplayName != want {
			t.Errorf("name %q: display name %q, want %q", name, r.DisplayName, want)
		}
	}
}

func TestRecordSanitising(t *testing.T) {
	a := Actor{
		IRI:               "https://EVIL.example/users/x",
		Type:              "Group",
		PreferredUsername: "x<script>alert(1)</script>",
		Name:              `<img src=x onerror=alert(1)>Bob &amp; <b>Co</b>` + "\u202e" + `gnp.exe` + strings.Repeat("é", 300),
		URL:               "javascript:alert(1)",
	}
	n := Note{ID: "https://evil.example/n/1", Content: `<p onclick="alert(1)">je signe<script>alert(2)</script><iframe src="x"></iframe></p>` + strings.Repeat("<p>long</p>", 1000)}
	r, err := NewRecord(a, n, Public, 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{r.Text, r.Handle} {
		if strings.ContainsAny(field, "<>") || strings.Contains(field, "alert(2)") || strings.Contains(field, "\u202e") {
			t.Errorf("unsafe text kept: %q", field[:min(len(field), 80)])
		}
	}
	// A name is plain text: kept as given (the pages escape it), the bidi override turned into a space.
	if want := `<img src=x onerror=alert(1)>Bob &amp; <b>Co</b> gnp.exe`; !strings.HasPrefix(r.DisplayName, want) {
		t.Errorf("display name = %q, want it to start with %q", r.DisplayName[:min(len(r.DisplayName), 80)], want)
	}
	if n := utf8.RuneCountInString(r.DisplayName); n > MaxNameRunes || n < MaxNameRunes-2 || !strings.HasSuffix(r.DisplayName, "…") {
		t.Errorf("display name has %d runes, want about %d ending in …", n, MaxNameRunes)
	}
	if n := utf8.RuneCountInString(r.Text); n > MaxTextRunes || n < MaxTextRunes-10 || !strings.HasSuffix(r.Text, "…") {
		t.Errorf("text has %d runes, want about %d ending in …", n, MaxTextRunes)
	}
	if r.ProfileURL != "https://EVIL.example/users/x" {
		t.Errorf("profile URL = %q: a javascript: URL must fall back to the actor IRI", r.ProfileURL)
	}
	if r.Domain != "evil.example" || r.Kind != Organisation {
		t.Errorf("domain %q kind %q", r.Domain, r.Kind)
	}
	// A username is plain text too; only the characters of usernames are kept, so a handle never carries markup.
	if r.Handle != "@xscriptalert1script@evil.example" {
		t.Errorf("handle = %q", r.Handle)
	}
	if _, err := NewRecord(Actor{IRI: "ftp://x.example/u"}, n, Public, 1, time.Now()); err == nil {
		t.Error("an ftp actor IRI was accepted")
	}
}

func TestKindOf(t *testing.T) {
	for typ, want := range map[string]Kind{"Person": Person, "Organization": Organisation, "Group": Organisation, "Service": Organisation, "": Person, "Application": Person} {
		if got := KindOf(typ); got != want {
			t.Errorf("KindOf(%q) = %s, want %s", typ, got, want)
		}
	}
}

func TestReplyTargetAndRevision(t *testing.T) {
	urls := content.URLs{Base: "https://memo.example", Username: "memo"}
	cases := []struct {
		iri     string
		want    Target
		wantErr bool
		rev     int
	}{
		{urls.Memo(), Target{Kind: TargetMemo}, false, 4},
		{urls.Revision(2), Target{Kind: TargetRevision, Revision: 2}, false, 2},
		{urls.Revision(9), Target{Kind: TargetRevision, Revision: 9}, false, 4},
		{urls.Impulse("lecon-1"), Target{Kind: TargetImpulse, Slug: "lecon-1"}, false, 4},
		{urls.Note(content.HowToSignSlug), Target{Kind: TargetHowToSign}, false, 4},
		{urls.Revisions() + "/02", Target{}, true, 0},
		{urls.Revisions() + "/0", Target{}, true, 0},
		{urls.Impulses() + "/a/b", Target{}, true, 0},
		{"https://other.example/memo", Target{}, true, 0},
		{"", Target{}, true, 0},
	}
	for _, c := range cases {
		got, err := ReplyTarget(urls, c.iri)
		if c.wantErr {
			if !errors.Is(err, ErrNotOurs) {
				t.Errorf("ReplyTarget(%q) err = %v, want ErrNotOurs", c.iri, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ReplyTarget(%q) = %+v, %v; want %+v", c.iri, got, err, c.want)
		}
		if r := RevisionSigned(got, 4); r != c.rev {
			t.Errorf("RevisionSigned(%q, 4) = %d, want %d", c.iri, r, c.rev)
		}
	}
}
