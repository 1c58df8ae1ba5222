package signing

import (
	"encoding/json"
	"fmt"
	"html"
	"strings"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// Acknowledgement builds the note the memo actor sends back to a signer. Mastodon notifies only when the signer
// is both mentioned (a Mention tag) and in to. It is never more visible than the reply: a public or unlisted
// signature gets an unlisted answer (the public collection in cc), a private one a direct answer (the signer
// only). The slug includes the signing time, so signing again after a withdrawal gets a new acknowledgement.
func Acknowledgement(urls content.URLs, g storage.Signature) (storage.Note, error) {
	to := []string{g.ActorIRI}
	cc := []string{}
	if g.Listed() {
		cc = append(cc, content.PublicAudience)
	}
	tags := []map[string]string{{"type": "Mention", "href": g.ActorIRI, "name": g.Handle}}
	toJSON, _ := json.Marshal(to)
	ccJSON, _ := json.Marshal(cc)
	tagsJSON, err := json.Marshal(tags)
	if err != nil {
		return storage.Note{}, fmt.Errorf("acknowledgement tags: %w", err)
	}
	profile := g.ProfileURL
	if profile == "" {
		profile = g.ActorIRI
	}
	user := strings.TrimPrefix(g.Handle, "@")
	if i := strings.Index(user, "@"); i > 0 {
		user = user[:i]
	}
	mention := fmt.Sprintf(`<span class="h-card" translate="no"><a href="%s" class="u-url mention">@<span>%s</span></a></span>`,
		html.EscapeString(profile), html.EscapeString(user))
	sigURL := html.EscapeString(urls.Signature(g.ID))
	var privacy string
	if !g.Listed() {
		privacy = " Elle est privée : comptée, jamais affichée avec votre nom. / It is private: counted, never listed by name."
	}
	body := fmt.Sprintf(`<p>%s Merci ! Votre signature n° %d est enregistrée : <a href="%s">%s</a>.%s</p>`+
		`<p>Pour la retirer, supprimez votre réponse, ou modifiez-la sans la formule de signature.</p>`+
		`<p>Thank you! Your signature no. %d is recorded. To withdraw it, delete your reply, or edit it to remove the signing phrase.</p>`,
		mention, g.ID, sigURL, sigURL, privacy, g.ID)
	// A signer who withdraws and signs again gets a new acknowledgement: the slug names the reception, which is
	// unique to each signing reply (the signature's date may be the reply's own, to the second).
	at := g.ReceivedAt
	if at.IsZero() {
		at = g.SignedAt
	}
	return storage.Note{
		Slug:      fmt.Sprintf("ack-%d-%d", g.ID, at.UnixMilli()),
		Kind:      storage.NoteAcknowledgement,
		Content:   body,
		InReplyTo: g.NoteIRI,
		ToJSON:    string(toJSON),
		CcJSON:    string(ccJSON),
		Tags:      string(tagsJSON),
		To:        to,
		Cc:        cc,
		Public:    false,
	}, nil
}
