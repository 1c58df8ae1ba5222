package signing

import (
	"testing"
	"time"
)

// TestSignatureDate: the reply's published date when plausible, the reception otherwise.
func TestSignatureDate(t *testing.T) {
	received := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	revision := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		published time.Time
		revision  time.Time
		want      time.Time
	}{
		{"plausible", received.Add(-48 * time.Hour), revision, received.Add(-48 * time.Hour)},
		{"no published", time.Time{}, revision, received},
		{"in the future", received.Add(time.Hour), revision, received},
		{"ahead within the skew: brought back", received.Add(MaxClockSkew / 2), revision, received},
		{"before the revision it signs", revision.Add(-time.Second), revision, received},
		{"revision unknown", received.Add(-time.Hour), time.Time{}, received.Add(-time.Hour)},
	}
	for _, c := range cases {
		if got := SignatureDate(c.published, received, c.revision); !got.Equal(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestParseNotePublished reads published, and leaves it zero when it is not a date.
func TestParseNotePublished(t *testing.T) {
	n, err := ParseNote([]byte(`{"id":"https://a.example/n/1","published":"2026-05-08T10:00:00+02:00"}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 5, 8, 8, 0, 0, 0, time.UTC); !n.Published.Equal(want) {
		t.Errorf("published %v, want %v", n.Published, want)
	}
	n, err = ParseNote([]byte(`{"id":"https://a.example/n/1","published":"yesterday"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !n.Published.IsZero() {
		t.Errorf("published %v, want zero", n.Published)
	}
}
