package batch

import "testing"

func TestNextTakesWhatIsQueuedUpToMax(t *testing.T) {
	in := make(chan int, 10)
	stop := make(chan struct{})
	for i := range 5 {
		in <- i
	}
	got, ok := Next(in, stop, 3)
	if !ok || len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Fatalf("first group = %v, %v; want [0 1 2]", got, ok)
	}
	got, ok = Next(in, stop, 3)
	if !ok || len(got) != 2 || got[1] != 4 {
		t.Fatalf("second group = %v, %v; want [3 4]: only what is queued", got, ok)
	}
	close(stop)
	if got, ok := Next(in, stop, 3); ok || got != nil {
		t.Fatalf("after stop = %v, %v; want nothing", got, ok)
	}
}
