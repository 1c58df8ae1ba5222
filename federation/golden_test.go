package federation_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

var rsUpdate = flag.Bool("update", false, "rewrite federation/testdata/golden/*.json from what the server answers")

// goldenBase replaces the test server's address in golden files.
const goldenBase = "https://memo.example"

// normalise makes a fetched document comparable across runs: the loopback address becomes goldenBase and the
// generated key's PEM a placeholder (after checking it).
func (s *readSite) normalise(body []byte) map[string]any {
	s.t.Helper()
	host := strings.TrimPrefix(s.URL, "http://")
	text := strings.ReplaceAll(string(body), s.URL, goldenBase)
	text = strings.ReplaceAll(text, host, "memo.example")
	m := rsDecode(s.t, "document", []byte(text))
	if pk, ok := m["publicKey"].(map[string]any); ok {
		pk["publicKeyPem"] = "PUBLIC KEY PEM"
	}
	return m
}

// compareGolden checks doc against testdata/golden/name field by field, naming every difference.
func compareGolden(t *testing.T, name string, doc map[string]any) {
	t.Helper()
	file := filepath.Join("testdata", "golden", name)
	if *rsUpdate {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test ./federation -run Golden -update to create it)", name, err)
	}
	var want map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
	var diffs []string
	diffJSON(name, want, doc, &diffs)
	for _, d := range diffs {
		t.Error(d)
	}
}

// diffJSON walks two decoded JSON values and records each path where they differ.
func diffJSON(at string, want, got any, diffs *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: want an object, got %v", at, rsShort(got)))
			return
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			wv, inW := w[k]
			gv, inG := g[k]
			switch {
			case !inG:
				*diffs = append(*diffs, fmt.Sprintf("%s.%s: missing (want %v)", at, k, rsShort(wv)))
			case !inW:
				*diffs = append(*diffs, fmt.Sprintf("%s.%s: unexpected %v", at, k, rsShort(gv)))
			default:
				diffJSON(at+"."+k, wv, gv, diffs)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %v, got %v", at, rsShort(want), rsShort(got)))
			return
		}
		for i := range w {
			diffJSON(fmt.Sprintf("%s[%d]", at, i), w[i], g[i], diffs)
		}
	default:
		if !reflect.DeepEqual(want, got) {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %v, got %v", at, rsShort(want), rsShort(got)))
		}
	}
}

func rsShort(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 160 {
		return string(b[:160]) + "…"
	}
	return string(b)
}

// TestGoldenDocuments fetches the discovery documents, the actor, the memo Article, an impulse Note and the
// outbox's first page over HTTP and compares them with their golden files, then follows every address of ours
// they hold.
func TestGoldenDocuments(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		s := startReadSite(t, store)
		host := strings.TrimPrefix(s.URL, "http://")
		docs := map[string]string{
			"actor.json":        s.urls.Actor(),
			"article.json":      s.urls.Memo(),
			"impulse-note.json": s.urls.Impulse("lesson-1"),
			"outbox-page.json":  s.urls.Outbox() + "?page=true",
		}
		for name, u := range docs {
			res := s.get(u, rsAcceptAS)
			if res.Status != 200 {
				t.Fatalf("GET %s: %d %s", u, res.Status, res.Body)
			}
			raw := rsDecode(t, u, res.Body)
			if name == "actor.json" {
				checkPublicKey(t, s, raw)
			}
			compareGolden(t, name, s.normalise(res.Body))
			s.followAddresses(raw)
		}

		wf := s.get(s.URL+"/.well-known/webfinger?resource="+url.QueryEscape("acct:memo@"+host), "")
		if wf.Status != 200 || wf.Header.Get("Content-Type") != "application/jrd+json; charset=utf-8" || wf.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("webfinger: %d %v %s", wf.Status, wf.Header, wf.Body)
		}
		compareGolden(t, "webfinger.json", s.normalise(wf.Body))

		for _, v := range []string{"2.0", "2.1"} {
			ni := s.get(s.URL+"/nodeinfo/"+v, "")
			if ni.Status != 200 || !strings.HasPrefix(ni.Header.Get("Content-Type"), "application/json; profile=") {
				t.Fatalf("nodeinfo %s: %d %v", v, ni.Status, ni.Header)
			}
			compareGolden(t, "nodeinfo-"+v+".json", s.normalise(ni.Body))
		}
		index := s.get(s.URL+"/.well-known/nodeinfo", "")
		compareGolden(t, "nodeinfo-index.json", s.normalise(index.Body))
	})
}

// checkPublicKey makes sure the published key is the server's own, readable as peers read it.
func checkPublicKey(t *testing.T, s *readSite, actor map[string]any) {
	t.Helper()
	pemText := rsStr(actor, "publicKey", "publicKeyPem")
	pub, err := httpsign.ParsePublicKeyPEM(pemText)
	if err != nil {
		t.Fatalf("publicKeyPem does not parse: %v\n%s", err, pemText)
	}
	if !pub.Equal(&s.key.PublicKey) {
		t.Fatal("publicKeyPem is not the server's key")
	}
	if rsStr(actor, "publicKey", "id") != s.urls.KeyID() || rsStr(actor, "publicKey", "owner") != s.urls.Actor() {
		t.Fatalf("publicKey id/owner = %q / %q", rsStr(actor, "publicKey", "id"), rsStr(actor, "publicKey", "owner"))
	}
}

// addressKeys are the fields whose values are addresses of documents a peer may fetch as ActivityPub. Others (url,
// href, inbox) lead to web pages or take only POSTs.
var addressKeys = map[string]bool{
	"id": true, "first": true, "next": true, "prev": true, "partOf": true, "outbox": true, "followers": true,
	"following": true, "featured": true, "attributedTo": true, "context": true, "actor": true, "owner": true,
	"streams": true, "orderedItems": true, "items": true, "object": true, "replies": true, "likes": true,
	"shares": true, "signatures": true, "cc": true, "to": true,
}

// followAddresses fetches, as ActivityPub JSON, every address of this server found under an address key of doc,
// and checks each answers 200 with a document whose id is that address.
func (s *readSite) followAddresses(doc map[string]any) {
	s.t.Helper()
	seen := map[string]bool{}
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				if k == "@context" {
					continue
				}
				walk(k, vv)
			}
		case []any:
			for _, vv := range x {
				walk(key, vv)
			}
		case string:
			if addressKeys[key] && strings.HasPrefix(x, s.URL+"/") {
				seen[x] = true
			}
		}
	}
	walk("", doc)
	if len(seen) < 3 {
		s.t.Fatalf("only %d addresses found in %s", len(seen), rsStr(doc, "id"))
	}
	for addr := range seen {
		fetched, _, _ := strings.Cut(addr, "#")
		got := s.getAS(fetched)
		id := rsStr(got, "id")
		if strings.Contains(addr, "#") {
			id = rsStr(got, "publicKey", "id")
		}
		if id != addr {
			s.t.Errorf("GET %s answered a document with id %q", addr, id)
		}
		if _, ok := got["@context"]; !ok {
			s.t.Errorf("GET %s: no @context", addr)
		}
	}
}
