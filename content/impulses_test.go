package content

import (
	"fmt"
	"strings"
	"testing"
)

// The impulses as shipped: six lessons and seven measures, numbered in order, each rendered, and the introduction
// before the first section.
func TestShippedImpulses(t *testing.T) {
	imp, err := ParseImpulses(ImpulsesMarkdown())
	if err != nil {
		t.Fatal(err)
	}
	if imp.Title != "Concrètement : quelles mesures pour aujourd’hui et demain ?" {
		t.Errorf("title %q", imp.Title)
	}
	var want []string
	for n := 1; n <= 6; n++ {
		want = append(want, fmt.Sprintf("lesson-%d", n))
	}
	for n := 1; n <= 7; n++ {
		want = append(want, fmt.Sprintf("measure-%d", n))
	}
	if len(imp.Items) != len(want) {
		t.Fatalf("%d items, want %d", len(imp.Items), len(want))
	}
	for i, it := range imp.Items {
		if it.Slug != want[i] || it.Slug != fmt.Sprintf("%s-%d", it.Kind, it.Position) {
			t.Errorf("item %d: %s (%s %d), want %s", i, it.Slug, it.Kind, it.Position, want[i])
		}
		if it.Markdown == "" || !strings.HasPrefix(it.HTML, "<p>") || strings.HasPrefix(it.Markdown, fmt.Sprint(it.Position)) {
			t.Errorf("%s: markdown %q html %q", it.Slug, it.Markdown, it.HTML)
		}
	}
	if m2 := imp.Items[6+1]; !strings.Contains(m2.HTML, `<a href="http://blogfr.p2pfoundation.net/2017/06/09/vers-partenariats-public-communs/">partenariats publics-communs</a>`) {
		t.Errorf("measure 2 lost its link: %s", m2.HTML)
	}
	if !strings.HasPrefix(imp.IntroMD, "La crise actuelle") || strings.Contains(imp.IntroMD, "# ") || strings.Contains(imp.IntroMD, "1. ") {
		t.Errorf("intro: %q", imp.IntroMD)
	}
	if !strings.Contains(imp.IntroHTML, "<blockquote>") || !strings.Contains(imp.IntroHTML, `<a href="https://covid19-open.frama.io/memo/page/memo">mémorandum</a>`) {
		t.Errorf("intro HTML: %s", imp.IntroHTML)
	}
}

// Sections are told apart by their heading, in any case; numbered lines outside them are not impulses; Windows
// line endings change nothing.
func TestParseImpulsesSections(t *testing.T) {
	src := "# Titre\r\n\r\nIntro.\r\n\r\n1. pas une mesure\r\n\r\n## Les ENSEIGNEMENTS\r\n\r\n1. Premier *point*.\r\n2. Second.\r\n\r\n" +
		"## Autre chose\r\n\r\n1. ignoré\r\n\r\n## MESURES\r\n\r\n3. Troisième mesure.\r\n"
	imp, err := ParseImpulses(src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range imp.Items {
		got = append(got, fmt.Sprintf("%s:%d:%s", it.Kind, it.Position, it.HTML))
	}
	want := []string{"lesson:1:<p>Premier <em>point</em>.</p>\n", "lesson:2:<p>Second.</p>\n", "measure:3:<p>Troisième mesure.</p>\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("items:\n%q\nwant\n%q", got, want)
	}
	// What is outside the two sections, under another heading too, is introduction.
	if imp.Title != "Titre" || !strings.HasPrefix(imp.IntroMD, "Intro.\n\n1. pas une mesure") || !strings.Contains(imp.IntroMD, "1. ignoré") ||
		strings.Contains(imp.IntroMD, "Premier") || strings.Contains(imp.IntroMD, "\r") {
		t.Errorf("title %q intro %q", imp.Title, imp.IntroMD)
	}
	if _, err := ParseImpulses("# Titre\n\nRien de numéroté.\n"); err == nil {
		t.Error("a file without lessons or measures was accepted")
	}
}

func TestImpulseTitle(t *testing.T) {
	for _, c := range []struct {
		kind string
		pos  int
		want string
	}{{"lesson", 1, "Enseignement 1"}, {"lesson", 6, "Enseignement 6"}, {"measure", 7, "Mesure 7"}} {
		if got := ImpulseTitle(c.kind, c.pos); got != c.want {
			t.Errorf("ImpulseTitle(%q, %d) = %q, want %q", c.kind, c.pos, got, c.want)
		}
	}
}
