package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/httpsign"
)

const asPublic = content.PublicAudience

// kind of the g-th inbox request. Actors are spread over instances round-robin and kinds change every K actors,
// so each instance sends replies, follows and boosts alike (and the followers cover every instance).
type kind int

const (
	kindSign kind = iota
	kindFollow
	kindBoost
)

func kindOf(g, k int) kind { return kind((g / k) % 3) }

// counts is the server's public state the inbox scenario changes.
type counts struct {
	Followers, Shares, Replies, Signatures int
}

// readCounts reads the totals from the public collections, as any remote server would.
func readCounts(ctx context.Context, urls content.URLs) (counts, error) {
	var c counts
	for _, it := range []struct {
		url string
		dst *int
	}{
		{urls.Followers(), &c.Followers}, {content.Shares(urls.Memo()), &c.Shares},
		{content.Replies(urls.Memo()), &c.Replies}, {urls.Signatures(), &c.Signatures},
	} {
		n, err := totalItems(ctx, it.url)
		if err != nil {
			return c, err
		}
		*it.dst = n
	}
	return c, nil
}

func totalItems(ctx context.Context, url string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	var doc struct {
		TotalItems *int `json:"totalItems"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil || doc.TotalItems == nil {
		return 0, fmt.Errorf("GET %s: no totalItems (%v)", url, err)
	}
	return *doc.TotalItems, nil
}

// activityFor builds the g-th actor's activity as Mastodon writes it.
func activityFor(a actor, k kind, urls content.URLs, now time.Time) ([]byte, string) {
	published := now.UTC().Format(time.RFC3339)
	var m map[string]any
	switch k {
	case kindSign:
		note := a.IRI + "/statuses/1"
		m = map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams",
			"id":       note + "/activity", "type": "Create", "actor": a.IRI, "published": published,
			"to": []string{asPublic}, "cc": []string{a.IRI + "/followers", urls.Actor()},
			"object": map[string]any{
				"id": note, "type": "Note", "attributedTo": a.IRI, "inReplyTo": urls.Memo(), "published": published,
				"url": a.inst.Base + "/@" + a.name + "/1", "to": []string{asPublic}, "cc": []string{a.IRI + "/followers", urls.Actor()},
				"sensitive": false, "summary": nil,
				"content": `<p><span class="h-card"><a href="` + urls.Actor() + `" class="u-url mention">@<span>memo</span></a></span> Je signe ! Pour du libre et de l'open en conscience.</p>`,
				"tag":     []any{map[string]any{"type": "Mention", "href": urls.Actor(), "name": "@memo@" + urls.Host()}},
			},
		}
		return mustJSON(m), urls.SharedInbox()
	case kindFollow:
		m = map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": a.IRI + "/follows/1", "type": "Follow", "actor": a.IRI, "object": urls.Actor()}
		return mustJSON(m), urls.Inbox()
	default:
		m = map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams",
			"id":       a.IRI + "/statuses/2/activity", "type": "Announce", "actor": a.IRI, "published": published,
			"to": []string{asPublic}, "cc": []string{urls.Actor(), a.IRI + "/followers"}, "object": urls.Memo(),
		}
		return mustJSON(m), urls.SharedInbox()
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// inboxResult is what the inbox scenario measured and found.
type inboxResult struct {
	Sent            *stats
	Accepted        counts // effects expected from the requests answered 202
	Expected        counts // effects expected from every request sent
	Got             counts
	Lost, Doubled   int
	SignaturesWired bool
	ProcessedS      float64
	ActorFetches    int64
}

