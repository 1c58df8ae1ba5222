package inbox

import (
	"sync"
	"time"
)

// domainsCleared remembers when each sender's domain had its delivery failures cleared, so that an instance
// sending a burst costs one read of the domains table a minute instead of one a request (each was a tenth of
// what receiving a first contact cost the server). A domain that starts failing within that minute stays parked
// until its next activity after it, or its own retry: deliveries wait a little longer, nothing is lost.
type domainsCleared struct {
	mu sync.Mutex
	at map[string]time.Time
}

// clearEvery is how long a domain found clear is not looked at again.
const clearEvery = time.Minute

// maxDomainsCleared bounds the map: made-up hosts cannot grow it for ever, and forgetting costs only a read.
const maxDomainsCleared = 10000

// due tells whether domain should be cleared now, and if so counts it as cleared.
func (d *domainsCleared) due(domain string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if last, ok := d.at[domain]; ok && now.Sub(last) < clearEvery && !now.Before(last) {
		return false
	}
	if len(d.at) >= maxDomainsCleared {
		clear(d.at)
	}
	d.at[domain] = now
	return true
}

// forget makes the next activity from domain clear it again (the last attempt failed).
func (d *domainsCleared) forget(domain string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.at, domain)
}
