package content

import (
	"fmt"
	"regexp"
	"strings"
)

// Impulse is one lesson or measure, published as its own Note.
type Impulse struct {
	Slug     string // lesson-1 … lesson-6, measure-1 … measure-7
	Kind     string // "lesson" or "measure"
	Position int
	Markdown string
	HTML     string
}

// Impulses holds the parsed impulses file: its intro and the numbered items of its two sections.
type Impulses struct {
	Title     string
	IntroMD   string
	IntroHTML string
	Items     []Impulse
}

var numbered = regexp.MustCompile(`^(\d+)\.\s+(.*)$`)

// ParseImpulses reads the impulses file: items of the numbered list under the "enseignements" heading are lessons,
// those under "Mesures" are measures. Anything else is kept as the introduction.
func ParseImpulses(src string) (Impulses, error) {
	var out Impulses
	kind := ""
	var intro []string
	for _, line := range strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "# "):
			out.Title = strings.TrimSpace(trimmed[2:])
			continue
		case strings.HasPrefix(trimmed, "## "):
			h := strings.ToLower(trimmed)
			switch {
			case strings.Contains(h, "enseignement"):
				kind = "lesson"
			case strings.Contains(h, "mesure"):
				kind = "measure"
			default:
				kind = ""
			}
			continue
		}
		if m := numbered.FindStringSubmatch(trimmed); m != nil && kind != "" {
			var n int
			fmt.Sscan(m[1], &n)
			html, err := Render(m[2])
			if err != nil {
				return out, err
			}
			out.Items = append(out.Items, Impulse{
				Slug: fmt.Sprintf("%s-%d", kind, n), Kind: kind, Position: n, Markdown: m[2], HTML: html,
			})
			continue
		}
		if kind == "" {
			intro = append(intro, line)
		}
	}
	out.IntroMD = strings.TrimSpace(strings.Join(intro, "\n"))
	html, err := Render(out.IntroMD)
	if err != nil {
		return out, err
	}
	out.IntroHTML = html
	if len(out.Items) == 0 {
		return out, fmt.Errorf("impulses: no numbered lessons or measures found")
	}
	return out, nil
}

// ImpulseTitle is the short human label of an impulse, in French.
func ImpulseTitle(kind string, pos int) string {
	if kind == "lesson" {
		return fmt.Sprintf("Enseignement %d", pos)
	}
	return fmt.Sprintf("Mesure %d", pos)
}
