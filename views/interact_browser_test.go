package views

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

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
	handler = newTestSite(t, store, srv.URL).Handler()
	urls := testURLs(srv.URL)

	ctx := newBrowser(t, chrome)
	const instance = "social.example"
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{
		Patterns: []*fetch.RequestPattern{{URLPattern: "https://" + instance + "/*", RequestStage: fetch.RequestStageRequest}},
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
	want := "https://" + instance + "/authorize_interaction?uri=" + url.QueryEscape(urls.Memo())
	select {
	case got := <-reached:
		if got != want {
			t.Fatalf("browser went to %s, want %s", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the browser never requested %s", want)
	}
}
