package federation

import (
	"errors"
	"net/http"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/as"
	"github.com/memo-fediverse/memo/federation/outbox"
)

// route is a pattern of the mux and what serves it.
type route struct {
	pattern string
	handler http.Handler
}

// routes lists the discovery documents, the actor and its collections, our objects with the replies, likes and
// shares of each, and the signatures. Documents are negotiated: pages serves whoever does not ask for ActivityPub JSON.
func (s *Server) routes(pages http.Handler) []route {
	doc := func(pattern string, build objectHandler) route { return route{pattern, s.negotiated(pages, build)} }
	return []route{
		{"GET /.well-known/webfinger", http.HandlerFunc(s.handleWebfinger)},
		{"GET /.well-known/host-meta", http.HandlerFunc(s.handleHostMeta)},
		{"GET /.well-known/host-meta.json", http.HandlerFunc(s.handleHostMetaJSON)},
		{"GET /.well-known/nodeinfo", http.HandlerFunc(s.handleNodeInfoIndex)},
		{"GET /nodeinfo/2.0", s.handleNodeInfo("2.0")},
		{"GET /nodeinfo/2.1", s.handleNodeInfo("2.1")},

		{"GET /users/{username}", s.actorHandler(pages)},
		doc("GET /users/{username}/outbox", s.actorCollection(s.outboxDoc)),
		doc("GET /users/{username}/followers", s.actorCollection(s.followersDoc)),
		doc("GET /users/{username}/following", s.actorCollection(s.followingDoc)),
		doc("GET /users/{username}/featured", s.actorCollection(s.featuredDoc)),

		doc("GET /memo", s.memoDoc),
		doc("GET /memo/replies", s.replies(s.memoIRI)),
		doc("GET /memo/likes", s.counted(s.memoIRI, "likes")),
		doc("GET /memo/shares", s.counted(s.memoIRI, "shares")),
		doc("GET /memo/revisions", s.revisionsDoc),
		doc("GET /memo/revisions/{n}", s.revisionDoc),
		doc("GET /memo/revisions/{n}/replies", s.replies(s.revisionIRI)),
		doc("GET /memo/revisions/{n}/likes", s.counted(s.revisionIRI, "likes")),
		doc("GET /memo/revisions/{n}/shares", s.counted(s.revisionIRI, "shares")),

		doc("GET /impulses", s.impulsesDoc),
		doc("GET /impulses/{slug}", s.impulseDoc),
		doc("GET /impulses/{slug}/replies", s.replies(s.impulseIRI)),
		doc("GET /impulses/{slug}/likes", s.counted(s.impulseIRI, "likes")),
		doc("GET /impulses/{slug}/shares", s.counted(s.impulseIRI, "shares")),

		doc("GET /notes/{slug}", s.noteDoc),
		doc("GET /notes/{slug}/replies", s.replies(s.noteIRI)),
		doc("GET /notes/{slug}/likes", s.counted(s.noteIRI, "likes")),
		doc("GET /notes/{slug}/shares", s.counted(s.noteIRI, "shares")),

		doc("GET /signatures", s.signaturesDoc),
		doc("GET /signatures/{id}", s.signatureDoc),

		{"GET /activities/{name}", s.storedActivities(pages)},
		{"GET /users/{username}" + outbox.FollowersSyncPath, s.followersSync()},
	}
}

// actorCollection serves one of the actor's collections, under the actor's name only.
func (s *Server) actorCollection(build objectHandler) objectHandler {
	return func(r *http.Request) (map[string]any, error) {
		if r.PathValue("username") != s.cfg.URLs.Username {
			return nil, as.NotFound("no actor %q here", r.PathValue("username"))
		}
		return s.top(build(r))
	}
}

func (s *Server) outboxDoc(r *http.Request) (map[string]any, error) {
	return s.objs.Outbox(r.Context(), r.URL.Query())
}

func (s *Server) followersDoc(r *http.Request) (map[string]any, error) {
	return s.objs.Followers(r.Context(), r.URL.Query())
}

func (s *Server) followingDoc(r *http.Request) (map[string]any, error) {
	return s.objs.Following(r.Context(), r.URL.Query())
}

