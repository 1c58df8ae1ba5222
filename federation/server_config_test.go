package federation

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/outbox"
	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// testFetch is the fetch client of a server under test at urls, signing as its actor with fedtest.ServerKey,
// allowed onto loopback where the simulated instances live.
func testFetch(urls content.URLs) *fetch.Client {
	return fetch.New(fetch.Config{UserAgent: fetch.UserAgent("test", urls.Base), AllowPrivate: true, Key: fedtest.ServerKey(), KeyID: urls.KeyID()})
}

// startServer runs a Server built from cfg (its URLs, key and fetch client filled in) on loopback, with its
// background work, until the test ends; the memo is published first.
func startServer(t *testing.T, store *storage.Store, cfg Config) content.URLs {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	cfg.URLs = content.URLs{Base: "http://" + hs.Listener.Addr().String(), Username: "memo"}
	cfg.Key, cfg.Fetch, cfg.Deliver, cfg.Logger = fedtest.ServerKey(), testFetch(cfg.URLs), testFetch(cfg.URLs), slog.New(slog.DiscardHandler)
	if err := outbox.Seed(context.Background(), store, cfg.URLs); err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Register(mux, http.NotFoundHandler())
	hs.Config.Handler = mux
	hs.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; hs.Close() })
	return cfg.URLs
}

// reply posts a public reply to the memo from a, signed, and returns the reply's IRI.
func reply(t *testing.T, a *fedtest.Actor, urls content.URLs, text string) string {
	t.Helper()
	id := a.Instance.NextID("notes")
	note := map[string]any{"id": id, "type": "Note", "attributedTo": a.IRI, "inReplyTo": urls.Memo(),
		"content": "<p>" + text + "</p>", "to": []string{content.PublicAudience}, "cc": []string{a.IRI + "/followers"}}
	body := fedtest.MustJSON(t, map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id + "/activity",
		"type": "Create", "actor": a.IRI, "to": note["to"], "cc": note["cc"], "object": note})
	fedtest.MustAccept(t, a.Post(t, urls.SharedInbox(), body, fedtest.SignOptions{}))
	return id
}

// The admin's phrases and acknowledgement setting reach the inbox the server builds: a configured phrase signs,
// a default one no longer does, and no acknowledgement is sent.
func TestServerPassesSigningSettingsToInbox(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	urls := startServer(t, store, Config{SigningPhrases: []string{"je soutiens"}, NoAcknowledgement: true})
	inst := fedtest.NewInstance(t, "social")
	alice, bob := inst.NewActor("alice"), inst.NewActor("bob")
	reply(t, alice, urls, "Je signe")
	reply(t, bob, urls, "Je soutiens ce texte")
	ctx := context.Background()
	testwait.Until(t, "both replies to be applied", func() bool {
		counts, err := store.InteractionCounts(ctx, urls.Memo())
		if err != nil {
			t.Fatal(err)
		}
		return counts.Replies == 2
	})
	counts, err := store.CountSignatures(ctx)
	if err != nil || counts.Total() != 1 {
		t.Fatalf("signatures: %+v (err %v), want bob's only", counts, err)
	}
	if _, err := storagetest.SignatureByActor(ctx, store, bob.IRI); err != nil {
		t.Errorf("the configured phrase did not sign: %v", err)
	}
	// An acknowledgement is queued in the transaction that records the signature: none may be in the queue.
	var queued int
	if err := store.DB().GetContext(ctx, &queued, `SELECT COUNT(*) FROM deliveries`); err != nil || queued != 0 {
		t.Errorf("%d deliveries queued although acknowledgements are off (err %v)", queued, err)
	}
	if got := inst.Received(); len(got) != 0 {
		t.Errorf("%d deliveries although acknowledgements are off: %s", len(got), got[0].Body)
	}
}

func TestServerRefusesBadSettings(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	urls := content.URLs{Base: "http://memo.test", Username: "memo"}
	if _, err := New(Config{URLs: urls, Key: fedtest.ServerKey(), Fetch: testFetch(urls), Deliver: testFetch(urls), SigningPhrases: []string{"  "}}, store); err == nil {
		t.Error("a blank phrase was accepted")
	}
	if _, err := New(Config{URLs: urls, Key: fedtest.ServerKey()}, store); err == nil {
		t.Error("a server without a fetch client was built")
	}
	if _, err := New(Config{URLs: urls, Key: fedtest.ServerKey(), Fetch: testFetch(urls)}, store); err == nil {
		t.Error("a server without a delivery client was built")
	}
	if _, err := New(Config{URLs: urls, Fetch: testFetch(urls), Deliver: testFetch(urls)}, store); err == nil {
		t.Error("a server without a key was built")
	}
}
