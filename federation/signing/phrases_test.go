package signing

import (
	"strings"
	"testing"
)

func TestPhraseMatrix(t *testing.T) {
	m := MustMatcher(DefaultPhrases)
	mention := `<span class="h-card" translate="no"><a href="https://example.social/@memo" class="u-url mention">@<span>memo</span></a></span> `
	tag := func(name string) string {
		return `<a href="https://example.social/tags/` + name + `" class="mention hashtag" rel="tag">#<span>` + name + `</span></a>`
	}
	cases := []struct {
		name string
		html string
		want bool
	}{
		// French
		{"fr plain", "<p>Je signe</p>", true},
		{"fr capitals", "<p>JE SIGNE !</p>", true},
		{"fr after mention", "<p>" + mention + "je signe</p>", true},
		{"fr in sentence", "<p>" + mention + "Bravo pour ce texte, je signe des deux mains 👏</p>", true},
		{"fr emoji glued", "<p>✍️je signe✍️</p>", true},
		{"fr signé accent", "<p>Signé : Camille</p>", true},
		{"fr signe no accent", "<p>Lu et signe.</p>", true},
		{"fr hashtag link", "<p>" + mention + tag("JeSigne") + "</p>", true},
		{"fr hashtag plain", "<p>#jesigne</p>", true},
		{"fr second paragraph", "<p>Merci.</p><p>Je signe, évidemment.</p>", true},
		{"fr br", "Merci<br>je signe", true},
		{"fr entity apostrophe", "<p>C&#39;est clair&nbsp;: je signe</p>", true},
		{"fr negation ne pas", "<p>Je ne signe pas.</p>", false},
		{"fr negation colloquial", "<p>je signe pas ce truc</p>", false},
		{"fr negation n'", "<p>Moi, jamais je ne signe ça</p>", false},
		{"fr conditional", "<p>Si je signe, que se passe-t-il</p>", false},
		{"fr question", "<p>Est-ce que je signe ?</p>", false},
		{"fr question glued", "<p>je signe?</p>", false},
		{"fr noun signe", "<p>C'est un bon signe pour le libre</p>", false},
		{"fr noun en signe de", "<p>En signe de soutien 💚</p>", false},
		{"fr non comma signs", "<p>Non, je signe !</p>", true},
		{"fr pas de doute after comma", "<p>Je signe, pas de doute</p>", true},
		{"fr signer infinitive", "<p>Je vais le signer demain</p>", false},
		{"fr signature noun", "<p>Ma signature est ailleurs</p>", false},
		{"fr enseigne", "<p>J'enseigne le libre</p>", false},
		{"fr consigne", "<p>Je consigne tout ici</p>", false},
		{"fr only in link", `<p><a href="https://example.org/je-signe">je signe</a></p>`, false},
		{"fr only in mention", `<p><a href="https://example.org/@jesigne" class="u-url mention">@jesigne</a> bonjour</p>`, false},
		// English
		{"en plain", "<p>I sign.</p>", true},
		{"en lower", "<p>i sign</p>", true},
		{"en in sentence", "<p>" + mention + "Great memo, I sign with my organisation!</p>", true},
		{"en hashtag", "<p>Count me in " + tag("ISign") + "</p>", true},
		{"en designer", "<p>I am a designer</p>", false},
		{"en signed", "<p>I signed</p>", false},
		{"en signed up", "<p>I signed up yesterday</p>", false},
		{"en sign up", "<p>I sign up for everything</p>", false},
		{"en sign in", "<p>Every day I sign in to my account</p>", false},
		{"en dont", "<p>I don't sign things like this</p>", false},
		{"en nothing", "<p>Honestly I sign nothing</p>", false},
		{"en not", "<p>No way. I sign? not me</p>", false},
		{"en if", "<p>What happens if I sign</p>", false},
		{"en signature", "<p>my signature</p>", false},
		// German
		{"de plain", "<p>Ich unterschreibe.</p>", true},
		{"de capitals", "<p>ICH UNTERSCHREIBE!</p>", true},
		{"de sentence", "<p>" + mention + "Gute Sache, ich unterschreibe gern</p>", true},
		{"de nicht", "<p>Ich unterschreibe nicht</p>", false},
		{"de nie", "<p>Nie ich unterschreibe so etwas</p>", false},
		{"de wenn", "<p>Wenn ich unterschreibe, was dann</p>", false},
		// Spanish
		{"es plain", "<p>Firmo</p>", true},
		{"es accented sentence", "<p>¡Qué buen texto! Firmo también.</p>", true},
		{"es sí comma", "<p>Sí, firmo</p>", true},
		{"es no", "<p>No firmo esto</p>", false},
		{"es nunca", "<p>Nunca firmo nada</p>", false},
		{"es firmado", "<p>Firmado</p>", false},
		{"es el firmo", "<p>la firma</p>", false},
		// Markup and noise
		{"script ignored", "<script>je signe</script><p>bonjour</p>", false},
		{"broken markup", "<p>je <b>sig</b>ne</p>", true},
		{"bare mention text", "<p>@jesigne@example.org hello</p>", false},
		{"url text", "<p>https://example.org/#jesigne</p>", false},
		{"fullwidth", "<p>ＪＥ ＳＩＧＮＥ</p>", true},
		{"empty", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := Normalize(c.html)
			phrase, got := m.Match(text)
			if got != c.want {
				t.Fatalf("Match(%q) [normalised %q] = %v (phrase %q), want %v", c.html, text, got, phrase, c.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	in := `<p><span class="h-card"><a href="https://a.example/@bob" class="u-url mention">@<span>bob</span></a></span>  Ça   m’a   PLU&nbsp;!</p><p>Voir https://x.example/y et @alice@b.example</p>`
	want := "ca m'a plu !\nvoir et"
	if got := Normalize(in); got != want {
		t.Fatalf("Normalize = %q, want %q", got, want)
	}
}

func TestNewMatcherRejectsEmptyPhrases(t *testing.T) {
	for _, phrases := range [][]string{nil, {""}, {"  ", "je signe"}, {"!!"}} {
		if _, err := NewMatcher(phrases); err == nil {
			t.Errorf("NewMatcher(%q) accepted an empty phrase", phrases)
		}
	}
	m, err := NewMatcher([]string{"J'approuve"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Match(Normalize("<p>j’approuve</p>")); !ok {
		t.Fatal("custom phrase with a typographic apostrophe did not match")
	}
	if _, ok := m.Match(Normalize("<p>je signe</p>")); ok {
		t.Fatal("a custom list must replace the defaults")
	}
}

func TestClassifyUsesSummary(t *testing.T) {
	n := Note{ID: "https://a.example/n/1", Summary: "je signe", Content: "<p>long texte</p>", To: []string{"as:Public"}}
	r := Classify(n, "", MustMatcher(DefaultPhrases))
	if !r.Signature || r.Visibility != Public || !strings.EqualFold(r.Phrase, "je signe") {
		t.Fatalf("Classify = %+v", r)
	}
}