func (s *Server) featuredDoc(r *http.Request) (map[string]any, error) {
	return s.objs.Featured(r.Context())
}

func (s *Server) memoDoc(r *http.Request) (map[string]any, error) {
	return s.top(s.objs.MemoArticle(r.Context()))
}

func (s *Server) revisionsDoc(r *http.Request) (map[string]any, error) {
	return s.top(s.objs.Revisions(r.Context()))
}

func (s *Server) revisionDoc(r *http.Request) (map[string]any, error) {
	n, err := as.RevisionNumber(r)
	if err != nil {
		return nil, err
	}
	return s.top(s.objs.RevisionArticle(r.Context(), n))
}

func (s *Server) impulsesDoc(r *http.Request) (map[string]any, error) {
	return s.top(s.objs.Impulses(r.Context()))
}

func (s *Server) impulseDoc(r *http.Request) (map[string]any, error) {
	return s.top(s.objs.Impulse(r.Context(), r.PathValue("slug")))
}

func (s *Server) noteDoc(r *http.Request) (map[string]any, error) {
	return s.top(s.objs.Note(r.Context(), r.PathValue("slug")))
}

// objectIRI names the object a request's path is under, once it is known to exist and to be shown.
type objectIRI func(r *http.Request) (string, error)

// replies serves the replies collection of the object at the request's path.
func (s *Server) replies(object objectIRI) objectHandler {
	return func(r *http.Request) (map[string]any, error) {
		id, err := object(r)
		if err != nil {
			return nil, err
		}
		return s.top(s.objs.Replies(r.Context(), id, r.URL.Query()))
	}
}

// counted serves the likes or the shares of the object at the request's path: counts only, no list of who.
func (s *Server) counted(object objectIRI, kind string) objectHandler {
	return func(r *http.Request) (map[string]any, error) {
		id, err := object(r)
		if err != nil {
			return nil, err
		}
		return s.top(s.objs.CountOnly(r.Context(), id, kind))
	}
}

func (s *Server) memoIRI(r *http.Request) (string, error) {
	if _, err := s.store.CurrentRevision(r.Context()); err != nil {
		return "", as.StoreErr(err, "the memo is not published yet")
	}
	return s.cfg.URLs.Memo(), nil
}

func (s *Server) revisionIRI(r *http.Request) (string, error) {
	n, err := as.RevisionNumber(r)
	if err != nil {
		return "", err
	}
	if _, err := s.store.Revision(r.Context(), n); err != nil {
		return "", as.StoreErr(err, "no revision %d", n)
	}
	return s.cfg.URLs.Revision(n), nil
}

func (s *Server) impulseIRI(r *http.Request) (string, error) {
	imp, err := s.store.Impulse(r.Context(), r.PathValue("slug"))
	if err != nil || imp.Retracted() {
		return "", as.StoreErr(orNotFound(err), "no impulse %q", r.PathValue("slug"))
	}
	return s.cfg.URLs.Impulse(imp.Slug), nil
}

func (s *Server) noteIRI(r *http.Request) (string, error) {
	n, err := s.store.NoteBySlug(r.Context(), r.PathValue("slug"))
	if err != nil || !n.Public || n.Deleted() {
		return "", as.StoreErr(orNotFound(err), "no note %q", r.PathValue("slug"))
	}
	return s.cfg.URLs.Note(n.Slug), nil
}

// storedActivities serves our activities to ActivityPub clients, and their pages to everyone else.
func (s *Server) storedActivities(pages http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		if !content.WantsActivityJSON(r) {
			pages.ServeHTTP(w, r)
			return
		}
		s.serveStoredActivity(w, r)
	})
}

// serveStoredActivity answers an activity's stored body byte for byte: what was delivered is what is fetched.
func (s *Server) serveStoredActivity(w http.ResponseWriter, r *http.Request) {
	body, err := s.objs.StoredActivity(r.Context(), r.PathValue("name"))
	var p *as.Problem
	switch {
	case errors.As(err, &p):
		writeError(w, p.Status, p.Reason)
	case err != nil:
		s.log.Error("stored activity", "name", r.PathValue("name"), "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	default:
		w.Header().Set("Content-Type", activityJSONType)
		w.Header().Set("Cache-Control", cacheControl)
		w.Write(body)
	}
}
