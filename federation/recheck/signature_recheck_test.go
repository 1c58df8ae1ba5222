package recheck

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// recheckWorld is a store of signatures whose notes live on simulated instances, and a re-check with a signed-GET
// client of the memo's actor.
type recheckWorld struct {
	t     *testing.T
	store *storage.Store
	rc    *Signatures
}

const recheckMemo = "http://memo.test/users/memo"

func newRecheckWorld(t *testing.T, store *storage.Store, timeout time.Duration) *recheckWorld {
	key := fedtest.ServerKey()
	client := fetch.New(fetch.Config{AllowPrivate: true, Key: key, KeyID: recheckMemo + "#main-key", UserAgent: "memo-test", Timeout: timeout, HeaderTimeout: timeout})
	// Rates high enough not to slow the test; TestRecheckScheduleOrderAndRate checks them on an injected clock.
	rc := &Signatures{Store: store, Client: client, Logger: slog.New(slog.DiscardHandler), PerSecond: 1000, PerDomainPerSecond: 1000}
	return &recheckWorld{t: t, store: store, rc: rc}
}

// trust makes inst accept the re-check's signed GETs.
func (w *recheckWorld) trust(inst *fedtest.Instance) {
	inst.TrustKey(recheckMemo+"#main-key", &fedtest.ServerKey().PublicKey)
}

// serveNote publishes a's note at id with text on a's instance.
func serveNote(t *testing.T, a *fedtest.Actor, id, text string, vis string) {
	t.Helper()
	to := []string{content.PublicAudience}
	if vis == "direct" {
		to = []string{recheckMemo}
	}
	b, err := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Note", "attributedTo": a.IRI,
		"inReplyTo": "http://memo.test/memo", "content": text, "to": to, "published": "2026-01-02T03:04:05Z",
	})
	if err != nil {
		t.Fatal(err)
	}
	a.Instance.AddDocument(strings.TrimPrefix(id, a.Instance.Base), b)
}

// sign stores a's signature carried by note id, received at (due for a re-check from then on).
func (w *recheckWorld) sign(a *fedtest.Actor, id, vis string, at time.Time) storage.Signature {
	w.t.Helper()
	host := fetch.Host(a.IRI)
	g, err := w.store.AddSignature(context.Background(), storage.Signature{
		ActorIRI: a.IRI, ActorType: "Person", Handle: "@" + a.Username + "@" + host, DisplayName: a.Name, Domain: host,
		NoteIRI: id, InReplyTo: "http://memo.test/memo", Content: "je signe", Revision: 1, Visibility: vis,
		SignedAt: at, ReceivedAt: at,
	})
	if err != nil {
		w.t.Fatalf("add signature of %s: %v", a.IRI, err)
	}
	return g
}

func (w *recheckWorld) reread(g storage.Signature) storage.Signature {
	w.t.Helper()
	g, err := w.store.SignatureByID(context.Background(), g.ID)
	if err != nil {
		w.t.Fatalf("signature %d: %v", g.ID, err)
	}
	return g
}

