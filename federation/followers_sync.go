package federation

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/as"
	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/federation/outbox"
)

// followersSync serves the partial followers collection: to a signed GET only (the FEP asks for
// authentication), and only the followers on the signer's own server, as Mastodon does.
func (s *Server) followersSync() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("username") != s.cfg.URLs.Username {
			writeError(w, http.StatusNotFound, "no such actor")
			return
		}
		p, err := httpsign.ReadRequest(r.Header)
		if err != nil {
			writeError(w, http.StatusUnauthorized, "a signed GET is required: "+err.Error())
			return
		}
		// The list is of the followers on the key's own server. When there are none, there is nothing to protect
		// and no key to fetch: a stranger naming any keyId cannot make us fetch from the host of their choice.
		iris, err := s.store.FollowersOn(r.Context(), content.Origin(p.KeyID))
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
			if content.Origin(signer) != content.Origin(p.KeyID) {
				writeError(w, http.StatusUnauthorized, "the key's owner is not on the key's server")
				return
			}
		}
		body, err := as.EncodeJSON(as.TopLevel(s.cfg.URLs, map[string]any{
			"id": outbox.FollowersSyncURL(s.cfg.URLs), "type": "OrderedCollection", "totalItems": len(iris), "orderedItems": iris,
		}))
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		w.Header().Set("Content-Type", activityJSONType)
		w.Header().Set("Cache-Control", "private, no-store")
		w.Write(body)
	}
}

// signedGET verifies a GET's draft-cavage signature (over (request-target), host and date, Date within the skew)
// and returns the key's owner, or the status and reason of the refusal.
func (s *Server) signedGET(r *http.Request) (owner string, status int, reason string) {
	p, err := httpsign.ReadRequest(r.Header)
	if err != nil {
		return "", http.StatusUnauthorized, "a signed GET is required: " + err.Error()
	}
	if e := p.CheckAlgorithm(); e != nil {
		return "", e.Status, e.Reason
	}
	if e := p.Covers(httpsign.GetHeaders); e != nil {
		return "", e.Status, e.Reason
	}
	if !strings.EqualFold(r.Host, s.cfg.URLs.Host()) {
		return "", http.StatusBadRequest, fmt.Sprintf("Host %q is not this server", r.Host)
	}
	date, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil {
		return "", http.StatusUnauthorized, "no valid Date header"
	}
	if skew := time.Since(date); skew > httpsign.MaxClockSkew || -skew > httpsign.MaxClockSkew {
		return "", http.StatusUnauthorized, "Date too far from our clock"
	}
	actor, pub, _, err := s.actors.Key(r.Context(), p.KeyID, false)
	if err != nil {
		return "", http.StatusUnauthorized, fmt.Sprintf("cannot get key %s: %v", p.KeyID, err)
	}
	if err := httpsign.VerifySignature(r, p, pub); err != nil {
		return "", http.StatusUnauthorized, fmt.Sprintf("bad signature with key %s: %v", p.KeyID, err)
	}
	return actor.IRI, 0, ""
}
