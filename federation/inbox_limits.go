package federation

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters holds one token bucket per key (a remote IP or host). Idle buckets are dropped so that a stream of
// new addresses cannot grow the map without bound.
type limiters struct {
	mu      sync.Mutex
	perSec  rate.Limit
	burst   int
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiters(perSec float64, burst int) *limiters {
	if burst < 1 {
		burst = 1
	}
	return &limiters{perSec: rate.Limit(perSec), burst: burst, buckets: map[string]*bucket{}}
}

// idleAfter is how long an unused bucket is kept; by then it has refilled anyway.
const idleAfter = 10 * time.Minute

// allow takes a token for key; when there is none it returns false and the Retry-After value.
func (l *limiters) allow(key string, now time.Time) (bool, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > idleAfter {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
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
