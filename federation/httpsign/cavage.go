package httpsign

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-fed/httpsig"
)

// maxSignatureHeader bounds the header we parse; real ones are under 1 KB.
const maxSignatureHeader = 8 << 10

// The one grammar of a draft-cavage Signature header that both we and go-fed/httpsig v1.1.0 read alike. httpsig
// (its getSignatureScheme and getSignatureComponents) splits the value on every comma, splits each part
// at its first "=", matches the names keyId, algorithm, headers, signature, created and expires exactly, trims
// quotes off the value, ignores any other name and lets the last of two equal names win; it takes the first
// Signature header line, or `Authorization: Signature …` when the Signature header lacks the parameters. Whatever
// it would read otherwise than we do is refused here, so that the header set we check is the one that is signed.
const (
	paramKeyID     = "keyId"
	paramAlgorithm = "algorithm"
	paramHeaders   = "headers"
	paramSignature = "signature"
	paramCreated   = "created"
	paramExpires   = "expires"
)

var knownParams = []string{paramKeyID, paramAlgorithm, paramHeaders, paramSignature, paramCreated, paramExpires}

// ParseSignatureHeader parses `keyId="…",algorithm="…",headers="…",signature="…"` strictly: parameters separated by
// a bare comma, names exactly as the draft writes them, each at most once, values quoted (created and expires may
// be bare numbers), not empty, without commas, quotes or control characters; headers is lower-case names
// separated by single spaces, each once. keyId and signature are required. See ReadRequest for why.
func ParseSignatureHeader(v string) (Params, error) {
	var p Params
	if len(v) > maxSignatureHeader {
		return p, errors.New("signature header too long")
	}
	if v == "" {
		return p, errors.New("signature header is empty")
	}
	if name, ok := commaInQuotes(v); ok {
		return p, fmt.Errorf("signature header: comma inside the quoted value of %q: httpsig splits on every comma, so it would read another header than we do", clip(name))
	}
	seen := map[string]bool{}
	var headers string
	for _, part := range strings.Split(v, ",") {
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return p, fmt.Errorf("signature header: expected name=\"value\" at %q", clip(part))
		}
		if err := checkParamName(name); err != nil {
			return p, err
		}
		if seen[name] {
			return p, fmt.Errorf("signature header: %s given twice", name)
		}
		seen[name] = true
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		} else if name != paramCreated && name != paramExpires {
			return p, fmt.Errorf("signature header: value of %s must be one quoted string", name)
		}
		if val == "" {
			return p, fmt.Errorf("signature header: empty %s", name)
		}
		for i := 0; i < len(val); i++ {
			if c := val[i]; c < 0x20 || c == 0x7f || c == '"' {
				return p, fmt.Errorf("signature header: quote or control character in the value of %s", name)
			}
		}
		switch name {
		case paramKeyID:
			p.KeyID = val
		case paramAlgorithm:
			p.Algorithm = strings.ToLower(val)
		case paramHeaders:
			headers = val
		case paramSignature:
			b, err := base64.StdEncoding.DecodeString(val)
			if err != nil {
				return p, fmt.Errorf("signature header: signature is not base64: %w", err)
			}
			p.Signature = b
		case paramCreated, paramExpires:
			n, err := parseTime(val)
			if err != nil {
				return p, fmt.Errorf("signature header: %s is not a Unix time", name)
			}
			if name == paramCreated {
				p.Created = n
			} else {
				p.Expires = n
			}
		}
	}
	if p.KeyID == "" {
		return p, errors.New("signature header: no keyId")
	}
	if len(p.Signature) == 0 {
		return p, errors.New("signature header: no signature")
	}
	if !seen[paramHeaders] {
		p.Headers = []string{"date"} // the draft's default, and httpsig's
		return p, nil
	}
	list, err := parseHeaderList(headers)
	if err != nil {
		return p, err
	}
	for _, h := range list {
		if h == "(created)" && p.Created == 0 || h == "(expires)" && p.Expires == 0 {
			return p, fmt.Errorf("signature header: headers list %s without its parameter", h)
		}
	}
	p.Headers = list
	return p, nil
}

// commaInQuotes finds a comma inside a quoted value and returns the name of that value's parameter.
func commaInQuotes(v string) (string, bool) {
	quoted, start, lastComma := false, 0, -1
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			if !quoted {
				start = i
			}
			quoted = !quoted
		case ',':
			if quoted {
				return strings.TrimSuffix(v[lastComma+1:start], "="), true
			}
			lastComma = i
		}
	}
	return "", false
}

// checkParamName refuses a name that httpsig would not read as we do: another case, surrounding blanks, or a name
// it ignores.
func checkParamName(name string) error {
	for _, k := range knownParams {
		if name == k {
			return nil
		}
	}
	if t := strings.TrimSpace(name); t != name {
		return fmt.Errorf("signature header: blank around parameter name %q: separate parameters with a bare comma", clip(t))
	}
	for _, k := range knownParams {
		if strings.EqualFold(name, k) {
			return fmt.Errorf("signature header: parameter %q must be written %q", clip(name), k)
		}
	}
	return fmt.Errorf("signature header: unknown parameter %q", clip(name))
}

// parseTime reads created and expires: decimal digits only, quoted or not.
func parseTime(v string) (int64, error) {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, errors.New("not digits")
		}
	}
	return strconv.ParseInt(v, 10, 64)
}

// parseHeaderList reads the headers parameter: lower-case names separated by single spaces, each once. httpsig
// splits it on single spaces, so a doubled or outer space would name an empty header.
func parseHeaderList(v string) ([]string, error) {
	list := strings.Split(v, " ")
	seen := map[string]bool{}
	for _, h := range list {
		if h == "" {
			return nil, errors.New("signature header: headers list with an empty name (separate names with one space)")
		}
		if !headerName(h) {
			return nil, fmt.Errorf("signature header: %q in the headers list is not a lower-case header name", clip(h))
		}
		if seen[h] {
			return nil, fmt.Errorf("signature header: %s listed twice in headers", h)
		}
		seen[h] = true
	}
	return list, nil
}

func headerName(h string) bool {
	switch h {
	case httpsig.RequestTarget, "(created)", "(expires)":
		return true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
