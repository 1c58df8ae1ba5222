package signing

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Note is the part of a remote reply the signing rules read. It is decoded from the raw JSON, not through the
// vocabulary library: the fields are few, and peers encode them loosely (a string or an array, an IRI or an
// embedded object).
type Note struct {
	ID           string
	Type         string
	AttributedTo []string
	InReplyTo    string
	Summary      string
	Content      string
	To, Cc       []string
	// DirectMessage is Pleroma's explicit flag for a direct message.
	DirectMessage bool
	// LDSignature is an embedded Linked Data signature on the activity, kept as evidence.
	LDSignature json.RawMessage
	// Published is the note's published date as its server states it (zero when absent or unreadable).
	Published time.Time
}

// Actor is the part of a remote actor's document the record keeps.
type Actor struct {
	IRI               string
	Type              string
	PreferredUsername string
	Name              string
	URL               string
	Followers         string
}

// ParseNote reads a Note (or any object with content) from its JSON object.
func ParseNote(raw []byte) (Note, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return Note{}, fmt.Errorf("parse note: %w", err)
	}
	return NoteFromMap(m)
}

// NoteFromMap reads a Note from an already decoded JSON object.
func NoteFromMap(m map[string]any) (Note, error) {
	n := Note{
		ID:           idOf(m["id"]),
		Type:         typeOf(m["type"]),
		AttributedTo: iris(m["attributedTo"]),
		InReplyTo:    firstOf(iris(m["inReplyTo"])),
		Summary:      str(m["summary"]),
		Content:      str(m["content"]),
		To:           iris(m["to"]),
		Cc:           iris(m["cc"]),
	}
	if n.Content == "" {
		n.Content = firstMapValue(m["contentMap"])
	}
	if dm, ok := m["directMessage"].(bool); ok {
		n.DirectMessage = dm
	}
	if p, err := time.Parse(time.RFC3339, str(m["published"])); err == nil {
		n.Published = p.UTC()
	}
	if n.ID == "" {
		return n, fmt.Errorf("note has no id")
	}
	return n, nil
}

// ParseActor reads the fields the record keeps from an actor document.
func ParseActor(raw []byte) (Actor, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return Actor{}, fmt.Errorf("parse actor: %w", err)
	}
	a := Actor{
		IRI:               idOf(m["id"]),
		Type:              typeOf(m["type"]),
		PreferredUsername: str(m["preferredUsername"]),
		Name:              str(m["name"]),
		URL:               firstOf(hrefs(m["url"])),
		Followers:         idOf(m["followers"]),
	}
	if a.IRI == "" {
		return a, fmt.Errorf("actor has no id")
	}
	return a, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// idOf reads an IRI given as a string or as an object with an id.
func idOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		return str(t["id"])
	}
	return ""
}

// typeOf reads "type", which may be an array of which the first known value counts.
func typeOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				return s
			}
		}
	}
	return ""
}

// iris reads a property that may be one IRI, one object or an array of either.
func iris(v any) []string {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		var out []string
		for _, e := range t {
			if id := idOf(e); id != "" {
				out = append(out, id)
			}
		}
		return out
	default:
		if id := idOf(t); id != "" {
			return []string{id}
		}
	}
	return nil
}

// hrefs reads url, which may be a string, a Link object (href) or an array of them.
func hrefs(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case map[string]any:
		if h := str(t["href"]); h != "" {
			return []string{h}
		}
		return iris(t)
	case []any:
		var out []string
		for _, e := range t {
			out = append(out, hrefs(e)...)
		}
		return out
	}
	return nil
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// firstMapValue takes the value of the first language, in key order so the choice is stable.
func firstMapValue(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if s := str(m[k]); s != "" {
			return s
		}
	}
	return ""
}
