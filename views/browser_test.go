package views

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fedtest"
	"github.com/memo-fediverse/memo/internal/testwait"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// The headless browser test drives Debian's chromium against a real HTTP server running the site on a seeded
// SQLite store. It fails when chromium is missing (the feature is not tested otherwise); -short skips it.

const chromiumEnv = "MEMO_CHROMIUM" // path of the browser, when it is not `chromium` on PATH

// screenshotsEnv names a folder where the test writes the home page's screenshots at desktop and mobile widths.
const screenshotsEnv = "MEMO_SCREENSHOTS"

func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(chromiumEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%q: %v", chromiumEnv, p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("no headless browser: install Debian's chromium (apt-get install chromium) or set %s to a Chrome binary; run with -short to leave this test out", chromiumEnv)
	return ""
}

// newBrowser starts a headless chromium with a fresh profile, for one test.
func newBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "fr-FR"),
		chromedp.UserDataDir(t.TempDir()),
	}
	base, cancelTimeout := context.WithTimeout(context.Background(), 3*time.Minute)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		cancelTimeout()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// consoleLog gathers everything the pages write to the console, exceptions and browser log entries included.
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func watchConsole(ctx context.Context) *consoleLog {
	c := &consoleLog{}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

// problems returns the errors, exceptions and security messages seen since message number from.
func (c *consoleLog) problems(from int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs[min(from, len(c.msgs)):] {
		if m.Type == chromedp.ConsoleError || m.IsException() || m.Source == "security" ||
			strings.Contains(m.Text, "Content Security Policy") {
			out = append(out, m.URL+": "+m.String())
		}
	}
	return out
}

func (c *consoleLog) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// reportCSPViolations makes every page report CSP violations on the console, in addition to the browser's own
// message, so that nothing the policy blocks goes unnoticed. Scripts added through the protocol are not subject to
// the page's CSP.
func reportCSPViolations() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: `document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI);
});`,
		})
		return chromedp.Void{}, err
	}
}

type heading struct {
	Level int    `json:"level"`
	Text  string `json:"text"`
}

