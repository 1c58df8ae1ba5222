package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// These tests run `memo serve` processes for the origin and the copy, each with its own database and its own
// address on loopback, beside simulated fediverse instances (federation/fedtest) for the signers and, where the
// origin's checks are the subject, for a copy that relays whatever the test wants.

// startAt starts `memo serve` listening on addr, whose URL is also its public URL: the inbox checks that signed
// requests name its host.
func startAt(t *testing.T, name, addr string, env []string) *server {
	t.Helper()
	return startOn(t, name, addr, append(append([]string{}, env...), "MEMO_PUBLIC_URL=http://"+addr))
}

// getAP fetches an ActivityPub document of a server and decodes it; status is returned for the caller to check.
func getAP(t *testing.T, url string) (map[string]any, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return m, resp.StatusCode
}

func getHTML(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return string(b)
}

func total(m map[string]any) int {
	n, _ := m["totalItems"].(float64)
	return int(n)
}

// copyEnv is the environment of one instance with its own data folder (and SQLite database).
func copyEnv(t *testing.T, extra ...string) (env []string, db string) {
	data := t.TempDir()
	db = filepath.Join(data, "memo.db")
	env = append(memoEnv(data, db, ""), extra...)
	return env, db
}

// A copy started with MEMO_COPY_OF mirrors the origin's revisions 1..n under its own addresses, and a revision
// published on the origin later reaches it (here through the catch-up a restart does).
func TestCopyMirrorsOriginRevisions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	originEnv, _ := copyEnv(t)
	originAddr := freeAddr(t)
	origin := startAt(t, "origin", originAddr, originEnv)
	dir := t.TempDir()
	memoRun(t, append(originEnv, "MEMO_PUBLIC_URL="+origin.base), "publish", writeRevision(t, dir, 2), "--changelog", "deuxième")

	copyEnvVars, copyDB := copyEnv(t, "MEMO_COPY_OF="+origin.base+"/users/memo")
	copyAddr := freeAddr(t)
	cp := startAt(t, "copy", copyAddr, copyEnvVars)

	testwait.Until(t, "the copy to list 2 revisions", func() bool {
		m, status := getAP(t, cp.base+"/memo/revisions")
		return status == 200 && total(m) == 2
	})
	rev2, status := getAP(t, cp.base+"/memo/revisions/2")
	if status != 200 || rev2["id"] != cp.base+"/memo/revisions/2" {
		t.Fatalf("copy's revision 2: %d %v", status, rev2["id"])
	}
	text, _ := rev2["content"].(string)
	if !strings.Contains(text, "Révision de test numéro 2") || strings.Count(text, "<hr/><p><em>Révision ") != 1 {
		t.Fatalf("copy's revision 2 content is not the origin's text with one attribution:\n%s", text)
	}
	if src, _ := rev2["source"].(map[string]any); src == nil || !strings.Contains(fmt.Sprint(src["content"]), "Révision de test numéro 2") {
		t.Fatalf("copy's revision 2 has not the origin's Markdown: %v", rev2["source"])
	}

	// The copy records its origin and follows it through the queue.
	s := openStore(t, copyDB)
	if v, err := s.Meta(context.Background(), storage.MetaCopyOf); err != nil || v != origin.base+"/users/memo" {
		t.Fatalf("copy_of = %q, %v", v, err)
	}
	follow, err := s.ActivityByIRI(context.Background(), cp.base+"/activities/follow-origin")
	if err != nil || !strings.Contains(follow.Body, `"object":"`+origin.base+`/users/memo"`) {
		t.Fatalf("Follow of the origin: %v %s", err, follow.Body)
	}

	if memo, _ := getAP(t, cp.base+"/memo"); memo["context"] != origin.base+"/memo" {
		t.Fatalf("the copy's memo does not name the origin's as its context: %v", memo["context"])
	}
	// The copy's pages say whose copy it is.
	if home := getHTML(t, cp.base+"/"); !strings.Contains(home, `href="`+origin.base+`/"`) || !strings.Contains(home, "copie du mémo") {
		t.Fatalf("the copy's home page does not name its origin")
	}

	// A copy does not publish revisions of its own.
	pub := exec.Command(binaryFor(t), "publish", writeRevision(t, dir, 9), "--changelog", "non")
	pub.Env = append(copyEnvVars, "MEMO_PUBLIC_URL="+cp.base)
	if out, err := pub.CombinedOutput(); err == nil || !strings.Contains(string(out), "copy of "+origin.base) {
		t.Fatalf("memo publish on a copy: %v\n%s", err, out)
	}

	// Revision 3 on the origin; the copy, restarted, catches up.
	memoRun(t, append(originEnv, "MEMO_PUBLIC_URL="+origin.base), "publish", writeRevision(t, dir, 3), "--changelog", "troisième")
	cp.kill()
	cp = startAt(t, "copy again", copyAddr, copyEnvVars)
	testwait.Until(t, "the copy to list 3 revisions", func() bool {
		m, status := getAP(t, cp.base+"/memo/revisions")
		return status == 200 && total(m) == 3
	})
	memo, _ := getAP(t, cp.base+"/memo")
	if memo["id"] != cp.base+"/memo" || !strings.Contains(fmt.Sprint(memo["content"]), "numéro 3") {
		t.Fatalf("copy's memo is not at revision 3: %v", memo["id"])
	}
}

