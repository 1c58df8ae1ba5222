package views

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestBrowserInteractLinkIsNoRedirect: in a real browser, an /interact URL opened from outside our pages (typed,
// or a link elsewhere) does not redirect to the host it names; it shows the follow box filled in, and submitting
// it from our page goes on to that instance.
func TestBrowserInteractLinkIsNoRedirect(t *testing.T) {
	if testing.Short() {
		t.Skip("headless browser test left out by -short")
	}
	chrome := chromiumPath(t)
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer srv.Close()
	handler = newInteractSite(t, store, srv.URL, time.Second).Handler()
	urls := testURLs(srv.URL)

	ctx := newBrowser(t, chrome)
	masto := fedtest.NewInstance(t, "mastodon")
	masto.RunAs(fedtest.SoftMastodon)
	instance := masto.Host
	reached := intercept(t, ctx, masto.Base)

	link := urls.Base + "/interact?instance=" + url.QueryEscape(instance)
	if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatalf("open %s: %v", link, err)
	}
	select {
	case got := <-reached:
		t.Fatalf("the browser was sent to %s by a link", got)
	case <-time.After(500 * time.Millisecond):
	}
	at, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || at != link {
		t.Fatalf("the page is at %q (%v), want %q", at, err, link)
	}
	value, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("instance").value`))
	if err != nil || value != instance {
		t.Fatalf("follow box holds %q (%v), want %q", value, err, instance)
	}

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("form.signbox button[type=submit]"))); err != nil {
		t.Fatalf("submit: %v", err)
	}
	want := masto.Base + "/authorize_interaction?uri=" + url.QueryEscape(urls.Memo())
	select {
	case got := <-reached:
		if got != want {
			t.Fatalf("browser went to %s, want %s", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the browser never requested %s", want)
	}
}

// intercept answers, in the browser, every request to the origins with a small page, and reports their URLs: the
// visitor's instance as the browser sees it.
func intercept(t *testing.T, ctx context.Context, origins ...string) <-chan string {
	t.Helper()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	var patterns []*fetch.RequestPattern
	for _, o := range origins {
		patterns = append(patterns, &fetch.RequestPattern{URLPattern: o + "/*", RequestStage: fetch.RequestStageRequest})
	}
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{
		Patterns: patterns,
	}); err != nil {
		t.Fatalf("enable request interception: %v", err)
	}
	reached := make(chan string, 8)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			reached <- ev.Request.URL
			chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: 200,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html; charset=utf-8"}},
				Body:            []byte("<!doctype html><html lang=en><title>instance</title><p>remote interaction</p></html>"),
			})
		}
	}()
	return reached
}

// TestBrowserSignBox: the sign box used as a visitor would, typing their account and pressing the button. A
// Mastodon-like instance opens the memo on the visitor's instance; a GoToSocial-like one, which has no such page,
// gets the page with the memo's URL to copy. The next visit finds the box filled in, from the cookie alone.
func TestBrowserSignBox(t *testing.T) {
	if testing.Short() {
		t.Skip("headless browser test left out by -short")
	}
	chrome := chromiumPath(t)
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer srv.Close()
	handler = newInteractSite(t, store, srv.URL, time.Second).Handler()
	urls := testURLs(srv.URL)
	ctx := newBrowser(t, chrome)

	masto := fedtest.NewInstance(t, "mastodon")
	masto.RunAs(fedtest.SoftMastodon)
	masto.NewActorWithKey("alice", nil)
	gts := fedtest.NewInstance(t, "gotosocial")
	gts.RunAs(fedtest.SoftGoToSocial)
	gts.NewActorWithKey("bob", nil)
	reached := intercept(t, ctx, masto.Base, gts.Base)

	sign := func(account string) {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.Navigate(urls.Home()),
			chromedp.WaitVisible(chromedp.ID("instance")),
		); err != nil {
			t.Fatalf("open the home page: %v", err)
		}
		// Whatever the box holds from the last visit is cleared, as a visitor would.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.getElementById("instance").value = "", true)`)); err != nil {
			t.Fatalf("clear the box: %v", err)
		}
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("instance"), account)); err != nil {
			t.Fatalf("type %s: %v", account, err)
		}
		if typed, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("instance").value`)); err != nil || typed != account {
			t.Fatalf("the box holds %q (%v), want %q", typed, err, account)
		}
		// Enter submits the form as the button does (a click right after typing can land on the browser's
		// autofill suggestions instead).
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("instance"), "\r")); err != nil {
			t.Fatalf("sign as %s: %v", account, err)
		}
	}

	sign("@alice@" + masto.Host)
	want := masto.Base + "/authorize_interaction?uri=" + url.QueryEscape(urls.Memo())
	select {
	case got := <-reached:
		if got != want {
			t.Fatalf("browser went to %s, want %s", got, want)
		}
	case <-time.After(30 * time.Second):
		at, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("the browser never requested %s; it is at %s: %.600s", want, at, body)
	}

	sign("bob@" + gts.Host)
	// The form's navigation may still be under way: ask again until the copy page is there.
	testwait.Until(t, "the copy page to show "+urls.Memo(), func() bool {
		shown, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("object-url") || {}).value || ""`))
		return shown == urls.Memo()
	})
	at, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasPrefix(at, urls.Base+"/interact?") {
		t.Fatalf("the page is at %q (%v), want our /interact", at, err)
	}
	for len(reached) > 0 {
		if got := <-reached; strings.HasPrefix(got, gts.Base) {
			t.Fatalf("the browser was sent to %s", got)
		}
	}

	// The next visit: the box holds the last account, with scripts off, so that only the cookie can fill it.
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("disable scripts: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(urls.Home())); err != nil {
		t.Fatal(err)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.ID("instance")))
	if err != nil || !strings.Contains(html, `value="bob@`+gts.Host+`"`) {
		t.Fatalf("follow box %s (%v), want it filled with bob@%s", html, err, gts.Host)
	}
}
