package httpsign

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A small, strict reader of the Structured Field Values (RFC 8941) that RFC 9421 uses: a Dictionary whose members
// are an Inner List of Strings (Signature-Input) or a Byte Sequence (Signature, Content-Digest), with Parameters.
// Whatever RFC 8941 would resolve by a rule a peer may not follow (the last of two equal keys wins) is refused, so
// that what we verify is what every reader sees.

// sfItem is a bare item: a string, an integer or a byte sequence.
type sfItem struct {
	kind  byte // 's' string, 'i' integer, 'b' byte sequence, 't' token
	str   string
	num   int64
	bytes []byte
}

type sfParam struct {
	key string
	val sfItem
}

// sfMember is a dictionary member: an inner list (list set) or an item, with its parameters in order.
type sfMember struct {
	key    string
	isList bool
	list   []sfInner
	item   sfItem
	params []sfParam
}

type sfInner struct {
	item   sfItem
	params []sfParam
}

type sfParser struct {
	s string
	i int
}

func (p *sfParser) eof() bool { return p.i >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}

func (p *sfParser) errf(format string, args ...any) error {
	return fmt.Errorf("structured field, at byte %d: %s", p.i, fmt.Sprintf(format, args...))
}

// parseDictionary reads a whole field value as a Dictionary, refusing duplicate keys and boolean members.
func parseDictionary(v string) ([]sfMember, error) {
	p := &sfParser{s: strings.Trim(v, " ")}
	var out []sfMember
	seen := map[string]bool{}
	for !p.eof() {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, p.errf("key %q given twice", clip(key))
		}
		seen[key] = true
		if p.peek() != '=' {
			return nil, p.errf("member %q without a value", clip(key))
		}
		p.i++
		m := sfMember{key: key}
		if p.peek() == '(' {
			m.isList = true
			if m.list, err = p.innerList(); err != nil {
				return nil, err
			}
		} else if m.item, err = p.bareItem(); err != nil {
			return nil, err
		}
		if m.params, err = p.parameters(); err != nil {
			return nil, err
		}
		out = append(out, m)
		p.ows()
		if p.eof() {
			break
		}
		if p.peek() != ',' {
			return nil, p.errf("expected a comma between members")
		}
		p.i++
		p.ows()
		if p.eof() {
			return nil, p.errf("trailing comma")
		}
	}
	if len(out) == 0 {
		return nil, errors.New("structured field: empty dictionary")
	}
	return out, nil
}

func (p *sfParser) ows() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// key reads a key: lcalpha or "*", then lcalpha, digits, "_", "-", ".", "*".
func (p *sfParser) key() (string, error) {
	start := p.i
	if c := p.peek(); !(c >= 'a' && c <= 'z' || c == '*') {
		return "", p.errf("a key must start with a lower-case letter")
	}
	for !p.eof() {
		c := p.s[p.i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i], nil
}

func (p *sfParser) innerList() ([]sfInner, error) {
	p.i++ // "("
	var out []sfInner
	for {
		for p.peek() == ' ' {
			p.i++
		}
		if p.eof() {
			return nil, p.errf("inner list not closed")
		}
		if p.peek() == ')' {
			p.i++
			return out, nil
		}
		it, err := p.bareItem()
		if err != nil {
			return nil, err
		}
		params, err := p.parameters()
		if err != nil {
			return nil, err
		}
		out = append(out, sfInner{item: it, params: params})
		if c := p.peek(); c != ' ' && c != ')' {
			return nil, p.errf("expected a space or ) in an inner list")
		}
	}
}

// parameters reads ";key=value" pairs, refusing a key given twice (RFC 8941 would keep the last one).
func (p *sfParser) parameters() ([]sfParam, error) {
	var out []sfParam
	for p.peek() == ';' {
		p.i++
		for p.peek() == ' ' {
			p.i++
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		for _, q := range out {
			if q.key == key {
				return nil, p.errf("parameter %q given twice", clip(key))
			}
		}
		if p.peek() != '=' {
			return nil, p.errf("parameter %q without a value", clip(key))
		}
		p.i++
		val, err := p.bareItem()
		if err != nil {
			return nil, err
		}
		out = append(out, sfParam{key: key, val: val})
	}
	return out, nil
}

// bareItem reads a string, an integer, a byte sequence or a token; decimals and booleans have no use here.
func (p *sfParser) bareItem() (sfItem, error) {
	c := p.peek()
	switch {
	case c == '"':
		return p.str()
	case c == ':':
		p.i++
		end := strings.IndexByte(p.s[p.i:], ':')
		if end < 0 {
			return sfItem{}, p.errf("byte sequence not closed")
		}
		raw := p.s[p.i : p.i+end]
		b, err := base64.StdEncoding.Strict().DecodeString(raw)
		if err != nil {
			return sfItem{}, p.errf("byte sequence is not base64")
		}
		p.i += end + 1
		return sfItem{kind: 'b', bytes: b}, nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.i
		if c == '-' {
			p.i++
		}
		for !p.eof() && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		digits := p.s[start:p.i]
		if p.peek() == '.' {
			return sfItem{}, p.errf("decimals are not used here")
		}
		if len(strings.TrimPrefix(digits, "-")) == 0 || len(strings.TrimPrefix(digits, "-")) > 15 {
			return sfItem{}, p.errf("integer of 1 to 15 digits expected")
		}
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return sfItem{}, p.errf("integer: %v", err)
		}
		return sfItem{kind: 'i', num: n}, nil
	case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '*':
		start := p.i
		for !p.eof() {
			c := p.s[p.i]
			if c > ' ' && c < 0x7f && !strings.ContainsRune(`"(),;<=>?@[\]{}`, rune(c)) {
				p.i++
				continue
			}
			break
		}
		return sfItem{kind: 't', str: p.s[start:p.i]}, nil
	}
	return sfItem{}, p.errf("unexpected %q", string(c))
}

func (p *sfParser) str() (sfItem, error) {
	p.i++
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\':
			if p.eof() || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
				return sfItem{}, p.errf("bad escape in a string")
			}
			b.WriteByte(p.s[p.i])
			p.i++
		case c == '"':
			return sfItem{kind: 's', str: b.String()}, nil
		case c < 0x20 || c >= 0x7f:
			return sfItem{}, p.errf("control or non-ASCII character in a string")
		default:
			b.WriteByte(c)
		}
	}
	return sfItem{}, p.errf("string not closed")
}

// serialize writes an item as RFC 8941 does: the form the signature base uses.
func (it sfItem) serialize() string {
	switch it.kind {
	case 's':
		return strconv.Quote(it.str) // printable ASCII only, so Go's quoting is RFC 8941's
	case 'i':
		return strconv.FormatInt(it.num, 10)
	case 'b':
		return ":" + base64.StdEncoding.EncodeToString(it.bytes) + ":"
	}
	return it.str
}

func serializeParams(ps []sfParam) string {
	var b strings.Builder
	for _, q := range ps {
		b.WriteString(";" + q.key + "=" + q.val.serialize())
	}
	return b.String()
}
