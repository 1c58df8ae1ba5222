package signing

import (
	"strings"

	"github.com/memo-fediverse/memo/content"
)

// Visibility is who a reply was addressed to, as Mastodon names it.
type Visibility string

const (
	Public    Visibility = "public"
	Unlisted  Visibility = "unlisted"
	Followers Visibility = "followers"
	Direct    Visibility = "direct"
)

// IsPublic tells whether a signature with this visibility may be listed by name.
func (v Visibility) IsPublic() bool { return v == Public || v == Unlisted }

// IsPublicAudience recognises the three spellings of the public collection found in the wild: the full IRI, and
// the compact "as:Public" and "Public" that JSON-LD compaction produces (Pleroma and older Mastodon send them).
func IsPublicAudience(iri string) bool {
	switch iri {
	case content.PublicAudience, "as:Public", "Public":
		return true
	}
	return false
}

// VisibilityOf reads a note's addressing; see Addressed.
func VisibilityOf(n Note, followers string) Visibility {
	return Addressed(n.To, n.Cc, n.DirectMessage, followers)
}

// Addressed is the one reading of an object's audience, used for signatures, stored replies, interactions and
// the checks on forwarded notes. It follows Mastodon (status_parser.rb, visibility_from_audience):
//   - Pleroma's directMessage: true is direct whatever else is addressed (it is never more public than it says);
//   - the public collection in to is public, in cc only unlisted;
//   - the author's followers collection in to or cc is followers-only. followers is that collection from the
//     author's actor document; when it is unknown, a recipient ending in "/followers" stands for it (Mastodon,
//     Pleroma, Misskey and GoToSocial all name it so);
//   - anything else, an empty to and cc included, is direct: what names no audience is never public.
func Addressed(to, cc []string, directMessage bool, followers string) Visibility {
	if directMessage {
		return Direct
	}
	for _, r := range to {
		if IsPublicAudience(r) {
			return Public
		}
	}
	for _, r := range cc {
		if IsPublicAudience(r) {
			return Unlisted
		}
	}
	for _, list := range [][]string{to, cc} {
		for _, r := range list {
			if (followers != "" && r == followers) || (followers == "" && strings.HasSuffix(r, "/followers")) {
				return Followers
			}
		}
	}
	return Direct
}
