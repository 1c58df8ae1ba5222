package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/internal/testwait"
)

var updateRun = flag.Bool("update-run", false, "rewrite testdata/run/ from what a scripted run serves and sends")

// The scripted run's record: every ActivityPub document the server serves and every activity it sends, byte for
// byte once the run's own variables (addresses, clock, key) are replaced by fixed ones. It is how a change that
// moves code proves it changed no output: the files must stay identical.
func TestScriptedRunIsUnchanged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	data := t.TempDir()
	addr := freeAddr(t)
	env := memoEnv(data, filepath.Join(data, "memo.db"), "http://"+addr)
	srv := startOn(t, "memo", addr, env)
	social := fedtest.NewInstance(t, "social")
	alice, bob := social.NewActor("alice"), social.NewActor("bob")

	post := func(who *fedtest.Actor, body map[string]any) {
		t.Helper()
		body["@context"] = "https://www.w3.org/ns/activitystreams"
		b := fedtest.MustJSON(t, body)
		if resp := who.Post(t, srv.base+"/inbox", b, fedtest.SignOptions{}); resp.Status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", body["type"], resp.Status, resp.Body)
		}
	}
	actor := srv.base + "/users/memo"
	post(alice, map[string]any{"id": social.Base + "/follows/1", "type": "Follow", "actor": alice.IRI, "object": actor})
	social.WaitReceived(t, 1, 30*time.Second)
	signOn(t, alice, srv, srv.base+"/memo", "Je signe, avec plaisir.")
	social.WaitReceived(t, 2, 30*time.Second)
	post(bob, map[string]any{"id": social.Base + "/likes/1", "type": "Like", "actor": bob.IRI, "object": srv.base + "/memo"})
	post(bob, map[string]any{"id": social.Base + "/boosts/1", "type": "Announce", "actor": bob.IRI, "object": srv.base + "/impulses/lesson-1",
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}})
	signOn(t, bob, srv, srv.base+"/impulses/measure-2", "Une remarque, sans signer.")
	testwait.Until(t, "the like, boost and comment to be applied", func() bool {
		m, _ := getAP(t, srv.base+"/impulses/measure-2")
		replies, _ := m["replies"].(map[string]any)
		memo, _ := getAP(t, srv.base+"/memo")
		likes, _ := memo["likes"].(map[string]any)
		return replies != nil && total(replies) == 1 && likes != nil && total(likes) == 1
	})
	memoRun(t, env, "publish", writeRevision(t, t.TempDir(), 2), "--changelog", "Deuxième révision")
	social.WaitReceived(t, 4, 30*time.Second)

	rec := newRunRecord(t, srv.base, social.Base)
	// Deliveries of one revision leave in any order: files are named by activity, not by arrival.
	var sent []string
	for _, r := range social.Received() {
		a := r.Activity()
		name := "sent" + rec.fileName(fmt.Sprint(a["id"]))
		rec.add(name+".json", r.Body)
		rec.index = append(rec.index, fmt.Sprintf("%s POST %s %s", name, rec.norm(r.Path), r.Header.Get("Content-Type")))
		sent = append(sent, rec.own.FindAllString(string(r.Body), -1)...)
	}
	rec.crawl(append(sent, actor, srv.base+"/memo", srv.base+"/.well-known/nodeinfo", srv.base+"/nodeinfo/2.0", srv.base+"/nodeinfo/2.1",
		srv.base+"/.well-known/webfinger?resource="+url.QueryEscape("acct:memo@"+addr),
		srv.base+"/.well-known/host-meta", srv.base+"/activities/create-memo", srv.base+"/notes/revision-2")...)
	rec.finish()
}

// runRecord holds the normalised bodies of one run, by file name.
type runRecord struct {
	t            *testing.T
	base, social string
	files        map[string][]byte
	index        []string
	times, own   *regexp.Regexp
}

