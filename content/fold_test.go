package content

import "testing"

func TestFold(t *testing.T) {
	for in, want := range map[string]string{"Éloïse": "eloise", "JE SIGNÉ": "je signe", "Straße": "strasse", "l’open": "l'open", "ﬁn": "fin"} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlainText(t *testing.T) {
	got := PlainText(`<p>Je signe, depuis <a href="https://x.example">Marseille</a>.</p><script>x</script>`)
	if got != " Je signe, depuis  Marseille .   " {
		t.Errorf("PlainText = %q", got)
	}
}
