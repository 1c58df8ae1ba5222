package views

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// TestNamesAndPhrasesInBrowser: names are plain text, so names that look like markup reach the list through the
// signing rules whole and show as the text they are, with no element injected; and a site configured with other
// signing phrases shows those on its home page, never the default « je signe ».
func TestNamesAndPhrasesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("headless browser test left out by -short")
	}
	chrome := chromiumPath(t)
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		seedMemo(t, store)
		names := []string{"Tom <3 Jerry", "<Alice>", `<img src=x onerror=alert(1)>`, "Bob &amp; Co"}
		for i, name := range names {
			actor := signing.Actor{IRI: fmt.Sprintf("https://n%d.example/users/u%d", i, i), Type: "Person",
				PreferredUsername: fmt.Sprintf("u%d", i), Name: name}
			note := signing.Note{ID: fmt.Sprintf("https://n%d.example/notes/%d", i, i), InReplyTo: "https://memo.example/memo",
				Content: "<p>je soutiens</p>"}
			rec, err := signing.NewRecord(actor, note, signing.Public, 1, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.AddSignature(ctx, rec.Row(actor.Type, "{}")); err != nil {
				t.Fatal(err)
			}
		}
		var handler http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
		defer srv.Close()
		site, err := New(Config{URLs: testURLs(srv.URL), DisplayName: "memo", Version: "test", SignPhrases: []string{"je soutiens", "I support"},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, store)
		if err != nil {
			t.Fatal(err)
		}
		handler = site.Handler()
		urls := testURLs(srv.URL)

		bctx := newBrowser(t, chrome)
		if err := chromedp.Do(bctx, chromedp.Navigate(urls.Signatures())); err != nil {
			t.Fatal(err)
		}
		text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if !strings.Contains(text, name) {
				t.Errorf("the list does not show the name %q whole", name)
			}
		}
		injected, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(
  "main img, alice, [onerror], [onload]")).map(e => e.outerHTML)`))
		if err != nil {
			t.Fatal(err)
		}
		if len(injected) > 0 {
			t.Errorf("names injected elements: %v", injected)
		}

		if err := chromedp.Do(bctx, chromedp.Navigate(urls.Memo())); err != nil {
			t.Fatal(err)
		}
		home, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(home, "je soutiens") || !strings.Contains(home, "I support") {
			t.Errorf("the home page does not show the configured phrases")
		}
		if strings.Contains(strings.ToLower(home), "je signe") {
			t.Errorf("the home page shows the default « je signe » although other phrases are configured")
		}
	})
}
