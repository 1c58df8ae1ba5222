package delivery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/memo-fediverse/memo/federation/sigs"
)

// post signs and sends one delivery. It returns the status and the Retry-After header, or the network error.
func (w *Worker) post(ctx context.Context, j job) (status int, retryAfter string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.Inbox, bytes.NewReader(j.body))
	if err != nil {
		return 0, "", fmt.Errorf("build request to %s: %w", j.Inbox, err)
	}
	req.Header.Set("Content-Type", "application/activity+json")
	req.Header.Set("User-Agent", w.cfg.UserAgent)
	if w.cfg.Synchronize != nil {
		if v := w.cfg.Synchronize(ctx, j.Inbox, j.body); v != "" {
			req.Header.Set("Collection-Synchronization", v)
		}
	}
	// Signed now, not when queued: receivers refuse a Date older than about an hour, and retries come days later.
	if err := sigs.SignRequest(req, j.body, w.cfg.Key, w.cfg.KeyID, time.Now()); err != nil {
		return 0, "", err
	}
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("post to %s: %w", j.Inbox, err)
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused; inbox answers are small or ignored.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}
