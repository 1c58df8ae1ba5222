package federation

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/memo-fediverse/memo/federation/as"
)

// webfingerAnswer keeps the encoded WebFinger answer: every resource that names our actor gets the same document,
// built from the settings alone, and WebFinger is the first request of every follow and every mention.
type webfingerAnswer struct {
	body atomic.Pointer[[]byte]
}

func (a *webfingerAnswer) write(w http.ResponseWriter, doc webfingerDoc) {
	b := a.body.Load()
	if b == nil {
		enc, err := as.EncodeJSON(doc)
		if err != nil {
			http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
			return
		}
		b = &enc
		a.body.Store(b)
	}
	h := w.Header()
	h.Set("Content-Type", "application/jrd+json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(*b)))
	w.WriteHeader(http.StatusOK)
	w.Write(*b)
}
