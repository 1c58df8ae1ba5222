package inbox

import (
	"context"
	"crypto/rsa"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// inboxHarness is our server's inbox on a loopback port, with its store seeded with the memo, an impulse and a note.
type inboxHarness struct {
	t      *testing.T
	store  *storage.Store
	urls   content.URLs
	inbox  *Inbox
	srv    *httptest.Server
	key    *rsa.PrivateKey
	client *fetch.Client
}

type inboxHarnessOpts struct {
	fetch   fetch.Config // AllowPrivate and Key are filled unless set
	private bool         // leave AllowPrivate off
	inbox   Config
}

func newInboxHarness(t *testing.T, store *storage.Store, o inboxHarnessOpts) *inboxHarness {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	urls := content.URLs{Base: "http://" + srv.Listener.Addr().String(), Username: "memo"}
	key := fedtest.ServerKey()
	fc := o.fetch
	fc.AllowPrivate = !o.private
	fc.Key, fc.KeyID, fc.UserAgent = key, urls.KeyID(), fetch.UserAgent("test", urls.Base)
	client := fetch.New(fc)
	ic := o.inbox
	ic.URLs, ic.Store, ic.Actors = urls, store, fetch.NewActors(client, store)
	if ic.Logger == nil && !testing.Verbose() {
		ic.Logger = slog.New(slog.DiscardHandler)
	}
	in := New(ic)
	mux := http.NewServeMux()
	in.Register(mux)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)

	ctx := context.Background()
	if _, err := storagetest.AddRevision(ctx, store, storage.Revision{Title: "Memo", Summary: "s", Markdown: "m", HTML: "<p>m</p>"}); err != nil {
		t.Fatalf("seed revision: %v", err)
	}
	now := time.Now()
	if err := store.PutImpulse(ctx, storage.Impulse{Slug: "lesson-1", Kind: "lesson", Position: 1, Markdown: "l", HTML: "<p>l</p>", PublishedAt: now, UpdatedAt: now}); err != nil {
		t.Fatalf("seed impulse: %v", err)
	}
	if _, err := store.InsertNote(ctx, storage.Note{Slug: content.HowToSignSlug, Kind: storage.NoteHowToSign, Content: "<p>how</p>", Public: true}); err != nil {
		t.Fatalf("seed note: %v", err)
	}
	return &inboxHarness{t: t, store: store, urls: urls, inbox: in, srv: srv, key: key, client: client}
}

// allowExactly is a fetch policy that refuses private addresses except the given servers' exact address and port.
func allowExactly(t *testing.T, servers ...*httptest.Server) []netip.AddrPort {
	var out []netip.AddrPort
	for _, s := range servers {
		ap, err := netip.ParseAddrPort(s.Listener.Addr().String())
		if err != nil {
			t.Fatalf("server address: %v", err)
		}
		out = append(out, ap)
	}
	return out
}

// process applies every pending activity, failing the test on error.
func (h *inboxHarness) process() {
	h.t.Helper()
	if _, err := h.inbox.ProcessPending(context.Background()); err != nil {
		h.t.Fatalf("process: %v", err)
	}
}

// counts is the number of rows in every table an inbox request may change.
func (h *inboxHarness) counts() map[string]int {
	h.t.Helper()
	out := map[string]int{}
	for _, table := range []string{"followers", "interactions", "inbox_activities", "actors", "activities", "deliveries", "refused"} {
		var n int
		if err := h.store.DB().Get(&n, `SELECT COUNT(*) FROM `+table); err != nil {
			h.t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

func (h *inboxHarness) count(q string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.store.DB().Get(&n, h.store.DB().Rebind(q), args...); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// sharedInbox and actorInbox are our inbox URLs.
func (h *inboxHarness) sharedInbox() string { return h.urls.SharedInbox() }
func (h *inboxHarness) actorInbox() string  { return h.urls.Inbox() }