// relayRig is a real origin, a simulated copy that follows it, and a simulated instance of signers.
type relayRig struct {
	t       *testing.T
	origin  *server
	env     []string
	store   *storage.Store
	copy    *fedtest.Instance
	copyAct *fedtest.Actor
	social  *fedtest.Instance
}

func newRelayRig(t *testing.T) *relayRig {
	env, db := copyEnv(t)
	r := &relayRig{t: t, env: env}
	r.origin = startAt(t, "origin", freeAddr(t), env)
	r.env = append(env, "MEMO_PUBLIC_URL="+r.origin.base)
	r.store = openStore(t, db)
	r.copy = fedtest.NewInstance(t, "copy")
	r.copyAct = r.copy.NewActor("memo")
	r.social = fedtest.NewInstance(t, "social")
	r.follow(r.copyAct)
	return r
}

// follow makes a simulated actor follow the origin and waits until the origin has it as a follower.
func (r *relayRig) follow(a *fedtest.Actor) {
	r.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": a.Instance.NextID("follows"), "type": "Follow",
		"actor": a.IRI, "object": r.origin.base + "/users/memo",
	})
	if resp := a.Post(r.t, r.origin.base+"/inbox", body, fedtest.SignOptions{}); resp.Status != http.StatusAccepted {
		r.t.Fatalf("Follow: %d %s", resp.Status, resp.Body)
	}
	testwait.Until(r.t, a.IRI+" to follow the origin", func() bool {
		_, err := r.store.Follower(context.Background(), a.IRI)
		return err == nil
	})
}

// note publishes a reply on the signers' instance and returns its IRI.
func (r *relayRig) note(author *fedtest.Actor, on *fedtest.Instance, inReplyTo, text string) string {
	path := "/notes/" + strings.TrimPrefix(on.NextID("n"), on.Base+"/n/")
	id := on.Base + path
	body, _ := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Note", "attributedTo": author.IRI,
		"inReplyTo": inReplyTo, "content": "<p>" + text + "</p>",
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []string{author.IRI + "/followers"},
	})
	on.AddDocument(path, body)
	return id
}

// relay sends a copy's Add (or Remove) of a reply to the origin and returns the answer.
func (r *relayRig) relay(from *fedtest.Actor, typ, noteIRI string) *fedtest.Response {
	r.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": from.Instance.NextID("relays"), "type": typ,
		"actor": from.IRI, "object": noteIRI, "target": r.origin.base + "/signatures", "to": []string{r.origin.base + "/users/memo"},
	})
	return from.Post(r.t, r.origin.base+"/inbox", body, fedtest.SignOptions{})
}

