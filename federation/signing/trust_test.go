package signing

import (
	"errors"
	"testing"
)

func TestCheckAuthor(t *testing.T) {
	actor := "https://a.example/users/ann"
	ok := Note{ID: "https://a.example/n/1", AttributedTo: []string{actor}}
	if err := CheckAuthor(actor, ok); err != nil {
		t.Fatalf("genuine note refused: %v", err)
	}
	for name, n := range map[string]Note{
		"other author": {ID: "https://a.example/n/1", AttributedTo: []string{"https://a.example/users/bob"}},
		"no author":    {ID: "https://a.example/n/1"},
		"co-author":    {ID: "https://a.example/n/1", AttributedTo: []string{actor, "https://b.example/users/eve"}},
	} {
		if err := CheckAuthor(actor, n); !errors.Is(err, ErrForged) {
			t.Errorf("%s: err = %v, want ErrForged", name, err)
		}
	}
}

func TestCheckNoteHost(t *testing.T) {
	actor := "https://a.example/users/ann"
	if err := CheckNoteHost(actor, Note{ID: "https://A.example/n/1"}); err != nil {
		t.Fatalf("same host (case differs) refused: %v", err)
	}
	for _, id := range []string{"https://b.example/n/1", "https://a.example:8443/n/1", "https://a.example.evil/n/1", "urn:x", ""} {
		if err := CheckNoteHost(actor, Note{ID: id}); !errors.Is(err, ErrForged) {
			t.Errorf("note %q: err = %v, want ErrForged", id, err)
		}
	}
}

func TestSameNote(t *testing.T) {
	base := Note{ID: "https://a.example/n/1", AttributedTo: []string{"https://a.example/users/ann"},
		InReplyTo: "https://memo.example/memo", Content: "<p>je signe</p>", To: []string{"as:Public"}}
	same := base
	same.Content = "<p>Je signe</p>"
	if err := SameNote(base, same); err != nil {
		t.Fatalf("same text refused: %v", err)
	}
	changes := map[string]func(n *Note){
		"text":       func(n *Note) { n.Content = "<p>bonjour</p>" },
		"author":     func(n *Note) { n.AttributedTo = []string{"https://a.example/users/bob"} },
		"reply":      func(n *Note) { n.InReplyTo = "https://memo.example/impulses/x" },
		"id":         func(n *Note) { n.ID = "https://a.example/n/2" },
		"visibility": func(n *Note) { n.To = []string{"https://a.example/users/ann/followers"} },
	}
	for name, change := range changes {
		fetched := base
		change(&fetched)
		if err := SameNote(base, fetched); !errors.Is(err, ErrForged) {
			t.Errorf("%s changed: err = %v, want ErrForged", name, err)
		}
	}
}
