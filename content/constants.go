package content

import "slices"

// Values shared by storage, views, federation and the commands: one definition each, so a page never advertises
// what the inbox does not accept.

// PublicAudience is the ActivityStreams collection that makes an object public (in to) or unlisted (in cc).
const PublicAudience = "https://www.w3.org/ns/activitystreams#Public"

// DefaultSigningPhrases are the phrases that make a reply a signature when MEMO_SIGNING_PHRASES is not set. The
// configured list, not this one, is what the inbox, the pages and the how-to-sign note use.
var DefaultSigningPhrases = []string{"je signe", "signé", "#jesigne", "I sign", "#isign", "firmo", "ich unterschreibe"}

// SigningPhrases is the list in force: the configured phrases, or a copy of DefaultSigningPhrases when none are,
// so that a caller changing its list cannot change the defaults of every other.
func SigningPhrases(configured []string) []string {
	if len(configured) == 0 {
		return slices.Clone(DefaultSigningPhrases)
	}
	return configured
}

// ActivityStreamsContext is the JSON-LD context of every ActivityStreams document.
const ActivityStreamsContext = "https://www.w3.org/ns/activitystreams"
