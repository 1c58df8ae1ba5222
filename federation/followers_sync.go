package federation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/sigs"
	"github.com/memo-fediverse/memo/storage"
)

// FEP-8fcf, followers collection synchronization: a delivery addressed to our followers carries a
// Collection-Synchronization header with the digest of our followers on the receiving server, and that server
// may fetch the list (a signed GET) to drop the follows we no longer have. Mastodon does both ends
// (ActivityPub::DeliveryWorker#synchronization_header, ActivityPub::FollowersSynchronizationsController).

// followersSyncPath is where the partial followers collection is served, under the actor, as Mastodon serves it.
const followersSyncPath = "/followers_synchronization"

func followersSyncURL(u content.URLs) string { return u.Actor() + followersSyncPath }

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

// originOf is an URL's scheme and authority (scheme://host[:port]), "" when it has none.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme) + "://" + u.Host
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
		origin := originOf(inbox)
		if origin == "" {
			return ""
		}
		iris, err := store.FollowersOn(ctx, origin)
		if err != nil {
			return ""
		}
		return fmt.Sprintf(`collectionId="%s", url="%s", digest="%s"`, u.Followers(), followersSyncURL(u), FollowersDigest(iris))
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

// registerFollowersSync serves the partial followers collection: to a signed GET only (the FEP asks for
// authentication), and only the followers on the signer's own server, as Mastodon does.
func (s *Server) registerFollowersSync(mux *http.ServeMux) {
	mux.HandleFunc("GET /users/{username}"+followersSyncPath, func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("username") != s.cfg.URLs.Username {
			writeError(w, http.StatusNotFound, "no such actor")
			return
		}
		p, err := sigs.ReadRequest(r.Header)
		if err != nil {
			writeError(w, http.StatusUnauthorized, "a signed GET is required: "+err.Error())
			return
		}
		// The list is of the followers on the key's own server. When there are none, there is nothing to protect
		// and no key to fetch: a stranger naming any keyId cannot make us fetch from the host of their choice.
		iris, err := s.store.FollowersOn(r.Context(), originOf(p.KeyID))
		if err != nil {
			s.log.Error("followers synchronization", "err", err)
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		if len(iris) > 0 {
			signer, status, reason := s.signedGET(r)
			if status != 0 {
				writeError(w, status, reason)
				return
			}
			if originOf(signer) != originOf(p.KeyID) {
				writeError(w, http.StatusUnauthorized, "the key's owner is not on the key's server")
				return
			}
		}
		body, err := encodeJSON(topLevel(s.cfg.URLs, map[string]any{
			"id": followersSyncURL(s.cfg.URLs), "type": "OrderedCollection", "totalItems": len(iris), "orderedItems": iris,
		}))
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		w.Header().Set("Content-Type", activityJSONType)
		w.Header().Set("Cache-Control", "private, no-store")
		w.Write(body)
	})
}

// signedGET verifies a GET's draft-cavage signature (over (request-target), host and date, Date within the skew)
// and returns the key's owner, or the status and reason of the refusal.
func (s *Server) signedGET(r *http.Request) (owner string, status int, reason string) {
	p, err := sigs.ReadRequest(r.Header)
	if err != nil {
		return "", http.StatusUnauthorized, "a signed GET is required: " + err.Error()
	}
	if e := p.CheckAlgorithm(); e != nil {
		return "", e.Status, e.Reason
	}
	if e := p.Covers(sigs.GetHeaders); e != nil {
		return "", e.Status, e.Reason
	}
	if !strings.EqualFold(r.Host, s.cfg.URLs.Host()) {
		return "", http.StatusBadRequest, fmt.Sprintf("Host %q is not this server", r.Host)
	}
	date, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil {
		return "", http.StatusUnauthorized, "no valid Date header"
	}
	if skew := time.Since(date); skew > sigs.MaxClockSkew || -skew > sigs.MaxClockSkew {
		return "", http.StatusUnauthorized, "Date too far from our clock"
	}
	actor, pub, _, err := s.inboxes().cfg.Actors.Key(r.Context(), p.KeyID, false)
	if err != nil {
		return "", http.StatusUnauthorized, fmt.Sprintf("cannot get key %s: %v", p.KeyID, err)
	}
	if err := sigs.VerifySignature(r, p, pub); err != nil {
		return "", http.StatusUnauthorized, fmt.Sprintf("bad signature with key %s: %v", p.KeyID, err)
	}
	return actor.IRI, 0, ""
}
