package testwait

import (
	"sync/atomic"
	"testing"
	"time"
)

// Until returns as soon as the condition holds, polling it again and again until then.
func TestUntilPollsUntilTheConditionHolds(t *testing.T) {
	var calls atomic.Int64
	Until(t, "the third poll", func() bool { return calls.Add(1) == 3 })
	if n := calls.Load(); n != 3 {
		t.Fatalf("condition called %d times, want 3 (stop at the first true)", n)
	}
}

// A condition set by another goroutine is seen.
func TestUntilSeesAnotherGoroutine(t *testing.T) {
	var done atomic.Bool
	go func() {
		time.Sleep(30 * time.Millisecond)
		done.Store(true)
	}()
	Until(t, "the goroutine", done.Load)
}
