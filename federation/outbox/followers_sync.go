package outbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
)

// FEP-8fcf, followers collection synchronization: a delivery addressed to our followers carries a
// Collection-Synchronization header with the digest of our followers on the receiving server, and that server
// may fetch the list (a signed GET) to drop the follows we no longer have. Mastodon does both ends
// (ActivityPub::DeliveryWorker#synchronization_header, ActivityPub::FollowersSynchronizationsController).

// FollowersSyncPath is where the partial followers collection is served, under the actor, as Mastodon serves it.
const FollowersSyncPath = "/followers_synchronization"

// FollowersSyncURL is the partial followers collection of u's actor.
func FollowersSyncURL(u content.URLs) string { return u.Actor() + FollowersSyncPath }

// FollowersDigest is FEP-8fcf's partial collection digest: the XOR of the SHA-256 of each follower IRI, in
// lower-case hex.
func FollowersDigest(iris []string) string {
	var acc [sha256.Size]byte
	for _, iri := range iris {
		sum := sha256.Sum256([]byte(iri))
		for i := range acc {
			acc[i] ^= sum[i]
		}
	}
	return hex.EncodeToString(acc[:])
}

// FollowersSynchronization returns what the delivery worker asks for each delivery: the Collection-Synchronization
// header for a delivery of body to inbox, or "" when the activity is not addressed to our followers (an
// acknowledgement to one signer, an Accept) or the digest cannot be computed now (the header is optional).
func FollowersSynchronization(u content.URLs, store *storage.Store) func(ctx context.Context, inbox string, body []byte) string {
	return func(ctx context.Context, inbox string, body []byte) string {
		// Most deliveries (acknowledgements, Accepts) never name the followers: no need to decode them.
		if !bytes.Contains(body, []byte(u.Followers())) || !addressedToMemo(body, u.Followers()) {
			return ""
		}
		origin := content.Origin(inbox)
		if origin == "" {
			return ""
		}
		iris, err := store.FollowersOn(ctx, origin)
		if err != nil {
			return ""
		}
		return fmt.Sprintf(`collectionId="%s", url="%s", digest="%s"`, u.Followers(), FollowersSyncURL(u), FollowersDigest(iris))
	}
}

// addressedTo tells whether an activity names collection among its to, cc, bto or bcc.
func addressedTo(body []byte, collection string) bool {
	var a struct {
		To, Cc, Bto, Bcc json.RawMessage
	}
	if json.Unmarshal(body, &a) != nil {
		return false
	}
	for _, raw := range []json.RawMessage{a.To, a.Cc, a.Bto, a.Bcc} {
		for _, iri := range iriListOf(raw) {
			if iri == collection {
				return true
			}
		}
	}
	return false
}

func iriListOf(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	json.Unmarshal(raw, &many)
	return many
}