func (r *relayRig) counts() storage.SignatureCounts {
	r.t.Helper()
	c, err := r.store.CountSignatures(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// The origin trusts no copy: it counts a relayed signature only once it has fetched the reply from the signer's
// server and found it written by its author, with a signing phrase, in answer to the relaying copy's memo.
func TestOriginVerifiesRelayedSignatures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	r := newRelayRig(t)
	alice := r.social.NewActor("alice")
	copyMemo := r.copy.Base + "/memo"

	refused := []struct {
		name   string
		note   string
		status int
	}{
		{"a reply that does not exist", r.social.Base + "/notes/missing", http.StatusBadRequest},
		{"a reply without a signing phrase", r.note(alice, r.social, copyMemo, "Beau texte."), http.StatusBadRequest},
		{"a reply to an unrelated note", r.note(alice, r.social, r.social.Base+"/notes/other", "Je signe"), http.StatusBadRequest},
		{"a reply in someone else's name", r.note(alice, fedtest.NewInstance(t, "elsewhere"), copyMemo, "Je signe"), http.StatusForbidden},
		{"a reply to another copy's memo", r.note(alice, r.social, "http://127.0.0.1:1/memo", "Je signe"), http.StatusBadRequest},
	}
	for _, c := range refused {
		resp := r.relay(r.copyAct, "Add", c.note)
		if resp.Status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, resp.Status, resp.Body, c.status)
		}
	}
	if got := r.counts(); got != (storage.SignatureCounts{}) {
		t.Fatalf("refused relays recorded something: %+v", got)
	}

	// A copy that does not follow the origin is not a copy it knows.
	stranger := fedtest.NewInstance(t, "stranger").NewActor("memo")
	good := r.note(alice, r.social, copyMemo, "Je signe, évidemment.")
	if resp := r.relay(stranger, "Add", good); resp.Status != http.StatusForbidden {
		t.Fatalf("relay from a non-follower: %d %s", resp.Status, resp.Body)
	}

	// The real thing: counted, with the copy noted.
	if resp := r.relay(r.copyAct, "Add", good); resp.Status != http.StatusAccepted {
		t.Fatalf("good relay: %d %s", resp.Status, resp.Body)
	}
	g, err := r.store.SignatureByNote(context.Background(), good)
	if err != nil || g.ActorIRI != alice.IRI || g.ViaCopy != r.copyAct.IRI || !g.Standing() {
		t.Fatalf("relayed signature = %+v, %v", g, err)
	}
	var ev struct{ Kind, Host, Path string }
	if err := json.Unmarshal([]byte(g.Evidence), &ev); err != nil || ev.Kind != "fetched" || ev.Host != r.social.Host || !strings.HasPrefix(good, r.social.Base+ev.Path) {
		t.Fatalf("evidence of a relayed signature: %+v, %v", ev, err)
	}
	// Received twice (a retry): one signature.
	if resp := r.relay(r.copyAct, "Add", good); resp.Status != http.StatusAccepted {
		t.Fatalf("repeated relay: %d %s", resp.Status, resp.Body)
	}
	if got := r.counts(); got.Public != 1 {
		t.Fatalf("after the good relay and its repeat: %+v", got)
	}

	// One signature per person across the network: alice signs again on a second copy; still one.
	second := fedtest.NewInstance(t, "copy2").NewActor("memo")
	r.follow(second)
	if resp := r.relay(second, "Add", r.note(alice, r.social, second.Instance.Base+"/memo", "Je signe ici aussi")); resp.Status != http.StatusAccepted {
		t.Fatalf("second copy's relay: %d %s", resp.Status, resp.Body)
	}
	if got := r.counts(); got.Public != 1 {
		t.Fatalf("alice counted twice: %+v", got)
	}
	if out := memoRun(t, r.env, "copies"); !strings.Contains(out, r.copy.Host) || !strings.Contains(out, second.Instance.Host) {
		t.Fatalf("memo copies does not list both copies:\n%s", out)
	}

	coll, status := getAP(t, r.origin.base+"/copies")
	if status != 200 || total(coll) != 2 || !strings.Contains(fmt.Sprint(coll["orderedItems"]), r.copyAct.IRI) {
		t.Fatalf("copies collection: %d %v", status, coll)
	}
	if page := getHTML(t, r.origin.base+"/copies"); !strings.Contains(page, r.copy.Host) {
		t.Fatalf("copies page does not list %s:\n%s", r.copy.Host, page)
	}

	// A withdrawal relayed while the reply still stands is refused; once the reply is gone it is honoured.
	if resp := r.relay(r.copyAct, "Remove", good); resp.Status != http.StatusConflict {
		t.Fatalf("Remove of a standing reply: %d %s", resp.Status, resp.Body)
	}
	r.social.Handle(strings.TrimPrefix(good, r.social.Base), func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "gone", http.StatusGone)
	})
	if resp := r.relay(r.copyAct, "Remove", good); resp.Status != http.StatusAccepted {
		t.Fatalf("Remove of a deleted reply: %d %s", resp.Status, resp.Body)
	}
	if got := r.counts(); got.Public != 0 || got.Withdrawn != 1 {
		t.Fatalf("after the withdrawal: %+v", got)
	}

	// Blocking a copy: its relays are refused and the signatures it brought are hidden.
	bob := r.social.NewActor("bob")
	if resp := r.relay(r.copyAct, "Add", r.note(bob, r.social, copyMemo, "je signe")); resp.Status != http.StatusAccepted {
		t.Fatalf("bob's relay: %d %s", resp.Status, resp.Body)
	}
	if got := r.counts(); got.Public != 1 {
		t.Fatalf("bob not counted: %+v", got)
	}
	if out := memoRun(t, r.env, "block", "copy", r.copy.Host); !strings.Contains(out, "1 signatures it brought hidden") {
		t.Fatalf("memo block copy: %s", out)
	}
	if got := r.counts(); got.Public != 0 || got.Hidden != 1 {
		t.Fatalf("after blocking the copy: %+v", got)
	}
	carol := r.social.NewActor("carol")
	if resp := r.relay(r.copyAct, "Add", r.note(carol, r.social, copyMemo, "je signe")); resp.Status != http.StatusForbidden {
		t.Fatalf("relay of a blocked copy: %d %s", resp.Status, resp.Body)
	}
	if _, err := storagetest.SignatureByActor(context.Background(), r.store, carol.IRI); err == nil {
		t.Fatal("a blocked copy's relay was recorded")
	}

	// The origin re-checks relayed signatures itself: a reply deleted since (and whose withdrawal no copy
	// relayed) is withdrawn; one still there stays.
	erin, fay := r.social.NewActor("erin"), r.social.NewActor("fay")
	erinNote := r.note(erin, r.social, second.Instance.Base+"/memo", "je signe")
	for _, n := range []string{erinNote, r.note(fay, r.social, second.Instance.Base+"/memo", "je signe")} {
		if resp := r.relay(second, "Add", n); resp.Status != http.StatusAccepted {
			t.Fatalf("relay through the second copy: %d %s", resp.Status, resp.Body)
		}
	}
	r.social.Handle(strings.TrimPrefix(erinNote, r.social.Base), http.NotFound)
	if out := memoRun(t, r.env, "copies", "recheck"); !strings.Contains(out, "1 relayed signatures withdrawn") {
		t.Fatalf("memo copies recheck: %s", out)
	}
	if g, err := storagetest.SignatureByActor(context.Background(), r.store, erin.IRI); err != nil || g.Standing() {
		t.Fatalf("erin's signature stands although her reply is gone (err %v)", err)
	}
	if g, err := storagetest.SignatureByActor(context.Background(), r.store, fay.IRI); err != nil || !g.Standing() {
		t.Fatalf("fay's signature was withdrawn although her reply stands (err %v)", err)
	}
}

