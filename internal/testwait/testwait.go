// Package testwait is how tests wait for what another goroutine or process does: poll a condition until it holds.
// One helper for the whole module, so that every wait has the same patience and the same failure message.
package testwait

import (
	"testing"
	"time"
)

// Limit bounds every wait. It only turns a hang into a failure and asserts no speed: the tests run on shared,
// sometimes slow machines, and a condition that holds returns at its first poll after that.
const Limit = 90 * time.Second

// interval is short enough not to slow a test down and long enough not to load the machine with polls.
const interval = 10 * time.Millisecond

// Until polls cond until it returns true, and fails the test, naming what it waited for, when it has not after
// Limit. cond may itself fail the test (t.Fatal) when what it sees can no longer change.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", Limit, what)
		}
		time.Sleep(interval)
	}
}
