package as

import (
	"context"
	"errors"
	"fmt"
	"html"

	"github.com/go-fed/activity/streams"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/storage"
)

// actorSummary is the profile text: what the account is, how to sign, and the licence with its attribution.
func (o Builder) actorSummary() string {
	urls := o.urls
	return fmt.Sprintf(`<p>Ce compte publie le mémorandum « Pour du libre et de l’open en conscience » (2020), ses 6 enseignements et ses 7 mesures, et recueille les signatures de celles et ceux qui le soutiennent.</p>`+
		`<p>Pour signer : répondez au mémo (ou à une de ses impulsions) avec « %s ». La liste des signatures : <a href="%s">%s</a>.</p>`+
		`<p><em>This account publishes a French memorandum on free software, open knowledge and digital commons. To sign it, reply with %s.</em></p>`+
		`<p>Texte sous licence <a href="%s">%s</a>, par %s. Original : <a href="%s">%s</a>.</p>`,
		html.EscapeString(o.SignPhrase()), html.EscapeString(urls.Signatures()), html.EscapeString(urls.Signatures()),
		englishPhrase(o.phrases), content.LicenceURL, content.Licence, html.EscapeString(content.Authors), content.OriginalURL, content.OriginalURL)
}

// englishPhrase quotes the phrase the English sentences suggest: "I sign" when it is configured (the default
// list has it), the first configured phrase otherwise.
func englishPhrase(configured []string) string {
	phrases := content.SigningPhrases(configured)
	for _, p := range phrases {
		if p == "I sign" {
			return "“I sign”"
		}
	}
	return "“" + html.EscapeString(phrases[0]) + "”"
}

// profileFields are the PropertyValue attachments Mastodon shows as a table under the profile.
func (o Builder) profileFields() []any {
	urls := o.urls
	link := func(href, text string) string {
		return fmt.Sprintf(`<a href="%s" rel="me nofollow noopener noreferrer" target="_blank">%s</a>`, html.EscapeString(href), html.EscapeString(text))
	}
	return []any{
		map[string]any{"type": "PropertyValue", "name": "Site", "value": link(urls.Home(), urls.Host())},
		map[string]any{"type": "PropertyValue", "name": "Licence", "value": link(content.LicenceURL, content.Licence)},
		map[string]any{"type": "PropertyValue", "name": "Texte original", "value": link(content.OriginalURL, "covid19-open.frama.io/memo")},
	}
}

// Actor builds the publication's one Actor: a Service (the bot flag in Mastodon) with everything Mastodon reads.
// It depends only on the settings and on revision 1's date, so it is built once revision 1 exists.
func (o Builder) Actor(ctx context.Context) (map[string]any, error) {
	if m, ok := o.cache.get(actorKey); ok {
		return m, nil
	}
	urls := o.urls
	pemText, err := httpsign.PublicKeyPEM(o.publicKey)
	if err != nil {
		return nil, fmt.Errorf("actor: %w", err)
	}
	created, final := content.FirstRevisionDate, false
	if first, err := o.store.Revision(ctx, 1); err == nil {
		created, final = first.PublishedAt, true
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("actor: %w", err)
	}

	a := streams.NewActivityStreamsService()
	a.SetJSONLDId(idProp(urls.Actor()))
	username := streams.NewActivityStreamsPreferredUsernameProperty()
	username.SetXMLSchemaString(urls.Username)
	a.SetActivityStreamsPreferredUsername(username)
	a.SetActivityStreamsName(nameProp(o.displayName))
	a.SetActivityStreamsSummary(summaryProp(o.actorSummary()))
	a.SetActivityStreamsUrl(urlProp(urls.Home()))
	a.SetActivityStreamsPublished(publishedProp(created))

	icon := streams.NewActivityStreamsImage()
	icon.SetActivityStreamsUrl(urlProp(urls.Icon()))
	icon.SetActivityStreamsMediaType(mediaTypeProp("image/png"))
	iconProp := streams.NewActivityStreamsIconProperty()
	iconProp.AppendActivityStreamsImage(icon)
	a.SetActivityStreamsIcon(iconProp)

	inbox := streams.NewActivityStreamsInboxProperty()
	inbox.SetIRI(iri(urls.Inbox()))
	a.SetActivityStreamsInbox(inbox)
	outbox := streams.NewActivityStreamsOutboxProperty()
	outbox.SetIRI(iri(urls.Outbox()))
	a.SetActivityStreamsOutbox(outbox)
	Followers := streams.NewActivityStreamsFollowersProperty()
	Followers.SetIRI(iri(urls.Followers()))
	a.SetActivityStreamsFollowers(Followers)
	Following := streams.NewActivityStreamsFollowingProperty()
	Following.SetIRI(iri(urls.Following()))
	a.SetActivityStreamsFollowing(Following)
	Featured := streams.NewTootFeaturedProperty()
	Featured.SetIRI(iri(urls.Featured()))
	a.SetTootFeatured(Featured)
	discoverable := streams.NewTootDiscoverableProperty()
	discoverable.Set(true)
	a.SetTootDiscoverable(discoverable)

	collections := streams.NewActivityStreamsStreamsProperty()
	collections.AppendIRI(iri(urls.Impulses()))
	collections.AppendIRI(iri(urls.Signatures()))
	a.SetActivityStreamsStreams(collections)

	key := streams.NewW3IDSecurityV1PublicKey()
	key.SetJSONLDId(idProp(urls.KeyID()))
	owner := streams.NewW3IDSecurityV1OwnerProperty()
	owner.SetIRI(iri(urls.Actor()))
	key.SetW3IDSecurityV1Owner(owner)
	keyPem := streams.NewW3IDSecurityV1PublicKeyPemProperty()
	keyPem.Set(pemText)
	key.SetW3IDSecurityV1PublicKeyPem(keyPem)
	keyProp := streams.NewW3IDSecurityV1PublicKeyProperty()
	keyProp.AppendW3IDSecurityV1PublicKey(key)
	a.SetW3IDSecurityV1PublicKey(keyProp)

	m, err := serialize(a)
	if err != nil {
		return nil, err
	}
	// Terms go-fed v1.0.0 does not know, and the arrays GoToSocial expects to stay arrays.
	m["endpoints"] = map[string]any{"sharedInbox": urls.SharedInbox()}
	m["manuallyApprovesFollowers"] = false
	m["indexable"] = true
	m["attributionDomains"] = []string{urls.Host()}
	m["alsoKnownAs"] = []string{}
	m["attachment"] = o.profileFields()
	m["tag"] = []any{}
	m = TopLevel(urls, m)
	if final {
		m = o.cache.put(actorKey, m)
	}
	return m, nil
}

const actorKey = "actor"
