package inbox

import (
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
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
