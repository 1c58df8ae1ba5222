package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/inbound"
	"github.com/memo-fediverse/memo/storage"
)

// authorizeFollow accepts only a Follow of our actor.
func (in *Inbox) authorizeFollow(act *inbound.Activity) *refusal {
	if act.ObjectIRI() != in.cfg.URLs.Actor() {
		return &refusal{status: http.StatusBadRequest, reason: fmt.Sprintf("Follow of %q: only %s can be followed here", act.ObjectIRI(), in.cfg.URLs.Actor())}
	}
	return nil
}

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

// applyFollow adds the follower (the sender as cached with its key) and queues the Accept.
func (in *Inbox) applyFollow(ctx context.Context, tx *storage.Tx, p *prepared) (string, error) {
	act, follower := p.act, p.cached
	if follower.Inbox == "" {
		return "ignored: follower has no inbox", nil
	}
	if err := tx.AddFollower(ctx, storage.Follower{
		ActorIRI: act.Actor, FollowIRI: act.ID, Inbox: follower.Inbox, SharedInbox: follower.SharedInbox, Domain: follower.Domain,
	}); err != nil {
		return "", err
	}
	accept := in.cfg.URLs.Activity(acceptNumber(act.ID))
	body, err := json.Marshal(map[string]any{
		"@context": content.ActivityStreamsContext,
		"id":       accept,
		"type":     "Accept",
		"actor":    in.cfg.URLs.Actor(),
		"to":       []string{act.Actor},
		"object":   json.RawMessage(p.row.Body), // the Follow as received: peers match it by id and content
	})
	if err != nil {
		return "", fmt.Errorf("encode Accept: %w", err)
	}
	if err := tx.InsertActivity(ctx, storage.Activity{
		IRI: accept, Type: "Accept", ObjectIRI: act.ID, Body: string(body),
	}, []storage.Recipient{{Inbox: follower.Inbox, Domain: follower.Domain}}); err != nil {
		return "", err
	}
	return "follower added, Accept queued", nil
}

// acceptNumber derives the Accept's number from the Follow's id, so that processing one Follow twice (two
// replicas, a retry) names the same Accept and stores it once.
func acceptNumber(followIRI string) int64 {
	sum := sha256.Sum256([]byte("accept " + followIRI))
	return int64(binary.BigEndian.Uint64(sum[:8]) >> 11) // 53 bits: exact in JSON numbers everywhere
}

// applyBlock drops a follower that blocks us: it no longer wants our deliveries.
func (in *Inbox) applyBlock(ctx context.Context, tx *storage.Tx, act *inbound.Activity) (string, error) {
	if act.ObjectIRI() != in.cfg.URLs.Actor() {
		return "ignored: block of someone else", nil
	}
	removed, err := tx.RemoveFollower(ctx, act.Actor, "")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("blocked us; follower removed: %v", removed), nil
}