func (w *recheckWorld) total() int {
	w.t.Helper()
	c, err := w.store.CountSignatures(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return c.Total()
}

// TestRecheckWithdrawsOnlyOnEvidence runs `memo signatures recheck`'s pass over signatures whose notes were
// deleted (404, 410, Tombstone), edited without a phrase, or whose author is gone, all withdrawn; and over a host
// answering 503, one that never answers, and one refusing our signed GET, all left standing with the failure
// counted; and a note that still signs, standing.
func TestRecheckWithdrawsOnlyOnEvidence(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		w := newRecheckWorld(t, store, 500*time.Millisecond)
		inst := fedtest.NewInstance(t, "mastodon")
		w.trust(inst)
		long := time.Now().Add(-40 * 24 * time.Hour)

		type tc struct {
			name    string
			vis     string
			setup   func(a *fedtest.Actor, id string)
			verdict Verdict
			reason  string
		}
		cases := []tc{
			{"stands", "public", func(a *fedtest.Actor, id string) { serveNote(t, a, id, "<p>Je signe !</p>", "public") }, VerdictStanding, ""},
			{"private stands", "direct", func(a *fedtest.Actor, id string) { serveNote(t, a, id, "<p>je signe</p>", "direct") }, VerdictStanding, ""},
			{"deleted 404", "public", func(a *fedtest.Actor, id string) {}, VerdictWithdrawn, "HTTP 404"},
			{"deleted 410", "public", func(a *fedtest.Actor, id string) {
				inst.Handle(strings.TrimPrefix(id, inst.Base), func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })
			}, VerdictWithdrawn, "HTTP 410"},
			{"tombstone", "public", func(a *fedtest.Actor, id string) {
				inst.AddDocument(strings.TrimPrefix(id, inst.Base), fedtest.MustJSON(t, map[string]any{"id": id, "type": "Tombstone"}))
			}, VerdictWithdrawn, "Tombstone"},
			{"edited", "public", func(a *fedtest.Actor, id string) { serveNote(t, a, id, "<p>finalement, non</p>", "public") }, VerdictWithdrawn, "no longer says a signing phrase"},
			{"private edited", "followers", func(a *fedtest.Actor, id string) { serveNote(t, a, id, "<p>je ne signe pas</p>", "direct") }, VerdictWithdrawn, "no longer says a signing phrase"},
			{"author gone", "public", func(a *fedtest.Actor, id string) {
				serveNote(t, a, id, "<p>je signe</p>", "public")
				a.Gone.Store(true)
			}, VerdictWithdrawn, "account is gone (its actor answers HTTP 410)"},
			{"host 503", "public", func(a *fedtest.Actor, id string) {
				inst.Handle(strings.TrimPrefix(id, inst.Base), func(w http.ResponseWriter, r *http.Request) {
					http.Error(w, "down", http.StatusServiceUnavailable)
				})
			}, VerdictUnknown, "HTTP 503"},
			{"timeout", "public", func(a *fedtest.Actor, id string) {
				inst.Handle(strings.TrimPrefix(id, inst.Base), func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
			}, VerdictUnknown, "timeout"},
			{"signed fetch refused", "followers", func(a *fedtest.Actor, id string) {
				inst.Handle(strings.TrimPrefix(id, inst.Base), func(w http.ResponseWriter, r *http.Request) {
					http.Error(w, "not for you", http.StatusUnauthorized)
				})
			}, VerdictUnknown, "HTTP 401 to a signed fetch, cannot tell"},
		}
		sigs := map[string]storage.Signature{}
		for i, c := range cases {
			a := inst.NewActor("user" + string(rune('a'+i)))
			id := inst.NextID("notes")
			c.setup(a, id)
			sigs[c.name] = w.sign(a, id, c.vis, long)
		}
		before := w.total()
		got := map[int64]CheckOutcome{}
		rep, err := w.rc.Pass(ctx, storage.RecheckQuery{}, func(o CheckOutcome) { got[o.Signature.ID] = o })
		if err != nil {
			t.Fatal(err)
		}
		withdrawn := 0
		for _, c := range cases {
			g := sigs[c.name]
			o, ok := got[g.ID]
			if !ok {
				t.Errorf("%s: not re-checked", c.name)
				continue
			}
			if o.Verdict != c.verdict || !strings.Contains(o.Reason, c.reason) {
				t.Errorf("%s: %s (%s), want %s with %q", c.name, o.Verdict, o.Reason, c.verdict, c.reason)
			}
			after := w.reread(g)
			if after.CheckedAt.IsZero() || !strings.HasPrefix(after.CheckResult, string(c.verdict)) {
				t.Errorf("%s: recorded check %v %q", c.name, after.CheckedAt, after.CheckResult)
			}
			switch c.verdict {
			case VerdictWithdrawn:
				withdrawn++
				if after.Standing() {
					t.Errorf("%s: still standing", c.name)
				}
			case VerdictUnknown:
				if !after.Standing() || after.CheckFailures != 1 {
					t.Errorf("%s: standing %v, failures %d; want standing with 1 failure", c.name, after.Standing(), after.CheckFailures)
				}
				// Tried again well before the period, later than at once.
				if next := time.UnixMilli(after.NextCheckMS); next.Before(after.CheckedAt.Add(time.Hour)) || next.After(after.CheckedAt.Add(storage.SignatureRecheckDue)) {
					t.Errorf("%s: next check %v after a failure at %v", c.name, next, after.CheckedAt)
				}
			case VerdictStanding:
				if !after.Standing() || after.CheckFailures != 0 || time.UnixMilli(after.NextCheckMS).Before(after.CheckedAt.Add(storage.SignatureRecheckDue-time.Minute)) {
					t.Errorf("%s: %+v, want standing, due again a period later", c.name, after)
				}
			}
		}
		if rep.Checked != len(cases) || rep.Withdrawn != withdrawn || len(rep.Changes) != withdrawn {
			t.Errorf("report %+v, want %d checked, %d withdrawn", rep, len(cases), withdrawn)
		}
		if after := w.total(); after != before-withdrawn {
			t.Errorf("total %d then %d, want %d fewer", before, after, withdrawn)
		}
		// The private notes were fetched signed: an unsigned 404 would prove nothing for them.
		for _, r := range inst.Gets() {
			if r.URL.Path == strings.TrimPrefix(sigs["private stands"].NoteIRI, inst.Base) && r.Header.Get("Signature") == "" {
				t.Errorf("private note fetched without a signature")
			}
		}
		// A second pass of the default run finds nothing due: each was checked, withdrawn ones are out.
		rep, err = w.rc.Pass(ctx, storage.RecheckQuery{DueBy: time.Now()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Checked != 0 {
			t.Errorf("second pass checked %d, want 0 (failures are due in hours, the rest in %s)", rep.Checked, storage.SignatureRecheckDue)
		}
	})
}

// TestRecheckPublic404IsConfirmedSigned: a public note answering 404 to an unsigned GET but served to a signed one
// (a server hiding posts from anonymous requests) stands.
func TestRecheckPublic404IsConfirmedSigned(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		w := newRecheckWorld(t, store, 2*time.Second)
		inst := fedtest.NewInstance(t, "hiding")
		w.trust(inst)
		a := inst.NewActor("alice")
		id := inst.NextID("notes")
		serveNote(t, a, id, "<p>je signe</p>", "public")
		path := strings.TrimPrefix(id, inst.Base)
		inst.Handle(path, func(rw http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Signature") == "" {
				http.NotFound(rw, r)
				return
			}
			rw.Header().Set("Content-Type", "application/activity+json")
			rw.Write(fedtest.MustJSON(t, map[string]any{"id": id, "type": "Note", "attributedTo": a.IRI, "content": "je signe", "to": []string{content.PublicAudience}}))
		})
		g := w.sign(a, id, "public", time.Now().Add(-40*24*time.Hour))
		o, err := w.rc.Check(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		if o.Verdict != VerdictStanding || !w.reread(g).Standing() {
			t.Errorf("outcome %+v, want standing", o)
		}
	})
}