func TestBrowserHomeAndFollowBox(t *testing.T) {
	if testing.Short() {
		t.Skip("headless browser test left out by -short")
	}
	chrome := chromiumPath(t)

	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	seedMemo(t, store)
	publish(t, store, secondRevision(), "Deux corrections.", time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC))
	addTestSignature(t, store, testSignature{n: 1, name: "Camille Dupont", domain: "mastodon.example"})
	addTestSignature(t, store, testSignature{n: 2, name: "Framasoft", domain: "framapiaf.example", actorType: "Organization"})
	addTestSignature(t, store, testSignature{n: 3, name: "", domain: "gts.example"})
	addTestSignature(t, store, testSignature{n: 4, name: "Privée", domain: "private.example", visibility: "followers"})
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer srv.Close()
	site := newInteractSite(t, store, srv.URL, time.Second)
	handler = site.Handler()
	urls := testURLs(srv.URL)

	ctx := newBrowser(t, chrome)
	console := watchConsole(ctx)

	// The visitor's instance is a simulated Mastodon; the browser's requests to it are answered by the test, and
	// recorded.
	masto := fedtest.NewInstance(t, "mastodon")
	masto.RunAs(fedtest.SoftMastodon)
	instance := masto.Host
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{
		Patterns: []*fetch.RequestPattern{{URLPattern: masto.Base + "/*", RequestStage: fetch.RequestStageRequest}},
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

	if err := chromedp.Do(ctx, reportCSPViolations(), chromedp.Navigate(urls.Home())); err != nil {
		t.Fatalf("load home page: %v", err)
	}

	// The memo renders with its title as the only h1, its sections as h2, and no heading level skipped.
	hs, err := chromedp.Run(ctx, chromedp.Evaluate[[]heading](`Array.from(document.querySelectorAll("h1,h2,h3,h4,h5,h6")).map(h => ({level: +h.tagName[1], text: h.textContent.trim()}))`))
	if err != nil {
		t.Fatalf("read headings: %v", err)
	}
	doc, _ := content.Parse([]byte(content.MemoMarkdown()))
	if len(hs) == 0 || hs[0].Level != 1 || hs[0].Text != doc.Title {
		t.Fatalf("first heading = %+v, want h1 %q", hs, doc.Title)
	}
	prev := 0
	h1s := 0
	var h2s []string
	for _, h := range hs {
		if h.Level > prev+1 {
			t.Errorf("heading %q (h%d) skips a level after h%d", h.Text, h.Level, prev)
		}
		prev = h.Level
		switch h.Level {
		case 1:
			h1s++
		case 2:
			h2s = append(h2s, h.Text)
		}
	}
	if h1s != 1 {
		t.Errorf("%d h1 elements, want 1", h1s)
	}
	for _, section := range memoSections() {
		if !containsString(h2s, section) {
			t.Errorf("memo section %q is not an h2 of the page; h2s: %q", section, h2s)
		}
	}

	// The first Tab reaches the skip link, which then shows on screen.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
		t.Fatal(err)
	}
	skip, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const a = document.activeElement; return a.classList.contains("skip") && a.getBoundingClientRect().top >= 0; })()`))
	if err != nil || !skip {
		t.Errorf("first Tab: skip link focused and visible = %v, %v", skip, err)
	}

	// The stylesheet applied (it is an external file, allowed by the CSP).
	measure, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("main")).maxWidth`))
	if err != nil || measure == "none" || measure == "" {
		t.Errorf("main max-width = %q, %v: the stylesheet did not apply", measure, err)
	}

	// The follow box sends the browser to the instance's remote-interaction page for the memo.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("instance"), instance),
		chromedp.Click(chromedp.CSS("form.signbox button[type=submit]")),
	); err != nil {
		t.Fatalf("submit follow box: %v", err)
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
	// The navigation commits after the request: wait for the page to be the instance's.
	testwait.Until(t, "the page to be at "+want, func() bool {
		landed, _ := chromedp.Run(ctx, chromedp.Location())
		return landed == want
	})

	// Back home, the script remembered the instance: proof that it ran under the CSP.
	if err := chromedp.Do(ctx, chromedp.Navigate(urls.Home())); err != nil {
		t.Fatal(err)
	}
	var prefilled string
	testwait.Until(t, "the home page's script context", func() bool {
		v, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById("instance").value`, chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil && strings.Contains(err.Error(), "Cannot find context with specified id") {
			return false // the page's context was replaced while the navigation finished: ask the new one
		}
		if err != nil {
			t.Fatalf("follow box: %v", err)
		}
		prefilled = v
		return true
	})
	if prefilled != instance {
		t.Errorf("follow box prefilled with %q; want %q", prefilled, instance)
	}
	// The cookie fills the box too; what only the script does is keep it in the browser's storage.
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`localStorage.getItem("memo.instance") || ""`))
	if err != nil || stored != instance {
		t.Errorf("follow.js stored %q, %v; want %q (did it run?)", stored, err, instance)
	}

	// The other pages load cleanly too.
	for _, u := range []string{urls.Impulses(), urls.Revisions(), urls.Revision(1), urls.Diff(1, 2), urls.Signatures(), urls.Signatures() + "?q=frama", urls.About(), urls.Impulse("measure-3"), urls.Note(content.HowToSignSlug)} {
		if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
			t.Errorf("load %s: %v", u, err)
		}
	}

	// Let late messages arrive, then fail on any console error or CSP violation.
	time.Sleep(300 * time.Millisecond)
	if p := console.problems(0); len(p) > 0 {
		t.Errorf("console errors or CSP violations:\n%s", strings.Join(p, "\n"))
	}

	// (Error pages are left out above: the browser logs their status as an error.)
	if dir := os.Getenv(screenshotsEnv); dir != "" {
		takeScreenshots(t, ctx, dir, urls)
	}

	// The check above can fail: a page that breaks the same policy is caught.
	mark := console.len()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang=en><title>bad</title><p>inline</p><script>document.title = "ran";</script></html>`))
	}))
	defer bad.Close()
	if err := chromedp.Do(ctx, chromedp.Navigate(bad.URL)); err != nil {
		t.Fatal(err)
	}
	cspReported := func() bool {
		for _, p := range console.problems(mark) {
			if strings.Contains(p, "Content Security Policy") || strings.Contains(p, "CSP violation") {
				return true
			}
		}
		return false
	}
	// Unreported, the console check is blind to an inline script the CSP blocked.
	testwait.Until(t, "the console to report the inline script the CSP blocked", cspReported)
}

func takeScreenshots(t *testing.T, ctx context.Context, dir string, urls content.URLs) {
	t.Helper()
	shoot := func(name, u string, width, height int64, opts ...chromedp.EmulateViewportOption) {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height, opts...), chromedp.Navigate(u)); err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(80))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(dir, "memo-"+name+".jpg")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
	shoot("home-desktop", urls.Home(), 1280, 900)
	shoot("home-mobile", urls.Home(), 390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)
	// The dark scheme, as a reader who prefers it sees the page.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	}); err != nil {
		t.Fatalf("emulate dark scheme: %v", err)
	}
	shoot("diff-dark", urls.Diff(1, 2), 1280, 900)
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatal(err)
	}
	for name, u := range map[string]string{
		"impulses": urls.Impulses(), "revisions": urls.Revisions(), "diff": urls.Diff(1, 2), "signatures": urls.Signatures(),
		"about": urls.About(), "refusal": urls.Base + "/interact?instance=127.0.0.1",
	} {
		shoot(name, u, 1280, 900)
	}
}

var mdMarks = regexp.MustCompile(`[*_]`)

// memoSections lists the level-2 headings of the shipped memo as text.
func memoSections() []string {
	var out []string
	for _, line := range strings.Split(content.MemoMarkdown(), "\n") {
		if strings.HasPrefix(line, "## ") {
			out = append(out, strings.TrimSpace(mdMarks.ReplaceAllString(strings.TrimPrefix(line, "## "), "")))
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
