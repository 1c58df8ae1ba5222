package views

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// cssPalettes reads the colour custom properties of the stylesheet: the light ones from the first :root block, the
// dark ones from the block inside prefers-color-scheme: dark, on top of the light ones.
func cssPalettes(t *testing.T) (light, dark map[string]string) {
	t.Helper()
	b, err := staticFS.ReadFile("static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	css := string(b)
	decl := regexp.MustCompile(`--([a-z0-9-]+):\s*(#[0-9a-fA-F]{6})\s*;`)
	parse := func(block string) map[string]string {
		m := map[string]string{}
		for _, d := range decl.FindAllStringSubmatch(block, -1) {
			m[d[1]] = d[2]
		}
		return m
	}
	lightStart := strings.Index(css, ":root {")
	darkStart := strings.Index(css, "@media (prefers-color-scheme: dark)")
	if lightStart < 0 || darkStart < lightStart {
		t.Fatal("stylesheet layout changed: no :root block before the dark scheme")
	}
	light = parse(css[lightStart:darkStart])
	darkEnd := strings.Index(css[darkStart:], "\n}\n")
	dark = map[string]string{}
	for k, v := range light {
		dark[k] = v
	}
	for k, v := range parse(css[darkStart : darkStart+darkEnd]) {
		dark[k] = v
	}
	return light, dark
}

func luminance(hex string) float64 {
	var c [3]float64
	for i := range c {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		s := float64(v) / 255
		if s <= 0.03928 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// Every pairing of text and background the stylesheet uses meets WCAG AA (4.5:1 for body text), in both schemes.
func TestColourContrast(t *testing.T) {
	light, dark := cssPalettes(t)
	pairs := [][2]string{
		{"ink", "paper"}, {"ink", "panel"}, {"muted", "paper"}, {"muted", "panel"},
		{"accent", "paper"}, {"accent", "panel"}, {"accent", "accent-soft"}, {"accent-ink", "accent"},
		{"warm", "paper"}, {"ink", "ins-bg"}, {"ink", "del-bg"}, {"del-line", "paper"}, {"del-line", "panel"},
		{"ink", "accent-soft"},
	}
	for name, pal := range map[string]map[string]string{"light": light, "dark": dark} {
		for _, p := range pairs {
			fg, bg := pal[p[0]], pal[p[1]]
			if fg == "" || bg == "" {
				t.Errorf("%s: --%s or --%s is not a #rrggbb colour", name, p[0], p[1])
				continue
			}
			if c := contrast(fg, bg); c < 4.5 {
				t.Errorf("%s: --%s %s on --%s %s has contrast %.2f, below 4.5", name, p[0], fg, p[1], bg, c)
			}
		}
		// The focus ring must stand out from the page (WCAG non-text contrast, 3:1).
		if c := contrast(pal["focus"], pal["paper"]); c < 3 {
			t.Errorf("%s: focus ring contrast %.2f, below 3", name, c)
		}
	}
}