// runInbox signs N requests (before the clock starts), sends them at concurrency c from the actors' own
// instances, then waits for the server to apply them and compares its public counts with what was sent.
func runInbox(ctx context.Context, o options, fed *fediverse, urls content.URLs, p *progress) (*inboxResult, error) {
	before, err := readCounts(ctx, urls)
	if err != nil {
		return nil, err
	}
	p.say("inbox: signing %d requests from %d actors on %d instances", o.Requests, o.Requests, len(fed.instances))
	var want counts
	for g := range o.Requests {
		switch kindOf(g, len(fed.instances)) {
		case kindSign:
			want.Replies++
			want.Signatures++
		case kindFollow:
			want.Followers++
		case kindBoost:
			want.Shares++
		}
	}
	reqs, clients, err := signAll(ctx, fed, o.Requests, func(a actor, g int) ([]byte, string) {
		return activityFor(a, kindOf(g, len(fed.instances)), urls, time.Now())
	})
	if err != nil {
		return nil, err
	}
	p.say("inbox: sending at concurrency %d", o.Concurrency)
	start := time.Now()
	sendCtx, cancel := context.WithTimeout(ctx, inboxLimit(o))
	sent := sendAll(sendCtx, reqs, clients, o.Concurrency)
	cancel()
	if sent.Requests < len(reqs) {
		p.say("inbox: stopped after %s with %d of %d requests answered: a server this slow is reported, not waited for", inboxLimit(o), sent.Requests, len(reqs))
	}
	res := &inboxResult{Sent: sent, Expected: want}
	p.say("inbox: %d requests in %.2fs (%.0f/s, p99 %.1f ms), answers %v", sent.Requests, sent.Elapsed.Seconds(), sent.perSecond(), sent.percentileMS(0.99), sent.Status)
	if sent.Errors > 0 {
		p.say("inbox: %d transport errors, last: %s", sent.Errors, sent.LastErr)
	}

	// The effects are applied by the server's worker after the 202: wait until the counts reach what was sent, or
	// stop moving. Signatures may stay at zero while the inbox only records replies: then the three other counts
	// decide.
	deadline := time.Now().Add(max(30*time.Second, time.Duration(o.Requests)*5*time.Millisecond))
	var got counts
	last, lastChange := counts{}, time.Now()
	for {
		now, err := readCounts(ctx, urls)
		if err != nil {
			return nil, err
		}
		got = counts{now.Followers - before.Followers, now.Shares - before.Shares, now.Replies - before.Replies, now.Signatures - before.Signatures}
		if got != last {
			last, lastChange = got, time.Now()
		}
		others := got.Followers >= want.Followers && got.Shares >= want.Shares && got.Replies >= want.Replies
		if others && (got.Signatures >= want.Signatures || (got.Signatures == 0 && time.Since(lastChange) > time.Second)) {
			break
		}
		if time.Since(lastChange) > 5*time.Second || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.ProcessedS = lastChange.Sub(start).Seconds()
	res.Got = got
	res.ActorFetches = fed.actorFetches()
	// Signature replies are also replies; they count as signatures only once the inbox records them so. When it
	// does not, the reply count is what proves they arrived, and the table says so.
	res.SignaturesWired = got.Signatures > 0
	// Lost: accepted (202) but without its effect. Doubled: more effects than requests sent. A refused request
	// (a 503 says "retry later") is neither: the sender keeps it and retries; it is reported as refused.
	var accepted counts
	for g, code := range sent.Codes {
		if code != http.StatusAccepted {
			continue
		}
		switch kindOf(g, len(fed.instances)) {
		case kindSign:
			accepted.Replies++
			accepted.Signatures++
		case kindFollow:
			accepted.Followers++
		case kindBoost:
			accepted.Shares++
		}
	}
	res.Accepted = accepted
	type triple struct{ sent, accepted, got int }
	checks := []triple{{want.Followers, accepted.Followers, got.Followers}, {want.Shares, accepted.Shares, got.Shares}, {want.Replies, accepted.Replies, got.Replies}}
	if res.SignaturesWired {
		checks = append(checks, triple{want.Signatures, accepted.Signatures, got.Signatures})
	}
	for _, c := range checks {
		res.Lost += max(0, c.accepted-c.got)
		res.Doubled += max(0, c.got-c.sent)
	}
	p.say("inbox: applied in %.2fs: followers %d/%d, boosts %d/%d, replies %d/%d, signatures %d/%d; lost %d, doubled %d; %d actor documents fetched",
		res.ProcessedS, got.Followers, want.Followers, got.Shares, want.Shares, got.Replies, want.Replies, got.Signatures, want.Signatures, res.Lost, res.Doubled, res.ActorFetches)
	return res, nil
}

// waitDeliveries waits until the instances received the Accept of every follow and the queue went quiet, so the
// fan-out starts from an empty queue.
func waitDeliveries(ctx context.Context, fed *fediverse, accepts int, limit time.Duration, p *progress) map[string]int {
	deadline := time.Now().Add(limit)
	var last map[string]int
	lastTotal, begin, lastChange := -1, time.Now(), time.Now()
	for ctx.Err() == nil && time.Now().Before(deadline) {
		got, _, _ := fed.received()
		total := 0
		for _, n := range got {
			total += n
		}
		if total != lastTotal {
			lastTotal, lastChange = total, time.Now()
		}
		last = got
		quiet := time.Since(lastChange) > time.Second
		if quiet && got["Accept"] >= accepts {
			break
		}
		// A server that delivers nothing at all (no delivery worker) is not waited for.
		if total == 0 && time.Since(begin) > 5*time.Second {
			p.say("deliveries: nothing received in %s: is the server's delivery worker running?", time.Since(begin).Round(time.Second))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, bad, lastErr := fed.received()
	p.say("deliveries after the inbox run: %v (refused by the instances: %d %s)", last, bad, lastErr)
	return last
}

// runInboxWarm sends one Like of the memo from each actor of the first run: their keys are cached now, so this is
// the inbox's cost without key fetches, the figure to compare with the verification limit.
func runInboxWarm(ctx context.Context, o options, fed *fediverse, urls content.URLs, p *progress) (*stats, int, error) {
	likes := content.Likes(urls.Memo())
	before, err := totalItems(ctx, likes)
	if err != nil {
		return nil, 0, err
	}
	reqs, clients, err := signAll(ctx, fed, o.Requests, func(a actor, g int) ([]byte, string) {
		return mustJSON(map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": a.IRI + "/likes/1", "type": "Like", "actor": a.IRI, "object": urls.Memo()}), urls.SharedInbox()
	})
	if err != nil {
		return nil, 0, err
	}
	fetchesBefore := fed.actorFetches()
	sent := sendAll(ctx, reqs, clients, o.Concurrency)
	p.say("inbox (keys cached): %d likes in %.2fs (%.0f/s, p99 %.1f ms), answers %v, %d actor documents fetched", sent.Requests, sent.Elapsed.Seconds(), sent.perSecond(), sent.percentileMS(0.99), sent.Status, fed.actorFetches()-fetchesBefore)
	deadline, got := time.Now().Add(30*time.Second), 0
	for ctx.Err() == nil && time.Now().Before(deadline) {
		n, err := totalItems(ctx, likes)
		if err != nil {
			return nil, 0, err
		}
		if got = n - before; got >= sent.ok(http.StatusAccepted) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return sent, got, nil
}

// signAll builds and signs the n requests build describes, on every core, before any is sent: the clock of a
// scenario measures the server, not this tool's RSA.
func signAll(ctx context.Context, fed *fediverse, n int, build func(a actor, g int) ([]byte, string)) ([]*http.Request, []*http.Client, error) {
	reqs := make([]*http.Request, n)
	clients := make([]*http.Client, n)
	errs := make([]error, n)
	now := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				g := int(next.Add(1)) - 1
				if g >= n {
					return
				}
				a := fed.actor(g)
				body, inbox := build(a, g)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, inbox, bytes.NewReader(body))
				if err == nil {
					req.Header.Set("Content-Type", "application/activity+json")
					req.Header.Set("User-Agent", "memo-load (simulated instance)")
					err = httpsign.SignRequest(req, body, a.key, a.KeyID, now)
				}
				if err != nil {
					errs[g] = fmt.Errorf("sign request %d: %w", g, err)
					continue
				}
				reqs[g], clients[g] = req, a.inst.client
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	return reqs, clients, nil
}

// inboxLimit bounds the sending of one inbox round, so that a server that stalls still gives a report (its
// unanswered requests count as lost) and --quick stays quick.
func inboxLimit(o options) time.Duration {
	switch {
	case o.Tiny:
		return 30 * time.Second
	case o.Quick:
		return 20 * time.Second
	}
	return 5 * time.Minute
}
