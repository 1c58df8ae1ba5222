package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestScheduleWithoutJitter(t *testing.T) {
	p := DefaultPolicy()
	queued := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now := queued
	want := []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour,
		24 * time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour}
	attempts := 0
	for {
		attempts++
		next, ok := p.Next(now, queued, attempts, 0, 0.5)
		if !ok {
			break
		}
		if attempts > len(want) {
			t.Fatalf("attempt %d still scheduled at %v, %v after queueing", attempts, next, next.Sub(queued))
		}
		if got := next.Sub(now); got != want[attempts-1] {
			t.Fatalf("delay after failure %d = %v, want %v", attempts, got, want[attempts-1])
		}
		now = next
	}
	// 1 m + 5 m + 30 m + 2 h + 6 h + 12 h, then six days: the 13th attempt is the last, under 7 days after queueing.
	if attempts != 13 {
		t.Fatalf("gave up after attempt %d, want 13", attempts)
	}
	if age := now.Sub(queued); age > 7*24*time.Hour || age < 6*24*time.Hour {
		t.Fatalf("last attempt %v after queueing", age)
	}
}

func TestScheduleJitterAndRetryAfter(t *testing.T) {
	p := DefaultPolicy()
	q := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	lo, _ := p.Next(q, q, 4, 0, 0)
	hi, _ := p.Next(q, q, 4, 0, 0.999999)
	if lo.Sub(q) != 108*time.Minute || hi.Sub(q) < 131*time.Minute || hi.Sub(q) > 132*time.Minute {
		t.Fatalf("2 h ± 10 %%: got %v .. %v", lo.Sub(q), hi.Sub(q))
	}
	// A longer Retry-After wins; a shorter one never makes us retry sooner than the schedule.
	if n, _ := p.Next(q, q, 1, time.Hour, 0.5); n.Sub(q) != time.Hour {
		t.Fatalf("Retry-After 1 h: next in %v", n.Sub(q))
	}
	if n, _ := p.Next(q, q, 3, 10*time.Second, 0.5); n.Sub(q) != 30*time.Minute {
		t.Fatalf("Retry-After 10 s on the 3rd failure: next in %v", n.Sub(q))
	}
	// Retry-After beyond the week: give up rather than wait.
	if _, ok := p.Next(q, q, 1, 8*24*time.Hour, 0.5); ok {
		t.Fatal("Retry-After past the 7 days was scheduled")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h    string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 5 ", 5 * time.Second},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"99999999999", 30 * 24 * time.Hour},
	} {
		if got := parseRetryAfter(c.h, now); got != c.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", c.h, got, c.want)
		}
	}
}

func TestClassify(t *testing.T) {
	timeoutErr := fmt.Errorf("post: %w", context.DeadlineExceeded)
	netErr := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	for _, c := range []struct {
		status        int
		err           error
		verdict       verdict
		domainFailure bool
	}{
		{200, nil, delivered, false},
		{202, nil, delivered, false},
		{0, timeoutErr, retry, true},
		{0, netErr, retry, true},
		{408, nil, retry, true},
		{429, nil, retry, false},
		{500, nil, retry, true},
		{502, nil, retry, true},
		{503, nil, retry, true},
		{501, nil, failed, false},
		{400, nil, failed, false},
		{401, nil, failed, false},
		{403, nil, failed, false},
		{404, nil, failed, false},
		{410, nil, gone, false},
		{302, nil, failed, false},
	} {
		r := classify(c.status, c.err)
		if r.verdict != c.verdict || r.domainFailure != c.domainFailure {
			t.Errorf("classify(%d, %v) = %+v, want verdict %d domain failure %v", c.status, c.err, r, c.verdict, c.domainFailure)
		}
	}
	if r := classify(0, timeoutErr); r.reason != "timeout" {
		t.Errorf("timeout reason %q", r.reason)
	}
}
