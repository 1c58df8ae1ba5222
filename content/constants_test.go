package content

import (
	"slices"
	"strings"
	"testing"
)

func TestSigningPhrases(t *testing.T) {
	if got := SigningPhrases(nil); !slices.Equal(got, DefaultSigningPhrases) {
		t.Errorf("none configured: %q, want the defaults", got)
	}
	if got := SigningPhrases([]string{}); !slices.Equal(got, DefaultSigningPhrases) {
		t.Errorf("empty list: %q, want the defaults", got)
	}
	if got := SigningPhrases([]string{"I sign", "je signe"}); !slices.Equal(got, []string{"I sign", "je signe"}) {
		t.Errorf("configured: %q", got)
	}
	// The first is the one every page and note quotes.
	if DefaultSigningPhrases[0] != "je signe" {
		t.Errorf("first default phrase %q: the abstract says « je signe »", DefaultSigningPhrases[0])
	}
	// MEMO_SIGNING_PHRASES is a comma-separated list whose default is these phrases joined: none may hold a comma,
	// be blank, or fold to another one.
	seen := map[string]string{}
	for _, p := range DefaultSigningPhrases {
		if strings.Contains(p, ",") || strings.TrimSpace(p) != p || p == "" {
			t.Errorf("default phrase %q cannot round-trip through the setting", p)
		}
		if other, ok := seen[Fold(p)]; ok {
			t.Errorf("default phrases %q and %q are the same once folded", other, p)
		}
		seen[Fold(p)] = p
	}
}

// A caller that changes the list it was given cannot change the defaults every other caller reads.
func TestSigningPhrasesDefaultsCannotBeChangedThroughTheResult(t *testing.T) {
	want := slices.Clone(DefaultSigningPhrases)
	got := SigningPhrases(nil)
	got[0] = "changed"
	if !slices.Equal(DefaultSigningPhrases, want) {
		t.Fatalf("the defaults became %q", DefaultSigningPhrases)
	}
}
