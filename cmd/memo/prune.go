package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/storage"
)

// defaultInboxRetention is how long processed inbox activities are kept: long enough to look into what a remote
// server sent last month, short enough that the table does not grow with the server's age.
const defaultInboxRetention = "30d"

// parseRetention reads a retention: days ("30d") or a Go duration ("720h"); at least an hour.
func parseRetention(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("not a number of days")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, fmt.Errorf("not a duration")
		}
	}
	if d < time.Hour {
		return 0, fmt.Errorf("at least an hour")
	}
	return d, nil
}

// pruneEvery is how often serve prunes; pruneBatch how many rows one transaction deletes, so that the inbox's
// writes are never held up for long.
const (
	pruneEvery = time.Hour
	pruneBatch = 500
)

// pruneInbox deletes processed inbox activities older than retention, at start and then every pruneEvery, until
// ctx ends. Signatures keep their own evidence (storage.Signature.Evidence), so nothing they need goes.
func pruneInbox(ctx context.Context, store *storage.Store, retention time.Duration, log *slog.Logger) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		n, err := store.PruneInboxActivities(ctx, time.Now().Add(-retention), pruneBatch)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("prune inbox activities", "err", err)
		case n > 0:
			log.Info("pruned processed inbox activities", "rows", n, "older_than", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
