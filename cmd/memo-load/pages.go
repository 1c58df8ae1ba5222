package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/memo-fediverse/memo/content"
)

const activityJSON = "application/activity+json"

// pageResult holds one page's figures, and the bare handler's in the slices of time between its own.
type pageResult struct {
	Name string
	*stats
	Bare *stats
}

// ratio is the page's rate over the bare handler's, measured in turns.
func (r pageResult) ratio() float64 { return safeDiv(r.perSecond(), r.Bare.perSecond()) }

// pageSlices is how many turns a page and the bare handler take.
const pageSlices = 4

// runPages loads the home page, the memo as JSON, WebFinger and the actor, each at concurrency c for d, in turns
// with the bare handler at bareURL.
func runPages(ctx context.Context, client *http.Client, urls content.URLs, bareURL string, c int, d time.Duration, p *progress) ([]pageResult, error) {
	wf := urls.Base + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+urls.Username+"@"+urls.Host())
	var out []pageResult
	// Browsers and fediverse servers ask for compressed answers; the memo as JSON is the one large enough for it to
	// matter.
	for _, pg := range []struct {
		name, url string
		headers   []string
	}{
		{"home", urls.Home(), []string{"Accept: text/html", "Accept-Encoding: gzip"}},
		{"memo", urls.Memo(), []string{"Accept: " + activityJSON, "Accept-Encoding: gzip"}},
		{"webfinger", wf, nil},
		{"actor", urls.Actor(), []string{"Accept: " + activityJSON}},
	} {
		s, bare, err := interleaved(ctx, client, pg.url, bareURL, c, d, pageSlices, pg.headers...)
		if err != nil {
			return nil, err
		}
		r := pageResult{pg.name, s, bare}
		p.say("pages: %-10s %8.0f/s  p50 %.2f ms  p99 %.2f ms; bare in turns %.0f/s: ratio %.2f", pg.name, s.perSecond(), s.percentileMS(0.5), s.percentileMS(0.99), bare.perSecond(), r.ratio())
		out = append(out, r)
	}
	return out, nil
}

// runSignaturePages loads the first, a middle and the last page of the signatures list, d each, and merges the
// three into one distribution.
func runSignaturePages(ctx context.Context, client *http.Client, urls content.URLs, maxID int64, c int, d time.Duration, label string, p *progress) (*stats, error) {
	all := &stats{Status: map[int]int{}}
	var firstErr error
	for _, pg := range []struct{ name, url string }{
		{"first", urls.Signatures()},
		{"middle", urls.Signatures() + "?after=" + strconv.FormatInt(max(maxID/2, 1), 10)},
		{"last", urls.Signatures() + "?before=" + strconv.FormatInt(maxID+1, 10)},
	} {
		s, err := hammer(ctx, client, pg.url, c, d, "Accept: text/html")
		if err != nil && s == nil {
			return nil, fmt.Errorf("signatures %s page: %w", pg.name, err)
		}
		if err != nil && firstErr == nil {
			// Timeouts under load are a result, not a reason to stop: the latencies still count.
			firstErr = fmt.Errorf("signatures %s page: %w", pg.name, err)
		}
		p.say("pages: signatures %-6s (%s) %6.0f/s  p50 %.2f ms  p99 %.2f ms", pg.name, label, s.perSecond(), s.percentileMS(0.5), s.percentileMS(0.99))
		all.merge(s)
	}
	return all, firstErr
}

// searchQueries are what the search run types, against the seeded rows: a signer by name and number, an
// instance (one row in a thousand, and its ten neighbours seed420…), and the beginning of a handle.
func searchQueries(rows int) []string {
	return []string{fmt.Sprintf("signataire %d", rows/2+7), "seed42.invalid", fmt.Sprintf("s%d", rows/3/10)}
}

// runSearch loads the signatures page with each search query, d each, and merges them into one distribution. It
// runs one request per core: the figure is what a search costs, not how long a queue of 64 waits for 2 cores.
func runSearch(ctx context.Context, client *http.Client, urls content.URLs, rows, c int, d time.Duration, label string, p *progress) (*stats, error) {
	all := &stats{Status: map[int]int{}}
	var firstErr error
	for _, q := range searchQueries(rows) {
		s, err := hammer(ctx, client, urls.Signatures()+"?q="+url.QueryEscape(q), c, d, "Accept: text/html")
		if err != nil && s == nil {
			return nil, fmt.Errorf("search %q: %w", q, err)
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("search %q: %w", q, err)
		}
		p.say("pages: search %-20q (%s) %6.0f/s  p50 %.2f ms  p99 %.2f ms", q, label, s.perSecond(), s.percentileMS(0.5), s.percentileMS(0.99))
		all.merge(s)
	}
	return all, firstErr
}
