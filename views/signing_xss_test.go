package views

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// hostile are display names and reply texts as a hostile server may send them: scripts, event handlers,
// javascript: links and broken markup meant to escape an attribute or a list item.
var hostile = []string{
	`<script>alert("name")</script>`,
	`<img src=x onerror=alert(1)>Imogen`,
	`"><svg onload=alert(2)>`,
	`</li></ul><iframe src="javascript:alert(3)"></iframe>`,
	`<a href="javascript:alert(4)">click`,
	`<b onmouseover=alert(5)>unclosed <i>`,
	`'; alert(6); '`,
	"<scr<script>ipt>alert(7)</script>",
}

// TestSignatureListIsHarmlessInBrowser stores signatures whose names and texts are hostile, once through the
// signing rules (as the inbox does) and once raw (as if a row escaped them), and loads the list and each
// signature's page in headless Chromium: no dialog opens, no injected element or handler exists, nothing reaches
// the console, and the raw names show as text.
func TestSignatureListIsHarmlessInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("headless browser test left out by -short")
	}
	chrome := chromiumPath(t)
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		ctx := context.Background()
		seedMemo(t, store)
		var ids []int64
		for i, evil := range hostile {
			actor := signing.Actor{IRI: fmt.Sprintf("https://evil%d.example/users/u%d", i, i), Type: "Person",
				PreferredUsername: evil, Name: evil, URL: "javascript:alert(8)"}
			note := signing.Note{ID: fmt.Sprintf("https://evil%d.example/notes/%d", i, i), InReplyTo: "https://memo.example/memo",
				Content: "<p>je signe " + evil + "</p>"}
			rec, err := signing.NewRecord(actor, note, signing.Public, 1, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			g, err := store.AddSignature(ctx, rec.Row(actor.Type, "{}"))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, g.ID)
			raw, err := store.AddSignature(ctx, storage.Signature{
				ActorIRI: fmt.Sprintf("https://raw%d.example/users/r%d", i, i), ActorType: "Organization", Handle: "@" + evil + "@raw.example",
				DisplayName: evil, Domain: fmt.Sprintf("raw%d.example", i), ProfileURL: "javascript:alert(9)",
				NoteIRI: fmt.Sprintf("javascript:alert(%d)", 10+i), Content: evil, Revision: 1, Visibility: "public",
			})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, raw.ID)
		}

		var handler http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
		defer srv.Close()
		handler = newTestSite(t, store, srv.URL).Handler()
		urls := testURLs(srv.URL)

		bctx := newBrowser(t, chrome)
		console := watchConsole(bctx)
		var dmu sync.Mutex
		var dialogs []string
		go func() {
			for ev, err := range chromedp.Events(bctx, cdppage.JavascriptDialogOpening) {
				if err != nil {
					return
				}
				dmu.Lock()
				dialogs = append(dialogs, ev.Message)
				dmu.Unlock()
				chromedp.Call(bctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
			}
		}()
		// Any script that runs despite everything leaves a mark, even if it does not open a dialog.
		if _, err := chromedp.Call(bctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__ran = []; for (const f of ["alert", "confirm", "prompt"]) { const orig = window[f]; window[f] = function (m) { window.__ran.push(f + ":" + m); return orig.call(window, m); }; }`,
		}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(bctx, reportCSPViolations()); err != nil {
			t.Fatal(err)
		}

		pages := []string{urls.Signatures()}
		for _, id := range ids {
			pages = append(pages, urls.Signature(id))
		}
		for _, u := range pages {
			if err := chromedp.Do(bctx, chromedp.Navigate(u)); err != nil {
				t.Fatalf("load %s: %v", u, err)
			}
			// Hovering every element fires any onmouseover that slipped through.
			ran, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`(() => {
  for (const el of document.querySelectorAll("body *")) el.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
  return window.__ran;
})()`))
			if err != nil {
				t.Fatalf("%s: %v", u, err)
			}
			if len(ran) > 0 {
				t.Errorf("%s: scripts ran: %v", u, ran)
			}
			injected, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(
  "script:not([src]), iframe, svg, img[onerror], [onload], [onerror], [onmouseover], a[href^='javascript:' i], [src^='javascript:' i]"
)).map(e => e.outerHTML)`))
			if err != nil {
				t.Fatalf("%s: %v", u, err)
			}
			if len(injected) > 0 {
				t.Errorf("%s: injected elements: %v", u, injected)
			}
		}

		// The list's raw names are shown as the text they are.
		if err := chromedp.Do(bctx, chromedp.Navigate(urls.Signatures())); err != nil {
			t.Fatal(err)
		}
		text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		for _, evil := range hostile[:3] {
			if !strings.Contains(text, evil) {
				t.Errorf("the list does not show %q as text", evil)
			}
		}
		dmu.Lock()
		if len(dialogs) > 0 {
			t.Errorf("dialogs opened: %v", dialogs)
		}
		dmu.Unlock()
		if p := console.problems(0); len(p) > 0 {
			t.Errorf("console: %v", p)
		}
	})
}
