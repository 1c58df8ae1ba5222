package inbound

import (
	"encoding/json"
	"testing"

	"github.com/memo-fediverse/memo/federation/fedtest"
)

// BenchmarkInboxDecode is the inbox's decoding of one real Mastodon reply: the depth check, the envelope read
// before the signature is verified, and the full decode after.
func BenchmarkInboxDecode(b *testing.B) {
	body := fedtest.Fixture(b, "mastodon/create-note-reply.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := CheckDepth(body, MaxJSONDepth); err != nil {
			b.Fatal(err)
		}
		var env Envelope
		if err := json.Unmarshal(body, &env); err != nil {
			b.Fatal(err)
		}
		act, err := DecodeActivity(body)
		if err != nil || act.Object == nil {
			b.Fatalf("decode: %v", err)
		}
	}
}

// BenchmarkDecodeActivity is the full decode alone, on each kind the inbox sees most.
func BenchmarkDecodeActivity(b *testing.B) {
	for _, name := range []string{"mastodon/create-note-reply.json", "mastodon/follow.json", "mastodon/like.json", "mastodon/undo-follow.json"} {
		body := fedtest.Fixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := DecodeActivity(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
