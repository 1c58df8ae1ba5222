package signing

import "strings"

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

// isPublicCollection recognises the three spellings of the public collection found in the wild.
func isPublicCollection(iri string) bool {
	switch iri {
	case "https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public":
		return true
	}
	return false
}

// VisibilityOf reads a note's addressing the way Mastodon does. followers is the author's followers collection
// from their actor document; when it is unknown, a recipient ending in "/followers" stands for it (Mastodon,
// Pleroma, Misskey and GoToSocial all name it so).
func VisibilityOf(n Note, followers string) Visibility {
	for _, to := range n.To {
		if isPublicCollection(to) {
			return Public
		}
	}
	for _, cc := range n.Cc {
		if isPublicCollection(cc) {
			return Unlisted
		}
	}
	if n.DirectMessage {
		return Direct
	}
	for _, r := range append(append([]string{}, n.To...), n.Cc...) {
		if (followers != "" && r == followers) || (followers == "" && strings.HasSuffix(r, "/followers")) {
			return Followers
		}
	}
	return Direct
}