func newRunRecord(t *testing.T, base, social string) *runRecord {
	return &runRecord{t: t, base: base, social: social, files: map[string][]byte{},
		times: regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`),
		own:   regexp.MustCompile(regexp.QuoteMeta(base) + `/[^"#\s\\<>&'{}]*`)}
}

// fileName turns an address of ours into a file name.
func (r *runRecord) fileName(u string) string {
	return strings.NewReplacer("/", "_", "?", "_", "=", "-", "&", "_", "%", "").Replace(strings.TrimPrefix(r.norm(u), "https://memo.example"))
}

// norm replaces what changes from run to run: the two servers' addresses, times, today's date in words, the
// generated key and the numbers made of times.
func (r *runRecord) norm(s string) string {
	s = strings.ReplaceAll(s, r.base, "https://memo.example")
	s = strings.ReplaceAll(s, strings.TrimPrefix(r.base, "http://"), "memo.example")
	s = strings.ReplaceAll(s, url.QueryEscape(strings.TrimPrefix(r.base, "http://")), "memo.example")
	s = strings.ReplaceAll(s, r.social, "https://social.example")
	s = strings.ReplaceAll(s, strings.TrimPrefix(r.social, "http://"), "social.example")
	s = r.times.ReplaceAllString(s, "2020-01-01T00:00:00Z")
	now := time.Now().UTC()
	for _, d := range []time.Time{now, now.Add(-24 * time.Hour)} {
		s = strings.ReplaceAll(s, fmt.Sprintf("%d %s %d", d.Day(), frenchMonths[d.Month()-1], d.Year()), "1er janvier 2020")
		s = strings.ReplaceAll(s, d.Format("2006-01-02"), "2020-01-01")
	}
	s = regexp.MustCompile(`-----BEGIN PUBLIC KEY-----[^"]*-----END PUBLIC KEY-----(\\n)?`).ReplaceAllString(s, "PUBLIC KEY")
	// Identifiers made of the clock or of random bits (acknowledgements, Accepts, the simulated notes).
	s = regexp.MustCompile(`\d{10,}`).ReplaceAllString(s, "N")
	return s
}

var frenchMonths = []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
	"octobre", "novembre", "décembre"}

func (r *runRecord) add(name string, body []byte) {
	r.files[name] = []byte(r.norm(string(body)))
}

// crawl fetches each start address as ActivityPub JSON, then every address of ours found in what it fetched.
func (r *runRecord) crawl(start ...string) {
	queue := append([]string{}, start...)
	seen := map[string]bool{}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if seen[u] || strings.HasPrefix(u, r.base+"/static/") || strings.HasSuffix(u, "/inbox") {
			continue
		}
		seen[u] = true
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Accept", "application/activity+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			r.t.Fatalf("GET %s: %v", u, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			r.t.Fatalf("GET %s: %v", u, err)
		}
		ct := resp.Header.Get("Content-Type")
		if !strings.Contains(ct, "json") && !strings.Contains(ct, "xml") {
			continue // a web page (an address under url or href): not a document of the protocol
		}
		name := "get" + r.fileName(u)
		r.add(name+".json", body)
		r.index = append(r.index, fmt.Sprintf("%s GET %d %s %s", name, resp.StatusCode, ct, resp.Header.Get("Vary")))
		for _, m := range r.own.FindAllString(string(body), -1) {
			if !seen[m] {
				queue = append(queue, m)
			}
		}
	}
	if len(seen) < 30 {
		r.t.Fatalf("the crawl reached only %d addresses", len(seen))
	}
}

// finish compares the record with testdata/run, or rewrites it with -update-run.
func (r *runRecord) finish() {
	dir := filepath.Join("testdata", "run")
	sort.Strings(r.index)
	r.files["index.txt"] = []byte(strings.Join(r.index, "\n") + "\n")
	if *updateRun {
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			r.t.Fatal(err)
		}
		for name, b := range r.files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				r.t.Fatal(err)
			}
		}
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		r.t.Fatalf("%v (go test ./cmd/memo -run ScriptedRun -update-run writes it)", err)
	}
	for _, e := range entries {
		if _, ok := r.files[e.Name()]; !ok {
			r.t.Errorf("%s: recorded before, not produced now", e.Name())
		}
	}
	for name, got := range r.files {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			r.t.Errorf("%s: produced now, not recorded before", name)
			continue
		}
		if string(want) != string(got) {
			r.t.Errorf("%s differs from its record:\nwant %s\ngot  %s", name, want, got)
		}
	}
}
