package signing

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

var testURLs = content.URLs{Base: "https://memo.example", Username: "memo"}

func reply(content string, to ...string) Reply {
	actor := "https://a.example/users/ann"
	return Reply{
		Sender: actor,
		Note: Note{ID: actor + "/statuses/1", AttributedTo: []string{actor}, InReplyTo: testURLs.Memo(),
			Content: content, To: to, Cc: []string{actor + "/followers"}},
		Author:          Actor{IRI: actor, Type: "Person", PreferredUsername: "ann", Name: "Ann <b>A.</b>", URL: "https://a.example/@ann", Followers: actor + "/followers"},
		CurrentRevision: 3,
		ReceivedAt:      time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC),
	}
}

func TestDecide(t *testing.T) {
	m := MustMatcher(DefaultPhrases)
	d, err := Decide(testURLs, m, reply("<p>Je signe</p>", content.PublicAudience))
	if err != nil || !d.Result.Signature || d.Record.Revision != 3 || d.Record.DisplayName != "Ann <b>A.</b>" || d.Record.Visibility != Public || d.Target.Kind != TargetMemo {
		t.Fatalf("public signature: %+v, %v", d, err)
	}
	d, err = Decide(testURLs, m, reply("<p>Bravo</p>", content.PublicAudience))
	if err != nil || d.Result.Signature {
		t.Fatalf("comment: %+v, %v", d, err)
	}
	r := reply("<p>je signe</p>", "https://a.example/users/ann/followers")
	r.Note.Cc = nil
	if d, err = Decide(testURLs, m, r); err != nil || !d.Result.Signature || d.Record.Public() || d.Record.Visibility != Followers {
		t.Fatalf("followers-only signature: %+v, %v", d, err)
	}
	r = reply("<p>je signe</p>", content.PublicAudience)
	r.Note.InReplyTo = testURLs.Revision(2)
	if d, err = Decide(testURLs, m, r); err != nil || d.Record.Revision != 2 {
		t.Fatalf("signature on revision 2: %+v, %v", d, err)
	}

	forgeries := map[string]func(r *Reply){
		"attributedTo another actor": func(r *Reply) { r.Note.AttributedTo = []string{"https://a.example/users/bob"} },
		"note on another host":       func(r *Reply) { r.Note.ID = "https://b.example/statuses/1" },
		"actor document of another":  func(r *Reply) { r.Author.IRI = "https://a.example/users/bob" },
	}
	for name, change := range forgeries {
		r := reply("<p>je signe</p>", content.PublicAudience)
		change(&r)
		if _, err := Decide(testURLs, m, r); !errors.Is(err, ErrForged) {
			t.Errorf("%s: err = %v, want ErrForged", name, err)
		}
	}
	r = reply("<p>je signe</p>", content.PublicAudience)
	r.Note.InReplyTo = "https://elsewhere.example/memo"
	if _, err := Decide(testURLs, m, r); !errors.Is(err, ErrNotOurs) {
		t.Errorf("reply elsewhere: err = %v, want ErrNotOurs", err)
	}
}

// TestSignAndAcknowledge runs a decided signature through the store and builds its acknowledgement, on both
// backends.
func TestSignAndAcknowledge(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		m := MustMatcher(DefaultPhrases)
		for _, c := range []struct {
			name       string
			r          Reply
			wantCc     int
			wantNotice string
		}{
			{"public", reply("<p>je signe</p>", content.PublicAudience), 1, ""},
			{"direct", func() Reply {
				r := reply("<p>je signe</p>", "https://memo.example/users/memo")
				r.Sender, r.Author.IRI = "https://a.example/users/zoe", "https://a.example/users/zoe"
				r.Note.ID, r.Note.AttributedTo, r.Note.Cc = "https://a.example/users/zoe/statuses/9", []string{r.Sender}, nil
				r.Author.PreferredUsername = `z"><script>alert(1)</script>`
				r.Author.URL = `https://a.example/@zoe"onmouseover="alert(1)`
				return r
			}(), 0, "privée"},
		} {
			d, err := Decide(testURLs, m, c.r)
			if err != nil || !d.Result.Signature {
				t.Fatalf("%s: %+v, %v", c.name, d, err)
			}
			g, err := s.AddSignature(ctx, d.Record.Row(c.r.Author.Type, `{"kind":"inbox"}`))
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			ack, err := Acknowledgement(testURLs, g)
			if err != nil {
				t.Fatal(err)
			}
			if len(ack.To) != 1 || ack.To[0] != g.ActorIRI || len(ack.Cc) != c.wantCc || ack.InReplyTo != g.NoteIRI {
				t.Fatalf("%s: addressing to %v cc %v", c.name, ack.To, ack.Cc)
			}
			var tags []map[string]string
			if err := json.Unmarshal([]byte(ack.Tags), &tags); err != nil || len(tags) != 1 || tags[0]["type"] != "Mention" || tags[0]["href"] != g.ActorIRI {
				t.Fatalf("%s: tags %s", c.name, ack.Tags)
			}
			if !strings.Contains(ack.Content, testURLs.Signature(g.ID)) || !strings.Contains(ack.Content, "supprimez votre réponse") || !strings.Contains(ack.Content, c.wantNotice) {
				t.Fatalf("%s: content %s", c.name, ack.Content)
			}
			if strings.Contains(ack.Content, "<script") || strings.Contains(ack.Content, `"onmouseover`) {
				t.Fatalf("%s: unescaped remote text in %s", c.name, ack.Content)
			}
			if added, err := s.InsertNote(ctx, ack); err != nil || !added {
				t.Fatalf("%s: store acknowledgement: %v, %v", c.name, added, err)
			}
			if _, err := s.AddSignature(ctx, d.Record.Row(c.r.Author.Type, "")); !errors.Is(err, storage.ErrAlreadySigned) {
				t.Fatalf("%s: second signature: %v", c.name, err)
			}
		}
		if c, err := s.CountSignatures(ctx); err != nil || c.Public != 1 || c.Private != 1 {
			t.Fatalf("counts = %+v (err %v)", c, err)
		}
	})
}