// signOn makes a simulated user reply to an object of a memo server with text: the note is published on the
// user's instance (so that anyone can fetch it) and its Create posted, signed, to the server's inbox.
func signOn(t *testing.T, who *fedtest.Actor, srv *server, inReplyTo, text string) string {
	t.Helper()
	path := "/notes/" + strings.TrimPrefix(who.Instance.NextID("n"), who.Instance.Base+"/n/")
	noteIRI := who.Instance.Base + path
	note := map[string]any{
		"id": noteIRI, "type": "Note", "attributedTo": who.IRI, "inReplyTo": inReplyTo, "content": "<p>" + text + "</p>",
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []string{who.IRI + "/followers"},
		"published": "2026-05-01T10:00:00Z",
	}
	doc, _ := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": noteIRI, "type": "Note",
		"attributedTo": who.IRI, "inReplyTo": inReplyTo, "content": note["content"], "to": note["to"], "cc": note["cc"], "published": note["published"]})
	who.Instance.AddDocument(path, doc)
	create, _ := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": noteIRI + "/activity", "type": "Create", "actor": who.IRI,
		"to": note["to"], "cc": note["cc"], "object": note,
	})
	if resp := who.Post(t, srv.base+"/inbox", create, fedtest.SignOptions{}); resp.Status != http.StatusAccepted {
		t.Fatalf("reply to %s: %d %s", srv.name, resp.Status, resp.Body)
	}
	return noteIRI
}

