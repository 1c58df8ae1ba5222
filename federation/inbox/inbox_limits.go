package inbox

import (
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters holds one token bucket per key (a client address or a remote host). Idle buckets are dropped, and the
// map never holds more than maxKeys: a stream of new addresses can neither grow it without bound nor lock anyone
// out.
type limiters struct {
	mu      sync.Mutex
	perSec  rate.Limit
	burst   int
	maxKeys int
	idle    time.Duration
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// DefaultLimiterKeys is the most keys one limiter tracks: a few MB at most, and more remote servers and
// addresses than talk to a memo within the idle time.
const DefaultLimiterKeys = 20000

func newLimiters(perSec float64, burst int) *limiters {
	if burst < 1 {
		burst = 1
	}
	l := &limiters{perSec: rate.Limit(perSec), burst: burst, maxKeys: DefaultLimiterKeys, buckets: map[string]*bucket{}}
	// A bucket unused for as long as it takes to refill is a fresh one: only then may it be dropped, or a slow
	// limit (follows per hour) would start over after each pause.
	l.idle = idleAfter
	if perSec > 0 {
		if full := time.Duration(float64(burst) / perSec * float64(time.Second)); full > l.idle {
			l.idle = full
		}
	}
	return l
}

// idleAfter is how long an unused bucket is kept at least; fast limits have refilled by then anyway.
const idleAfter = 10 * time.Minute

// evictSample is how many buckets are looked at to choose one to evict when the map is full.
const evictSample = 8

// allow takes a token for key; when there is none it returns false and the Retry-After value.
//
// When the map is full, the least recently seen of a few buckets (in Go's random map order) is dropped to make
// room. Evicting rather than refusing new keys is the graceful side: the worst an attacker who cycles through
// addresses achieves is that some bucket starts full again, never that an honest newcomer is refused.
func (l *limiters) allow(key string, now time.Time) (bool, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.evictOne()
		}
		b = &bucket{lim: rate.NewLimiter(l.perSec, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, ""
	}
	r := b.lim.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return false, retryAfterSeconds(wait)
}

func (l *limiters) sweep(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.seen) > l.idle {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}

func (l *limiters) evictOne() {
	var oldest string
	var seen time.Time
	n := 0
	for k, b := range l.buckets {
		if n == 0 || b.seen.Before(seen) {
			oldest, seen = k, b.seen
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(l.buckets, oldest)
}

// size is the number of keys held (tests).
func (l *limiters) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// retryAfterSeconds formats a wait for Retry-After.
func retryAfterSeconds(d time.Duration) string {
	s := int(d.Seconds() + 0.999)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}
