package views

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// locale is one interface language: its catalogue and how it writes dates and counts. The memo text itself is
// always French; only the interface around it changes.
type locale struct {
	Tag      string // the html lang attribute
	OGLocale string // Open Graph's language_TERRITORY form
	strings  map[string]string
	months   [12]string
}

var (
	french  = &locale{Tag: "fr", OGLocale: "fr_FR", strings: frStrings, months: [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}}
	english = &locale{Tag: "en", OGLocale: "en_GB", strings: enStrings, months: [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}}
)

// T returns the interface string for key. A missing key shows up as itself on the page (and a test checks that
// both catalogues have the same keys), rather than breaking the render.
func (l *locale) T(key string) string {
	if s, ok := l.strings[key]; ok {
		return s
	}
	return key
}

// F formats the string for key with args.
func (l *locale) F(key string, args ...any) string { return fmt.Sprintf(l.T(key), args...) }

// Count writes n with the singular or plural form of key (key+".one" / key+".other"). French treats 0 and 1 as
// singular, English only 1.
func (l *locale) Count(key string, n int) string {
	form := ".other"
	if n == 1 || (l == french && n == 0) {
		form = ".one"
	}
	return fmt.Sprintf(l.T(key+form), n)
}

// Date writes a day in the reader's language: « 3 mai 2020 », "3 May 2020".
func (l *locale) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	day := strconv.Itoa(t.Day())
	if l == french && t.Day() == 1 {
		day = "1er"
	}
	return fmt.Sprintf("%s %s %d", day, l.months[t.Month()-1], t.Year())
}

// ISO is the machine-readable form for <time datetime>.
func (l *locale) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// negotiateLocale picks French or English from Accept-Language. It honours q-values (q=0 refuses a language),
// matches on the primary subtag (en-GB is English) and falls back to French, the publication's language, when the
// header is absent, unparseable or names neither.
func negotiateLocale(header string) *locale {
	best, bestQ := french, -1.0
	for _, part := range strings.Split(header, ",") {
		fields := strings.Split(strings.TrimSpace(part), ";")
		tag := strings.ToLower(strings.TrimSpace(fields[0]))
		if tag == "" {
			continue
		}
		q := 1.0
		for _, p := range fields[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || strings.TrimSpace(strings.ToLower(k)) != "q" {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				f = 0
			}
			q = f
		}
		if q <= 0 {
			continue
		}
		primary, _, _ := strings.Cut(tag, "-")
		var l *locale
		switch primary {
		case "fr":
			l = french
		case "en":
			l = english
		case "*":
			l = french
		default:
			continue
		}
		// Strictly greater: on equal q the language listed first wins.
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

func localeFor(r *http.Request) *locale { return negotiateLocale(r.Header.Get("Accept-Language")) }
