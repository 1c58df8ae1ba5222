package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// measure runs the whole sequence: the machine's limits, the server, the simulated fediverse, then the inbox,
// fan-out and pages scenarios in that order (the fan-out reaches the followers the inbox run made; the large
// signatures pages come last because seeding them changes the database).
func measure(ctx context.Context, o options, p *progress, res *result) error {
	start := time.Now()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	rsaTime := map[string]time.Duration{"tiny": 200 * time.Millisecond, "quick": time.Second}[o.mode()]
	if rsaTime == 0 {
		rsaTime = 3 * time.Second
	}
	res.RSASignPerS, res.RSAVerifyPerS = rsaRates(key, rsaTime)
	p.say("machine: %.0f RSA-2048 signatures/s, %.0f verifications/s on %d cores", res.RSASignPerS, res.RSAVerifyPerS, res.Cores)

	var srv *memoServer
	if o.Target != "" {
		srv, err = target(ctx, o)
	} else {
		srv, err = startMemo(ctx, o, p, func(dsn string) error {
			p.say("seeding %d signatures before the server starts", o.SmallSigs)
			return seedSignatures(ctx, dsn, 0, o.SmallSigs)
		})
	}
	if err != nil {
		return err
	}
	defer srv.stop()
	defer func() {
		if n, last := srv.logProblems(5); n > 0 {
			p.say("the server logged %d warnings or errors; the last ones:\n  %s", n, strings.Join(last, "\n  "))
		}
	}()
	res.Database = "unknown"
	switch {
	case storage.IsPostgresURL(srv.Database):
		res.Database = "postgresql"
	case srv.Database != "":
		res.Database = "sqlite"
	}
	urls := content.URLs{Base: srv.Base, Username: "memo"}

	p.say("fediverse: %d instances, %d keys", o.Instances, o.KeyPool)
	fed, err := newFediverse(o.Instances, o.KeyPool, srv.Base, urls.KeyID())
	if err != nil {
		return err
	}
	defer fed.close()
	if err := fed.loadOurKey(ctx, urls.Actor()); err != nil {
		return err
	}

	// Inbox.
	rowsBefore := 0
	if srv.Database != "" {
		if rowsBefore, err = inboxRows(ctx, srv.Database); err != nil {
			return err
		}
	}
	stopPerf := profileServer(o, srv, "inbox", p)
	ir, err := runInbox(ctx, o, fed, urls, p)
	stopPerf()
	if err != nil {
		return err
	}
	accepted := ir.Sent.ok(http.StatusAccepted)
	res.InboxPerS = float64(accepted) / ir.Sent.Elapsed.Seconds()
	res.InboxP99MS = ir.Sent.percentileMS(0.99)
	res.InboxRefused = o.Requests - accepted
	res.InboxLost, res.InboxDuplicates = ir.Lost, ir.Doubled
	res.InboxRatio = safeDiv(res.InboxPerS, res.RSAVerifyPerS)
	res.InboxAppliedS = ir.ProcessedS
	res.InboxAppliedAfterS = max(0, ir.ProcessedS-ir.Sent.Elapsed.Seconds())
	res.InboxSignatures, res.InboxSigsWanted = ir.Got.Signatures, ir.Expected.Signatures
	if srv.Database != "" {
		rows, err := inboxRows(ctx, srv.Database)
		if err != nil {
			return err
		}
		res.InboxStoredRows = rows - rowsBefore
		// Every accepted request is one stored activity: more would be a double, fewer a loss the counts missed.
		if d := res.InboxStoredRows - o.Requests; d > 0 {
			res.InboxDuplicates += d
		}
		p.say("inbox: %d activities stored for %d accepted requests", res.InboxStoredRows, accepted)
	}
	if res.InboxRefused > 0 {
		p.say("inbox: %d requests were not accepted (%v, %d unanswered)", res.InboxRefused, ir.Sent.Status, o.Requests-ir.Sent.Requests+ir.Sent.Errors)
	}
	p.say("server peak memory so far: %.1f MB", srv.peakRSSMB())
	stopPerf = profileServer(o, srv, "inbox-cached-keys", p)
	warm, likes, err := runInboxWarm(ctx, o, fed, urls, p)
	stopPerf()
	if err != nil {
		return err
	}
	res.InboxWarmPerS = float64(warm.ok(http.StatusAccepted)) / warm.Elapsed.Seconds()
	res.InboxWarmP99MS = warm.percentileMS(0.99)
	res.InboxWarmRatio = safeDiv(res.InboxWarmPerS, res.RSAVerifyPerS)
	if d := warm.ok(http.StatusAccepted) - likes; d > 0 {
		res.InboxLost += d
		p.say("inbox (keys cached): %d likes applied for %d accepted: counted as lost", likes, warm.ok(http.StatusAccepted))
	} else if likes > o.Requests {
		res.InboxDuplicates += likes - o.Requests
	}
	res.InboxRefused += o.Requests - warm.ok(http.StatusAccepted)
	delivered := waitDeliveries(ctx, fed, ir.Got.Followers, max(30*time.Second, time.Duration(ir.Got.Followers)*10*time.Millisecond), p)

	// Fan-out, to the followers the inbox run made.
	withFollowers := map[int]bool{}
	for g := range o.Requests {
		if kindOf(g, o.Instances) == kindFollow {
			withFollowers[g%o.Instances] = true
		}
	}
	if srv.bin != "" && len(withFollowers) > 0 {
		res.FanoutInstances = len(withFollowers)
		stopPerf = profileServer(o, srv, "fanout", p)
		res.FanoutS, res.FanoutPublishS, err = runFanout(ctx, srv, fed, len(withFollowers), fanoutLimit(o, len(withFollowers), len(delivered) > 0), p)
		stopPerf()
		if err != nil {
			// Reported, not fatal: the pages still deserve measuring, and the JSON says the fan-out failed.
			res.FanoutError = err.Error()
			p.say("%v", err)
		} else {
			res.FanoutRatio = safeDiv(res.FanoutS, float64(res.FanoutInstances)/res.RSASignPerS)
		}
	} else {
		p.say("fanout: skipped (it needs the server's database to publish: give --database with --target)")
	}

	// Pages. First the bare handler with the raw client (what the pages are loaded with) and with wrk, when
	// installed, to show the client is not what limits the figures.
	client := localClient(o.Concurrency)
	bare, stopBare, err := bareWebFinger(ctx)
	if err != nil {
		return err
	}
	bareURL := bare + "/.well-known/webfinger?resource=acct:memo@127.0.0.1"
	// Raw client, wrk, raw client again: the cores are shared, and the better of the two raw runs is the client's
	// ceiling. The ratios compare each page with the bare handler loaded in turns with it (runPages).
	bs, err := hammer(ctx, client, bareURL, o.Concurrency, o.PageTime)
	if err == nil {
		var wrkOK bool
		res.WrkBarePerS, wrkOK, err = wrkRate(ctx, bareURL, o.Concurrency, o.PageTime)
		if !wrkOK {
			p.say("pages: wrk is not installed: the raw client's ceiling is not compared with it")
		}
	}
	if err == nil {
		var again *stats
		if again, err = hammer(ctx, client, bareURL, o.Concurrency, o.PageTime); err == nil && again.perSecond() > bs.perSecond() {
			bs = again
		}
	}
	if err != nil {
		stopBare()
		return err
	}
	res.Client = "memo-load raw HTTP/1.1 (kept-alive connections, requests written once)"
	res.ClientCeilingPerS = bs.perSecond()
	res.ClientVsWrk = safeDiv(res.ClientCeilingPerS, res.WrkBarePerS)
	p.say("pages: bare net/http WebFinger %.0f/s  p99 %.2f ms (raw client); wrk %.0f/s", res.ClientCeilingPerS, bs.percentileMS(0.99), res.WrkBarePerS)
	stopPerf = profileServer(o, srv, "pages", p)
	pages, err := runPages(ctx, client, urls, bareURL, o.Concurrency, o.PageTime, p)
	stopPerf()
	stopBare()
	if err != nil {
		return err
	}
	allBare := &stats{Status: map[int]int{}}
	for _, pg := range pages {
		allBare.merge(pg.Bare)
		switch pg.Name {
		case "home":
			res.HomePerS, res.HomeRatio = pg.perSecond(), pg.ratio()
		case "memo":
			res.MemoPerS, res.MemoRatio = pg.perSecond(), pg.ratio()
		case "webfinger":
			res.WebFingerPerS, res.WebFingerRatio = pg.perSecond(), pg.ratio()
		case "actor":
			res.ActorPerS, res.ActorRatio = pg.perSecond(), pg.ratio()
		}
	}
	// The bare handler's rate over every turn it took between the pages.
	res.BarePerS = allBare.perSecond()
	p.say("server peak memory so far: %.1f MB", srv.peakRSSMB())

	// Signatures pages: as they are, then with S rows.
	maxID, rows, err := signaturePosition(ctx, srv, urls)
	if err != nil {
		return err
	}
	res.SigPageSmallRows = rows
	small, err := runSignaturePages(ctx, client, urls, maxID, o.Concurrency, o.PageTime, "small", p)
	if small == nil {
		return err
	}
	if err != nil {
		res.SigPageError = err.Error()
	}
	res.SigPageP99Small = small.percentileMS(0.99)
	if srv.Database != "" && rows < o.Signatures {
		p.say("seeding %d more signatures into the running server's database", o.Signatures-rows)
		t := time.Now()
		if err := seedSignatures(ctx, srv.Database, o.SmallSigs, o.SmallSigs+o.Signatures-rows); err != nil {
			return err
		}
		p.say("seeded in %.1fs", time.Since(t).Seconds())
		if maxID, rows, err = signaturePosition(ctx, srv, urls); err != nil {
			return err
		}
	}
	res.S, res.SigPageLargeRows = rows, rows
	stopPerf = profileServer(o, srv, "signatures-large", p)
	large, err := runSignaturePages(ctx, client, urls, maxID, o.Concurrency, o.PageTime, "large", p)
	stopPerf()
	if large == nil {
		return err
	}
	if err != nil {
		res.SigPageError = err.Error()
	}
	res.SigPageP99Large = large.percentileMS(0.99)
	stopPerf = profileServer(o, srv, "search-large", p)
	search, err := runSearch(ctx, client, urls, rows, min(o.Concurrency, runtime.NumCPU()), o.PageTime, "large", p)
	stopPerf()
	if search == nil {
		return err
	}
	if err != nil {
		res.SearchError = err.Error()
	}
	res.SearchP99Large = search.percentileMS(0.99)
	res.RSSMB = srv.peakRSSMB()
	res.RSSFileMB = srv.fileRSSMB()
	if srv.bin != "" && srv.cmd != nil && srv.cmd.Process != nil {
		if parts, err := binaryPages(srv.cmd.Process.Pid, srv.bin); err != nil {
			p.say("rss: %v", err)
		} else {
			res.RSSFileParts = parts
		}
	}
	res.ElapsedS = time.Since(start).Seconds()
	return nil
}

// signaturePosition gives the highest signature id and the row count: from the database when known, else from
// the public count (ids then assumed dense).
func signaturePosition(ctx context.Context, srv *memoServer, urls content.URLs) (int64, int, error) {
	if srv.Database != "" {
		return signatureIDs(ctx, srv.Database)
	}
	n, err := totalItems(ctx, urls.Signatures())
	return int64(n), n, err
}

// fanoutLimit is how long the fan-out may take before it counts as failed: generous, since the point is to measure
// it, but short in the tiny mode tests use and when the server delivered nothing after the inbox run.
func fanoutLimit(o options, instances int, delivering bool) time.Duration {
	if !delivering {
		return 5 * time.Second
	}
	if o.Tiny {
		return 20 * time.Second
	}
	return max(60*time.Second, time.Duration(instances)*20*time.Millisecond)
}
