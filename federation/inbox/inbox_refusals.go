package inbox

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/memo-fediverse/memo/federation/clientaddr"
	"github.com/memo-fediverse/memo/federation/metrics"
	"github.com/memo-fediverse/memo/storage"
)

// maxReasonBytes bounds every string a refusal stores or logs: a reason, an actor or activity id taken from an
// untrusted body, a header value quoted in a reason. A stranger's 60 KB header must not become 60 KB of database
// and log per request.
const maxReasonBytes = 256

// clip shortens s to at most max bytes, keeping its start and its end (where an error chain says its cause) around
// a mark, cut on rune boundaries so the result stays valid UTF-8. Invalid bytes are replaced, since the text goes
// to JSON logs and a database.
func clip(s string, max int) string {
	if !utf8.ValidString(s) {
		s = toValidUTF8(s)
	}
	if len(s) <= max {
		return s
	}
	const mark = "…"
	head := (max - len(mark)) * 3 / 5
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	tail := len(s) - (max - len(mark) - head)
	for tail < len(s) && !utf8.RuneStart(s[tail]) {
		tail++
	}
	return s[:head] + mark + s[tail:]
}

// toValidUTF8 replaces invalid bytes. The input is at most a request header or a body's field (MaxHeaderBytes,
// MaxBody), so one pass over it is bounded.
func toValidUTF8(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}

// refusalLog writes at most one line per source and window; the next line of a source says how many were left
// out since. It tracks at most maxSources sources; past that, further ones share one entry, so a flood from many
// addresses still logs a line a minute with its count.
type refusalLog struct {
	mu         sync.Mutex
	window     time.Duration
	maxSources int
	sources    map[string]*logWindow
	swept      time.Time
}

type logWindow struct {
	start      time.Time
	suppressed int
}

// overflowSource is the entry that sources beyond maxSources share.
const overflowSource = "(other sources)"

func newRefusalLog(window time.Duration, maxSources int) *refusalLog {
	return &refusalLog{window: window, maxSources: maxSources, sources: map[string]*logWindow{}}
}

// log writes the refusal unless its source already had a line in this window; the suppressed count of the
// source's previous window goes with the line. Sources idle for a window are forgotten, their counts summed in one line.
func (l *refusalLog) log(log *slog.Logger, now time.Time, source string, attrs ...any) {
	l.mu.Lock()
	expiredSources, expiredCount := 0, 0
	if now.Sub(l.swept) >= l.window {
		for k, w := range l.sources {
			if now.Sub(w.start) >= l.window {
				if w.suppressed > 0 {
					expiredSources++
					expiredCount += w.suppressed
				}
				delete(l.sources, k)
			}
		}
		l.swept = now
	}
	w, ok := l.sources[source]
	if !ok && len(l.sources) >= l.maxSources {
		source = overflowSource
		w, ok = l.sources[source]
	}
	write, suppressed := false, 0
	switch {
	case !ok:
		l.sources[source] = &logWindow{start: now}
		write = true
	case now.Sub(w.start) >= l.window:
		suppressed = w.suppressed
		w.start, w.suppressed = now, 0
		write = true
	default:
		w.suppressed++
	}
	l.mu.Unlock()
	if expiredCount > 0 {
		log.Info("inbox refusals not logged", "sources", expiredSources, "suppressed", expiredCount)
	}
	if write {
		log.Info("inbox refused", append(attrs, "source", source, "suppressed", suppressed)...)
	}
}

// pruneRefusedEvery is how many recorded refusals trigger a prune of the table; Run also prunes hourly.
const pruneRefusedEvery = 100

// refusal is an inbox answer other than 202, with what the refused table records.
type refusal struct {
	status     int
	reason     string
	actor      string
	activity   string
	retryAfter string
}

// refused logs and records a refusal. Every string is clipped first: the reason may quote what the sender sent.
// A 429 is logged but not recorded: a flood would otherwise write a row per request it makes, and the limit is
// there precisely so that such requests cost nothing. The log says at most a line a minute per source.
func (in *Inbox) refused(ctx context.Context, client netip.Addr, ref *refusal) {
	metrics.InboxActivity("", "refused")
	ref.reason = clip(ref.reason, maxReasonBytes)
	ref.actor, ref.activity = clip(ref.actor, maxReasonBytes), clip(ref.activity, maxReasonBytes)
	addr := clientaddr.String(client)
	now := in.cfg.Now()
	in.refusalLog.log(in.log, now, clientaddr.Key(client), "status", ref.status, "reason", ref.reason, "actor", ref.actor, "activity", ref.activity, "remote", addr)
	if ref.status == http.StatusTooManyRequests {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if err := in.cfg.Store.AddRefusal(ctx, storage.Refusal{
		RemoteAddr: addr, ActorIRI: ref.actor, Activity: ref.activity, Status: ref.status, Reason: ref.reason,
	}); err != nil {
		in.log.Error("record refusal", "err", err)
		return
	}
	if in.refusedSincePrune.Add(1)%pruneRefusedEvery == 0 {
		in.pruneRefused(ctx)
	}
}

// pruneRefused applies the age and row bounds of the refused table.
func (in *Inbox) pruneRefused(ctx context.Context) {
	if _, err := in.cfg.Store.PruneRefused(ctx, in.cfg.Now().Add(-in.cfg.RefusedMaxAge), in.cfg.RefusedMaxRows); err != nil {
		in.log.Warn("prune refusals", "err", err)
	}
}