// A signature made on a copy counts there at once and is queued, durably, as an Add to the origin; its
// withdrawal is queued as a Remove.
func TestCopyQueuesRelays(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	originEnv, _ := copyEnv(t)
	origin := startAt(t, "origin", freeAddr(t), originEnv)
	copyVars, copyDB := copyEnv(t, "MEMO_COPY_OF="+origin.base+"/users/memo")
	cp := startAt(t, "copy", freeAddr(t), copyVars)
	s := openStore(t, copyDB)
	ctx := context.Background()
	testwait.Until(t, "the copy to follow its origin", func() bool {
		_, err := s.ActivityByIRI(ctx, cp.base+"/activities/follow-origin")
		return err == nil
	})

	social := fedtest.NewInstance(t, "social")
	alice := social.NewActor("alice")
	note := signOn(t, alice, cp, cp.base+"/memo", "Je signe !")
	var sig storage.Signature
	testwait.Until(t, "the signature to count on the copy", func() bool {
		var err error
		sig, err = s.SignatureByNote(ctx, note)
		return err == nil
	})
	if sig.ActorIRI != alice.IRI || sig.ViaCopy != "" {
		t.Fatalf("signature on the copy = %+v", sig)
	}
	addIRI := storage.RelayAddPrefix(cp.base) + fmt.Sprint(sig.ID)
	var inbox string
	testwait.Until(t, "the relay to be queued", func() bool {
		return s.DB().GetContext(ctx, &inbox, s.DB().Rebind(`SELECT inbox FROM deliveries WHERE activity_iri = ?`), addIRI) == nil
	})
	if inbox != origin.base+"/inbox" {
		t.Fatalf("relay queued to %s, want the origin's shared inbox", inbox)
	}
	add, err := s.ActivityByIRI(ctx, addIRI)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.Unmarshal([]byte(add.Body), &body)
	if body["type"] != "Add" || body["object"] != note || body["target"] != origin.base+"/signatures" || body["actor"] != cp.base+"/users/memo" {
		t.Fatalf("relay body: %s", add.Body)
	}

	// Withdrawn on the copy (the reply deleted): a Remove follows.
	del, _ := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": note + "#delete", "type": "Delete", "actor": alice.IRI,
		"object": map[string]any{"id": note, "type": "Tombstone"}, "to": []string{"https://www.w3.org/ns/activitystreams#Public"},
	})
	if resp := alice.Post(t, cp.base+"/inbox", del, fedtest.SignOptions{}); resp.Status != http.StatusAccepted {
		t.Fatalf("Delete: %d %s", resp.Status, resp.Body)
	}
	removeIRI := cp.base + "/activities/relay-remove-" + fmt.Sprint(sig.ID)
	testwait.Until(t, "the withdrawal to be queued", func() bool {
		_, err := s.ActivityByIRI(ctx, removeIRI)
		return err == nil
	})
}

// A MEMO_COPY_OF that names no origin stops start-up with one line saying what to give.
func TestServeRefusesBadCopyOf(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	env, _ := copyEnv(t, "MEMO_COPY_OF=memo.example", "MEMO_LISTEN="+freeAddr(t))
	cmd := exec.Command(binaryFor(t), "serve")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "MEMO_COPY_OF") || !strings.Contains(string(out), "memo@memo.example") {
		t.Fatalf("serve with a bad MEMO_COPY_OF: %v\n%s", err, out)
	}
}