// fakeClock is a clock the test moves; Sleep advances it instead of waiting.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return ctx.Err()
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// setDue sets when g is next due, as if its last check had said so.
func (w *recheckWorld) setDue(g storage.Signature, at time.Time) {
	w.t.Helper()
	if _, err := w.store.DB().Exec(w.store.DB().Rebind(`UPDATE signatures SET next_check_at = ? WHERE id = ?`), at.UnixMilli(), g.ID); err != nil {
		w.t.Fatal(err)
	}
}

// TestRecheckScheduleOrderAndRate drives the background re-check's ticks on an injected clock: it takes the
// standing count times the elapsed share of the due delay per tick, the longest due first, never what is not due;
// its requests keep to the overall and per-domain rates; and a domain marked unavailable waits until it is cleared.
func TestRecheckScheduleOrderAndRate(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		w := newRecheckWorld(t, store, 2*time.Second)
		clk := &fakeClock{now: time.Now().Truncate(time.Second)}
		w.rc.Now, w.rc.Sleep = clk.Now, clk.Sleep
		w.rc.PerSecond, w.rc.PerDomainPerSecond = 4, 1
		// Five standing signatures and a four-minute due delay: 1.25 signatures owed per one-minute tick.
		w.rc.Due = 4 * time.Minute

		one, two := fedtest.NewInstance(t, "one"), fedtest.NewInstance(t, "two")
		// Request times on the injected clock, per host.
		var mu sync.Mutex
		var hits []struct {
			host string
			at   time.Time
		}
		var order []string
		record := func(inst *fedtest.Instance, a *fedtest.Actor, id string) {
			note := fedtest.MustJSON(t, map[string]any{"id": id, "type": "Note", "attributedTo": a.IRI, "content": "je signe", "to": []string{content.PublicAudience}})
			inst.Handle(strings.TrimPrefix(id, inst.Base), func(rw http.ResponseWriter, r *http.Request) {
				mu.Lock()
				hits = append(hits, struct {
					host string
					at   time.Time
				}{inst.Host, clk.Now()})
				order = append(order, a.Username)
				mu.Unlock()
				rw.Header().Set("Content-Type", "application/activity+json")
				rw.Write(note)
			})
			inst.Handle("/users/"+a.Username, func(rw http.ResponseWriter, r *http.Request) {
				mu.Lock()
				hits = append(hits, struct {
					host string
					at   time.Time
				}{inst.Host, clk.Now()})
				mu.Unlock()
				rw.Header().Set("Content-Type", "application/activity+json")
				rw.Write(a.Document())
			})
		}
		t0 := clk.Now()
		var sigs []storage.Signature
		for i, spec := range []struct {
			inst *fedtest.Instance
			name string
			due  time.Duration
		}{{one, "a", -4 * time.Hour}, {two, "b", -3 * time.Hour}, {one, "c", -2 * time.Hour}, {two, "d", -time.Hour}, {one, "e", time.Hour}} {
			a := spec.inst.NewActor(spec.name)
			id := spec.inst.NextID("notes")
			record(spec.inst, a, id)
			g := w.sign(a, id, "public", t0.Add(-time.Duration(i+1)*24*time.Hour))
			w.setDue(g, t0.Add(spec.due))
			sigs = append(sigs, g)
		}

		tick := func(at time.Time) RecheckReport {
			t.Helper()
			clk.Set(at)
			rep, err := w.rc.Tick(ctx, at, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return rep
		}
		// One per tick, longest due first; the fourth tick owes two but only d is due (a is due again at
		// about t0+5m, e in an hour).
		for i, want := range []string{"a", "b", "c", "d"} {
			rep := tick(t0.Add(time.Duration(i+1) * time.Minute))
			if rep.Checked != 1 || rep.Standing != 1 {
				t.Fatalf("tick %d: %+v, want one standing", i+1, rep)
			}
			mu.Lock()
			last := order[len(order)-1]
			mu.Unlock()
			if last != want {
				t.Fatalf("tick %d checked %s, want %s (order so far %v)", i+1, last, want, order)
			}
		}
		if got := w.reread(sigs[4]); !got.CheckedAt.IsZero() {
			t.Errorf("e was checked before it was due: %v", got.CheckedAt)
		}

		// Requests kept to the rates: a signature costs its note and its actor, both on its host.
		mu.Lock()
		if len(hits) != 8 {
			t.Errorf("%d requests for four signatures, want 8 (note and actor each)", len(hits))
		}
		last := map[string]time.Time{}
		for i, h := range hits {
			if prev, ok := last[h.host]; ok && h.at.Sub(prev) < time.Second {
				t.Errorf("request %d to %s %s after the previous one, want at least 1s", i, h.host, h.at.Sub(prev))
			}
			if i > 0 && h.at.Sub(hits[i-1].at) < 250*time.Millisecond {
				t.Errorf("request %d %s after the previous one, want at least 250ms overall", i, h.at.Sub(hits[i-1].at))
			}
			last[h.host] = h.at
		}
		mu.Unlock()

		// Domain one marked unavailable: its due signatures wait, two's are checked.
		if _, err := store.RecordDomainFailure(ctx, one.Host, "down", clk.Now(), storage.DomainRule{MinFailures: 1, Probe: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if d, err := storagetest.DomainStatus(ctx, store, one.Host); err != nil || !d.Unavailable() {
			t.Fatalf("domain one: %+v, %v; want unavailable", d, err)
		}
		at := t0.Add(30 * time.Minute) // a to e all due now, a the longest
		for _, g := range sigs {
			w.setDue(g, t0.Add(time.Duration(g.ID)*time.Second))
		}
		mu.Lock()
		order = nil
		mu.Unlock()
		rep := tick(at) // half an hour since the last tick is capped to the hour: 5*30/4 owed, 5 due
		mu.Lock()
		got := append([]string(nil), order...)
		mu.Unlock()
		if rep.Checked != 2 || strings.Join(got, ",") != "b,d" {
			t.Errorf("with one unavailable: checked %v (%+v), want b,d", got, rep)
		}
		if err := store.ClearDomain(ctx, one.Host); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		order = nil
		mu.Unlock()
		// 12.5 owed: every due one, one's waiting ones first, then b and d, due again since.
		rep = tick(at.Add(10 * time.Minute))
		mu.Lock()
		got = append([]string(nil), order...)
		mu.Unlock()
		if rep.Checked != 5 || strings.Join(got, ",") != "a,c,e,b,d" {
			t.Errorf("after clearing one: checked %v (%+v), want a,c,e,b,d", got, rep)
		}
	})
}

// TestRecheckTickBounds: a tick never checks more than fits in it at the overall rate, whatever is owed.
func TestRecheckTickBounds(t *testing.T) {
	rc := &Signatures{PerSecond: 3}
	if got := rc.maxPerTick(time.Minute); got != 60 {
		t.Errorf("max per minute at 3 requests/s = %d, want 60 (three requests a signature)", got)
	}
	rc.PerSecond = 0.01
	if got := rc.maxPerTick(time.Minute); got != 1 {
		t.Errorf("max per minute at 0.01 requests/s = %d, want at least 1", got)
	}
}
