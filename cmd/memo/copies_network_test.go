package main

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// The whole network with real processes and the real delivery queue: the copy follows the origin, a revision
// published on the origin reaches the running copy, signatures made on the copy reach the origin (once per person),
// a withdrawal follows, and with the origin down the relays wait and arrive when it is back, none twice.
func TestCopyNetworkEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx := context.Background()
	originEnv, originDB := copyEnv(t)
	if os.Getenv(storagetest.EnvPostgres) != "" {
		// The origin on PostgreSQL, the copy on SQLite: both engines in one network.
		originDB = storagetest.PostgresDSN(t)
		originEnv = append(originEnv, "MEMO_DATABASE="+originDB)
	}
	originAddr := freeAddr(t)
	origin := startAt(t, "origin", originAddr, originEnv)
	originEnv = append(originEnv, "MEMO_PUBLIC_URL="+origin.base)
	ostore := openStore(t, originDB)
	copyVars, copyDB := copyEnv(t, "MEMO_COPY_OF="+origin.base+"/users/memo")
	cp := startAt(t, "copy", freeAddr(t), copyVars)
	cs := openStore(t, copyDB)
	copyActor := cp.base + "/users/memo"

	testwait.Until(t, "the origin to have the copy as a follower", func() bool {
		_, err := ostore.Follower(ctx, copyActor)
		return err == nil
	})

	// A revision published on the origin reaches the running copy through the Update delivered to followers.
	memoRun(t, originEnv, "publish", writeRevision(t, t.TempDir(), 2), "--changelog", "deuxième")
	testwait.Until(t, "the running copy to show revision 2", func() bool {
		m, status := getAP(t, cp.base+"/memo/revisions")
		return status == 200 && total(m) == 2
	})

	social := fedtest.NewInstance(t, "social")
	alice, bob := social.NewActor("alice"), social.NewActor("bob")

	// alice signs on the copy: counted there at once, on the origin once verified.
	aliceNote := signOn(t, alice, cp, cp.base+"/memo", "Je signe !")
	testwait.Until(t, "alice to count on the copy", func() bool {
		_, err := cs.SignatureByNote(ctx, aliceNote)
		return err == nil
	})
	var g storage.Signature
	testwait.Until(t, "alice to count on the origin", func() bool {
		var err error
		g, err = storagetest.SignatureByActor(ctx, ostore, alice.IRI)
		return err == nil
	})
	if g.ViaCopy != copyActor || g.NoteIRI != aliceNote || !g.Standing() {
		t.Fatalf("alice on the origin: %+v", g)
	}
	testwait.Until(t, "the copy to show the network's count", func() bool {
		return strings.Contains(getHTML(t, cp.base+"/"), ">1 signature<")
	})

	// bob signs on the origin and on the copy: one signature on the origin, the first.
	bobOrigin := signOn(t, bob, origin, origin.base+"/memo", "je signe")
	testwait.Until(t, "bob to count on the origin", func() bool {
		_, err := ostore.SignatureByNote(ctx, bobOrigin)
		return err == nil
	})
	bobCopy := signOn(t, bob, cp, cp.base+"/memo", "je signe aussi ici")
	var bobOnCopy storage.Signature
	testwait.Until(t, "bob's relay to be delivered", func() bool {
		var err error
		if bobOnCopy, err = cs.SignatureByNote(ctx, bobCopy); err != nil {
			return false
		}
		var state string
		cs.DB().GetContext(ctx, &state, cs.DB().Rebind(`SELECT state FROM deliveries WHERE activity_iri = ?`), storage.RelayAddPrefix(cp.base)+strconv.FormatInt(bobOnCopy.ID, 10))
		return state == "delivered"
	})
	if c, err := ostore.CountSignatures(ctx); err != nil || c.Public != 2 {
		t.Fatalf("origin counts %+v, want alice and bob once each (err %v)", c, err)
	}
	if got, err := storagetest.SignatureByActor(ctx, ostore, bob.IRI); err != nil || got.NoteIRI != bobOrigin || got.ViaCopy != "" {
		t.Fatalf("bob's signature on the origin is not his first: %+v (err %v)", got, err)
	}

	// alice deletes her reply: withdrawn on the copy, then on the origin.
	social.Handle(strings.TrimPrefix(aliceNote, social.Base), func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "gone", http.StatusGone) })
	postDelete(t, alice, cp, aliceNote)
	testwait.Until(t, "alice's withdrawal to reach the origin", func() bool {
		got, err := storagetest.SignatureByActor(ctx, ostore, alice.IRI)
		return err == nil && !got.Standing()
	})

	// The origin goes down, and the copy restarts meanwhile: it keeps serving, and signatures made on it wait in
	// its queue. A revision published on the stopped origin reaches the copy once the origin is back.
	origin.kill()
	cp.kill()
	cp = startAt(t, "copy again", strings.TrimPrefix(cp.base, "http://"), copyVars)
	memoRun(t, originEnv, "publish", writeRevision(t, t.TempDir(), 3), "--changelog", "troisième")
	carol, dan := social.NewActor("carol"), social.NewActor("dan")
	for _, who := range []*fedtest.Actor{carol, dan} {
		note := signOn(t, who, cp, cp.base+"/memo", "Je signe")
		testwait.Until(t, who.Username+" to count on the copy", func() bool {
			_, err := cs.SignatureByNote(ctx, note)
			return err == nil
		})
	}
	testwait.Until(t, "the relays to fail once against the stopped origin", func() bool {
		var n int
		cs.DB().GetContext(ctx, &n, cs.DB().Rebind(`SELECT COUNT(*) FROM deliveries WHERE activity_iri LIKE ? AND state = 'pending' AND attempts >= 1`), storage.RelayAddPrefix(cp.base)+"%")
		return n == 2
	})
	origin = startAt(t, "origin again", originAddr, originEnv)
	// The first retry is a minute away: stand for that minute passing.
	if _, err := cs.DB().ExecContext(ctx, cs.DB().Rebind(`UPDATE deliveries SET next_attempt_at = ? WHERE state = 'pending'`), 0); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the copy to show revision 3", func() bool {
		m, status := getAP(t, cp.base+"/memo/revisions")
		return status == 200 && total(m) == 3
	})
	testwait.Until(t, "carol and dan to reach the origin", func() bool {
		c, _ := ostore.CountSignatures(ctx)
		return c.Public == 3 // bob, carol, dan
	})
	// An impulse retracted on the origin is retracted on the copy: the Delete reaches it and it reads the
	// origin's list again.
	imps, _ := getAP(t, origin.base+"/impulses")
	items, _ := imps["orderedItems"].([]any)
	if len(items) == 0 {
		t.Fatalf("the origin lists no impulses: %v", imps)
	}
	slug := strings.TrimPrefix(items[0].(string), origin.base+"/impulses/")
	memoRun(t, originEnv, "retract", slug)
	testwait.Until(t, "the copy to retract impulse "+slug, func() bool {
		_, status := getAP(t, cp.base+"/impulses/"+slug)
		return status == http.StatusGone
	})

	var twice int
	ostore.DB().GetContext(ctx, &twice, `SELECT COUNT(*) FROM (SELECT actor_iri FROM signatures GROUP BY actor_iri HAVING COUNT(*) > 1) AS d`)
	if twice != 0 {
		t.Fatalf("%d signers recorded twice", twice)
	}
}

func postDelete(t *testing.T, who *fedtest.Actor, srv *server, note string) {
	t.Helper()
	body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"` + note + `#delete","type":"Delete","actor":"` + who.IRI +
		`","object":{"id":"` + note + `","type":"Tombstone"},"to":["https://www.w3.org/ns/activitystreams#Public"]}`)
	if resp := who.Post(t, srv.base+"/inbox", body, fedtest.SignOptions{}); resp.Status != http.StatusAccepted {
		t.Fatalf("Delete: %d %s", resp.Status, resp.Body)
	}
}
