package main

import (
	"context"
	"fmt"
	"time"

	"github.com/memo-fediverse/memo/content"
)

// runFanout publishes a new revision with `memo publish` (a second process, as an admin does) and times until
// every instance with followers has acknowledged the Update. The clock starts before the publish command runs, so
// the figure includes storing the revision and the server noticing it.
func runFanout(ctx context.Context, srv *memoServer, fed *fediverse, instances int, limit time.Duration, p *progress) (seconds, publishS float64, err error) {
	fed.expectUpdates.Store(int64(instances))
	fed.updateAfter.Store(time.Now().UnixNano())
	md := content.MemoMarkdown() + "\n\nRévision de mesure : le texte ne change que par ce paragraphe.\n"
	p.say("fanout: publishing a revision to followers on %d instances", instances)
	start := time.Now()
	if err := srv.publish(ctx, md, "Révision de mesure (memo-load)."); err != nil {
		return 0, 0, err
	}
	publishS = time.Since(start).Seconds()
	select {
	case <-fed.allUpdated:
	case <-time.After(limit):
		return 0, publishS, fmt.Errorf("fanout: %d of %d instances got the Update within %s", fed.updates.Load(), instances, limit)
	case <-ctx.Done():
		return 0, publishS, ctx.Err()
	}
	seconds = time.Since(start).Seconds()
	p.say("fanout: every instance acknowledged the Update %.2fs after publishing started (memo publish took %.2fs)", seconds, publishS)
	return seconds, publishS, nil
}
