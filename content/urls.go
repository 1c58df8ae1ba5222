package content

import (
	"fmt"
	"net/url"
	"strings"
)

// URLs is the publication's address scheme. Every object is served as HTML and as ActivityPub JSON on the same URL,
// so the web pages and the federation side build their links from this one place.
type URLs struct {
	Base     string // scheme and host, no trailing slash: https://memo.example
	Username string // the actor's preferred username
}

// Host is the public host (with port when not the default), as in acct:USER@HOST.
func (u URLs) Host() string {
	p, err := url.Parse(u.Base)
	if err != nil {
		return strings.TrimPrefix(strings.TrimPrefix(u.Base, "https://"), "http://")
	}
	return p.Host
}

func (u URLs) Home() string          { return u.Base + "/" }
func (u URLs) Actor() string         { return u.Base + "/users/" + u.Username }
func (u URLs) KeyID() string         { return u.Actor() + "#main-key" }
func (u URLs) Inbox() string         { return u.Actor() + "/inbox" }
func (u URLs) SharedInbox() string   { return u.Base + "/inbox" }
func (u URLs) Outbox() string        { return u.Actor() + "/outbox" }
func (u URLs) Followers() string     { return u.Actor() + "/followers" }
func (u URLs) Following() string     { return u.Actor() + "/following" }
func (u URLs) Featured() string      { return u.Actor() + "/featured" }
func (u URLs) Memo() string          { return u.Base + "/memo" }
func (u URLs) Revisions() string     { return u.Base + "/memo/revisions" }
func (u URLs) Revision(n int) string { return fmt.Sprintf("%s/memo/revisions/%d", u.Base, n) }
func (u URLs) Diff(from, to int) string {
	return fmt.Sprintf("%s/memo/diff?from=%d&to=%d", u.Base, from, to)
}
func (u URLs) Impulses() string           { return u.Base + "/impulses" }
func (u URLs) Impulse(slug string) string { return u.Base + "/impulses/" + slug }
func (u URLs) Signatures() string         { return u.Base + "/signatures" }
func (u URLs) Signature(id int64) string  { return fmt.Sprintf("%s/signatures/%d", u.Base, id) }
func (u URLs) Note(slug string) string    { return u.Base + "/notes/" + slug }
func (u URLs) Activity(id int64) string   { return fmt.Sprintf("%s/activities/%d", u.Base, id) }
func (u URLs) About() string              { return u.Base + "/about" }
func (u URLs) Copies() string             { return u.Base + "/copies" }
func (u URLs) Feed() string               { return u.Base + "/feed.atom" }
func (u URLs) Icon() string               { return u.Base + "/static/icon.png" }
func (u URLs) Tag(name string) string {
	return u.Base + "/tags/" + url.PathEscape(strings.ToLower(name))
}

// Replies, Likes and Shares are the interaction collections of any of our objects.
func Replies(objectIRI string) string { return objectIRI + "/replies" }
func Likes(objectIRI string) string   { return objectIRI + "/likes" }
func Shares(objectIRI string) string  { return objectIRI + "/shares" }

// HowToSignSlug names the pinned note that explains how to sign.
const HowToSignSlug = "how-to-sign"

// OriginURLs reads the address scheme of an origin from its actor IRI: an origin runs this software, whose actor
// is BASE/users/NAME.
func OriginURLs(actorIRI string) (URLs, error) {
	u, err := url.Parse(actorIRI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return URLs{}, fmt.Errorf("origin actor %q is not an http(s) URL", actorIRI)
	}
	name, ok := strings.CutPrefix(u.Path, "/users/")
	if !ok || name == "" || strings.Contains(name, "/") || u.RawQuery != "" {
		return URLs{}, fmt.Errorf("origin actor %q is not a memo actor (BASE/users/NAME)", actorIRI)
	}
	return URLs{Base: u.Scheme + "://" + u.Host, Username: name}, nil
}

// Origin is an URL's scheme and authority (scheme://host[:port]), "" when it has none.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme) + "://" + u.Host
}
