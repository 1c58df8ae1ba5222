package views

import (
	"fmt"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// The list shows how many listed signatures each instance brought, largest first, each a link to that instance's
// signatures; private signatures never show in it.
func TestSignaturesCountPerInstance(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		seedMemo(t, store)
		h := newTestSite(t, store, testBase).Handler()
		n := 0
		for domain, count := range map[string]int{"big.example": 5, "small.example": 2} {
			for i := 0; i < count; i++ {
				n++
				addTestSignature(t, store, testSignature{n: n, name: fmt.Sprintf("Person %d", n), domain: domain})
			}
		}
		addTestSignature(t, store, testSignature{n: 99, name: "Secret", domain: "hidden-instance.example", visibility: "direct"})
		body := get(t, h, "/signatures").Body
		section := between(body, `<section class="instances"`, `</section>`)
		mustContain(t, "instances", section, "Signatures par instance",
			`href="https://memo.example/signatures?q=big.example">big.example</a> <span class="count">5 signatures</span>`,
			`small.example</a> <span class="count">2 signatures</span>`)
		mustNotContain(t, "instances", section, "hidden-instance.example")
		if strings.Index(section, "big.example") > strings.Index(section, "small.example") {
			t.Error("instances not largest first")
		}
		if en := get(t, h, "/signatures", "Accept-Language: en").Body; !strings.Contains(en, "Signatures by instance") {
			t.Error("no English heading")
		}
	})
}
