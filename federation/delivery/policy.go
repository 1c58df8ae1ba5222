package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/memo-fediverse/memo/storage"
)

// Policy is the retry schedule and the rule that parks failing domains.
//
// The schedule: after the 1st failed attempt wait 1 min, then 5 min, 30 min, 2 h, 6 h, 12 h, then once a day, each
// delay moved by up to ±10 % of jitter so a fan-out that failed together does not retry together. A delivery is
// given up when its next attempt would fall more than 7 days after it was queued, which makes about 13 attempts.
// A Retry-After header (seconds or an HTTP date) is honoured: the next attempt is never earlier than it says, and
// the later of it and the schedule wins. Mastodon, for comparison, retries 16 times with count⁴ + 15 s + jitter,
// about 2 to 3 days in all, and marks a domain unavailable after failures on 7 distinct days; we retry longer
// because a revision of the memo is worth delivering late.
//
// A domain is marked unavailable once it has failed (network error, timeout, 408 or 5xx) for more than 24 hours
// without a single success, at least 5 times. A host that has never answered (no delivery to it ever succeeded,
// and every attempt found no server: DNS failure, connection refused, TLS error), as junk followers' hosts, is
// marked after 3 such failures over at least 5 minutes: the 3rd attempt of one delivery, 6 minutes after the
// first, rather than a burst of a fan-out failing at once. Its deliveries are then parked: a few are tried every
// 12 hours as a probe. Any success, or any activity received from the domain (the inbox calls
// storage.ClearDomain), clears it.
type Policy struct {
	Delays []time.Duration // after the 1st, 2nd... failure; the last one repeats
	MaxAge time.Duration   // give up when the next attempt would be later than queued time + MaxAge
	Jitter float64         // ± this fraction of each delay
	Domain storage.DomainRule
}

// DefaultPolicy is the schedule described on Policy.
func DefaultPolicy() Policy {
	return Policy{
		Delays: []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour},
		MaxAge: 7 * 24 * time.Hour,
		Jitter: 0.1,
		Domain: storage.DomainRule{After: 24 * time.Hour, MinFailures: 5, Probe: 12 * time.Hour,
			UnreachableAfter: 5 * time.Minute, UnreachableFailures: 3},
	}
}

// Next returns when to try again after failed attempt number `attempts` (1 for the first), for a delivery queued at
// `queued`; ok is false when it is time to give up. rnd is a uniform number in [0, 1) that places the jitter.
func (p Policy) Next(now, queued time.Time, attempts int, retryAfter time.Duration, rnd float64) (next time.Time, ok bool) {
	if attempts < 1 {
		attempts = 1
	}
	i := attempts - 1
	if i >= len(p.Delays) {
		i = len(p.Delays) - 1
	}
	delay := p.Delays[i]
	delay += time.Duration(float64(delay) * p.Jitter * (2*rnd - 1))
	if retryAfter > delay {
		delay = retryAfter
	}
	next = now.Add(delay)
	if next.After(queued.Add(p.MaxAge)) {
		return time.Time{}, false
	}
	return next, true
}

// verdict is what one attempt's result means for the delivery.
type verdict int

const (
	delivered verdict = iota
	retry             // try again later
	failed            // refused for good
	gone              // 410: the inbox no longer exists
)

// result classifies one attempt: its verdict, a short reason for metrics and logs, and whether it counts as a
// failure of the remote domain (it did not answer sensibly, as opposed to refusing or asking us to slow down).
type result struct {
	verdict       verdict
	reason        string
	domainFailure bool
}

// classify reads the outcome of a POST: a network error or timeout, or the status the inbox answered.
func classify(status int, err error) result {
	if err != nil {
		if isTimeout(err) {
			return result{retry, "timeout", true}
		}
		return result{retry, "network", true}
	}
	switch {
	case status >= 200 && status < 300:
		return result{delivered, "ok", false}
	case status == http.StatusGone:
		return result{gone, "410", false}
	case status == http.StatusRequestTimeout:
		return result{retry, "408", true}
	case status == http.StatusTooManyRequests:
		return result{retry, "429", false}
	case status == http.StatusNotImplemented:
		// "I will never do this": retrying for a week would change nothing.
		return result{failed, "501", false}
	case status >= 500:
		return result{retry, "5xx", true}
	default:
		return result{failed, strconv.Itoa(status), false}
	}
}

// unreachable tells that the attempt found no server to talk to: the name does not resolve, nothing listens, the
// address is one we refuse, or no TLS session could be set up. A timeout counts only while connecting.
func unreachable(err error) bool {
	var (
		dnsErr   *net.DNSError
		opErr    *net.OpError
		certErr  *tls.CertificateVerificationError
		hostErr  x509.HostnameError
		authErr  x509.UnknownAuthorityError
		invErr   x509.CertificateInvalidError
		alertErr tls.AlertError
		recErr   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &dnsErr), errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &authErr),
		errors.As(err, &invErr), errors.As(err, &alertErr), errors.As(err, &recErr):
		return true
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	}
	// The transport reports a TLS handshake that timed out as a plain error.
	return strings.Contains(err.Error(), "TLS handshake timeout")
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// parseRetryAfter reads a Retry-After header, in seconds or as an HTTP date, into a delay from now (0 when absent,
// malformed or in the past).
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > 30*24*3600 {
			secs = 30 * 24 * 3600
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
