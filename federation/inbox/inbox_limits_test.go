package inbox

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// However many keys come, the limiter map holds at most its cap, and the key just used is among them with its
// bucket: a full map evicts, it never refuses a newcomer.
func TestLimiterMapIsCapped(t *testing.T) {
	l := newLimiters(1, 1)
	l.maxKeys = 100
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10000 {
		key := fmt.Sprintf("198.51.%d.%d", i/256, i%256)
		if ok, _ := l.allow(key, now); !ok {
			t.Fatalf("new key %s refused", key)
		}
		if ok, _ := l.allow(key, now); ok {
			t.Fatalf("key %s: second request in the same instant allowed past a burst of 1", key)
		}
		if n := l.size(); n > 100 {
			t.Fatalf("%d keys held after %d, want at most 100", n, i+1)
		}
	}
	// Buckets are kept as long as they take to refill: an hourly limit is not reset by a 10-minute pause.
	hourly := newLimiters(100.0/3600, 100)
	for range 100 {
		hourly.allow("host.example", now)
	}
	// 11 minutes refill 18 tokens; a dropped bucket would start again with 100.
	allowed := 0
	for range 30 {
		if ok, _ := hourly.allow("host.example", now.Add(11*time.Minute)); ok {
			allowed++
		}
	}
	if allowed != 18 {
		t.Fatalf("%d allowed after an 11-minute pause, want the 18 refilled", allowed)
	}
}

func TestClip(t *testing.T) {
	for _, in := range []string{strings.Repeat("é", 500), strings.Repeat("a\xff", 300), "short", strings.Repeat("€", 67) + "ab"} {
		got := clip(in, maxReasonBytes)
		if len(got) > maxReasonBytes || !utf8.ValidString(got) {
			t.Errorf("clip of %d bytes gave %d bytes, valid %v", len(in), len(got), utf8.ValidString(got))
		}
		if len(in) <= maxReasonBytes && utf8.ValidString(in) && got != in {
			t.Errorf("clip changed %q to %q", in, got)
		}
	}
}

// One line a minute per source: the next says how many were left out; past its source cap the log shares one
// entry; idle sources are summed up when they are forgotten.
func TestRefusalLogIsThrottled(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	l := newRefusalLog(time.Minute, 10)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 100 {
		l.log(log, now.Add(time.Duration(i)*100*time.Millisecond), "198.51.100.1", "status", 401)
	}
	if n := strings.Count(buf.String(), "inbox refused"); n != 1 {
		t.Fatalf("%d lines for 100 refusals in 10 s, want 1:\n%s", n, buf.String())
	}
	buf.Reset()
	l.log(log, now.Add(61*time.Second), "198.51.100.1", "status", 401)
	if !strings.Contains(buf.String(), "suppressed=99") {
		t.Fatalf("the next minute's line does not count the 99 left out: %s", buf.String())
	}
	buf.Reset()
	for i := range 1000 {
		l.log(log, now.Add(62*time.Second), fmt.Sprintf("203.0.%d.%d", i/256, i%256), "status", 401)
	}
	if n := len(l.sources); n > 11 {
		t.Fatalf("%d sources tracked, want at most 10 and the shared entry", n)
	}
	if n := strings.Count(buf.String(), "inbox refused"); n > 11 {
		t.Fatalf("%d lines for 1,000 sources, want at most 11", n)
	}
	buf.Reset()
	l.log(log, now.Add(3*time.Minute), "198.51.100.2", "status", 401)
	if !strings.Contains(buf.String(), "inbox refusals not logged") {
		t.Fatalf("forgotten sources' counts are not summed up: %s", buf.String())
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	l := newLimiters(20, 200)
	now := time.Now()
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("198.51.%d.%d", i/256, i%256)
	}
	i := 0
	for b.Loop() {
		l.allow(keys[i%len(keys)], now)
		i++
	}
}

func BenchmarkRefusalLog(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	l := newRefusalLog(time.Minute, refusalLogSources)
	now := time.Now()
	for b.Loop() {
		l.log(log, now, "198.51.100.1", "status", 401, "reason", "request is not signed (no Signature header)")
	}
}
