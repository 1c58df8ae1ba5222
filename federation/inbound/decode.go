// Package inbound decodes the activities other servers deliver, whatever their shape, without the cost of the
// full ActivityStreams vocabulary: the inbox needs a handful of fields, and a decoder small enough to fuzz.
package inbound

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/memo-fediverse/memo/federation/fetch"
)

// MaxJSONDepth bounds the nesting of an incoming activity. Real ones nest 4 or 5 deep (Undo{Like} with a tag
// list); a deeper document is an attack on the decoder.
const MaxJSONDepth = 64

// Activity is an incoming activity as the inbox needs it. Peers differ in shape (object as IRI or inline, actor
// as IRI or object, to/cc as string or list), and this type takes them all. The raw body stays the reference: the
// inbox stores it untouched.
type Activity struct {
	ID           string
	Type         string
	Actor        string
	AttributedTo string
	Object       *Ref
	InReplyTo    string
	Target       string // Move's new account
	Content      string
	To, Cc       []string
	// DirectMessage is Pleroma's flag for a direct message, which it sets on the Create as well as on the Note.
	DirectMessage bool
	// Raw is the object's own JSON (for inline objects: Update{Person} refreshes the cache from it).
	Raw json.RawMessage
}

// Ref is a property value that is either an IRI or an inline object (whose id is then in IRI too).
type Ref struct {
	IRI    string
	Inline *Activity
}

// ObjectIRI is the object's id, whatever its shape; "" when there is none.
func (a *Activity) ObjectIRI() string {
	if a == nil || a.Object == nil {
		return ""
	}
	return a.Object.IRI
}

// ObjectType is the inline object's type, or "" when the object is an IRI.
func (a *Activity) ObjectType() string {
	if a == nil || a.Object == nil || a.Object.Inline == nil {
		return ""
	}
	return a.Object.Inline.Type
}

type activityJSON struct {
	ID           string          `json:"id"`
	Type         json.RawMessage `json:"type"`
	Actor        json.RawMessage `json:"actor"`
	AttributedTo json.RawMessage `json:"attributedTo"`
	Object       json.RawMessage `json:"object"`
	InReplyTo    json.RawMessage `json:"inReplyTo"`
	Target       json.RawMessage `json:"target"`
	Content      *string         `json:"content"`
	To           json.RawMessage `json:"to"`
	Cc           json.RawMessage `json:"cc"`
	// DirectMessage is decoded loosely: anything but true is not the flag.
	DirectMessage json.RawMessage `json:"directMessage"`
}

// DecodeActivity decodes an activity after checking its nesting depth. It never panics on any input (fuzzed).
func DecodeActivity(body []byte) (*Activity, error) {
	if err := CheckDepth(body, MaxJSONDepth); err != nil {
		return nil, err
	}
	return decodeObject(body, 0)
}

func decodeObject(raw json.RawMessage, depth int) (*Activity, error) {
	var j activityJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("activity JSON: %w", err)
	}
	a := &Activity{
		ID: j.ID, Type: fetch.FirstString(j.Type), Actor: fetch.FirstIRI(j.Actor),
		AttributedTo: fetch.FirstIRI(j.AttributedTo), InReplyTo: fetch.FirstIRI(j.InReplyTo),
		Target: fetch.FirstIRI(j.Target),
		To:     iriList(j.To), Cc: iriList(j.Cc), Raw: raw,
		DirectMessage: bytes.Equal(bytes.TrimSpace(j.DirectMessage), []byte("true")),
	}
	if j.Content != nil {
		a.Content = *j.Content
	}
	obj := bytes.TrimSpace(j.Object)
	if len(obj) > 0 && obj[0] == '[' {
		// Several objects are rare (Lemmy, some relays); the first is the one acted upon.
		var list []json.RawMessage
		if json.Unmarshal(obj, &list) == nil && len(list) > 0 {
			obj = bytes.TrimSpace(list[0])
		} else {
			obj = nil
		}
	}
	switch {
	case len(obj) == 0 || bytes.Equal(obj, []byte("null")):
	case obj[0] == '"':
		var s string
		if err := json.Unmarshal(obj, &s); err != nil {
			return nil, fmt.Errorf("activity object: %w", err)
		}
		a.Object = &Ref{IRI: s}
	case obj[0] == '{':
		if depth >= 3 {
			// Undo{Like{Note}} is as deep as anything we act on; deeper objects are kept only by IRI.
			a.Object = &Ref{IRI: fetch.FirstIRI(obj)}
			break
		}
		inner, err := decodeObject(obj, depth+1)
		if err != nil {
			return nil, fmt.Errorf("activity object: %w", err)
		}
		a.Object = &Ref{IRI: inner.ID, Inline: inner}
	default:
		return nil, errors.New("activity object: neither an IRI nor an object")
	}
	return a, nil
}

// iriList reads to/cc: a string, a list of strings, or objects with id (rare), skipping what is not an IRI.
func iriList(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] != '[' {
		if v := fetch.FirstIRI(raw); v != "" {
			return []string{v}
		}
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		if v := fetch.FirstIRI(item); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// ErrTooDeep is returned for JSON nested deeper than allowed.
var ErrTooDeep = errors.New("JSON nested too deep")

// CheckDepth scans body once, without decoding, and refuses nesting deeper than max. Strings are skipped with their
// escapes, so brackets inside them do not count.
func CheckDepth(body []byte, max int) error {
	depth, inString, escaped := 0, false, false
	for _, c := range body {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return fmt.Errorf("%w (over %d levels)", ErrTooDeep, max)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// Envelope is the cheap first look at a body, before the signature is checked.
type Envelope struct {
	ID     string          `json:"id"`
	Type   json.RawMessage `json:"type"`
	Actor  json.RawMessage `json:"actor"`
	Object json.RawMessage `json:"object"`
}
