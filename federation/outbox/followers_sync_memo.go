package outbox

import (
	"hash/maphash"
	"sync"
)

// addressedMemo remembers addressedTo's answer for the last activities asked about: a fan-out hands the same
// activity to every follower's inbox, and decoding the memo's whole Update for each delivery cost a noticeable
// share of the fan-out's CPU beside the signatures. Hashing the body is much cheaper than decoding it
// (BenchmarkAddressedToMemo).
type addressedMemo struct {
	mu      sync.Mutex
	seed    maphash.Seed
	answers map[addressedKey]bool
}

type addressedKey struct {
	sum        uint64
	size       int
	collection string
}

// maxAddressedMemo bounds the memo: a handful of activities are in flight at once; past the bound it starts again.
const maxAddressedMemo = 64

var addressedAnswers = addressedMemo{seed: maphash.MakeSeed(), answers: map[addressedKey]bool{}}

// addressedToMemo is addressedTo, remembered per body.
func addressedToMemo(body []byte, collection string) bool {
	k := addressedKey{maphash.Bytes(addressedAnswers.seed, body), len(body), collection}
	addressedAnswers.mu.Lock()
	v, ok := addressedAnswers.answers[k]
	addressedAnswers.mu.Unlock()
	if ok {
		return v
	}
	v = addressedTo(body, collection)
	addressedAnswers.mu.Lock()
	if len(addressedAnswers.answers) >= maxAddressedMemo {
		clear(addressedAnswers.answers)
	}
	addressedAnswers.answers[k] = v
	addressedAnswers.mu.Unlock()
	return v
}
