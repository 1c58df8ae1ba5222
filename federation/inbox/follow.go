package inbox

import (
	"fmt"
	"net/http"
)

// limitFollow takes a Follow from the hourly budgets of its client address and its host. A stranger can make up
// any number of actors on hosts that will never answer, and each follower costs a delivery of every revision; a
// host or an address over budget gets 429, which peers retry later (Mastodon retries 429s), so an honest burst is
// delayed, not lost.
func (in *Inbox) limitFollow(host, ipKey string) *refusal {
	if in.followsByIP == nil {
		return nil
	}
	now := in.cfg.Now()
	for _, l := range []struct {
		lim *limiters
		key string
	}{{in.followsByIP, ipKey}, {in.followsByHost, host}} {
		if ok, after := l.lim.allow(l.key, now); !ok {
			return &refusal{status: http.StatusTooManyRequests, reason: fmt.Sprintf("too many new follows from %s this hour (limit %d)", l.key, in.cfg.FollowLimit), retryAfter: after}
		}
	}
	return nil
}
