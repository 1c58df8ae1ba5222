package federation

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/as"
)

// Discovery: WebFinger (how `@memo@HOST` is found), host-meta (its older pointer) and NodeInfo (what software
// runs here). These answer JSON or XML whatever the Accept header says: they have no HTML form.

const (
	relSelf        = "self"
	relProfilePage = "http://webfinger.net/rel/profile-page"
	relSubscribe   = "http://ostatus.org/schema/1.0/subscribe"
	relAvatar      = "http://webfinger.net/rel/avatar"

	nodeInfo20 = "http://nodeinfo.diaspora.software/ns/schema/2.0"
	nodeInfo21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"
)

// webfingerLink is one entry of a JRD's links.
type webfingerLink struct {
	Rel      string `json:"rel"`
	Type     string `json:"type,omitempty"`
	Href     string `json:"href,omitempty"`
	Template string `json:"template,omitempty"`
}

// webfingerDoc is the JRD answered for our one actor.
type webfingerDoc struct {
	Subject string          `json:"subject"`
	Aliases []string        `json:"aliases"`
	Links   []webfingerLink `json:"links"`
}

// hostMeta is the XRD document pointing at WebFinger, still read by some older software.
type hostMeta struct {
	XMLName xml.Name `xml:"XRD"`
	XMLNS   string   `xml:"xmlns,attr"`
	Link    struct {
		Rel      string `xml:"rel,attr"`
		Type     string `xml:"type,attr"`
		Template string `xml:"template,attr"`
	} `xml:"Link"`
}

func (s *Server) lrddTemplate() string {
	return s.cfg.URLs.Base + "/.well-known/webfinger?resource={uri}"
}

func (s *Server) handleHostMeta(w http.ResponseWriter, r *http.Request) {
	doc := hostMeta{XMLNS: "http://docs.oasis-open.org/ns/xri/xrd-1.0"}
	doc.Link.Rel, doc.Link.Type, doc.Link.Template = "lrdd", "application/jrd+json", s.lrddTemplate()
	body, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", cacheControl)
	w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	w.Write(body)
	w.Write([]byte("\n"))
}

func (s *Server) handleHostMetaJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", cacheControl)
	writeJSON(w, http.StatusOK, "application/json; charset=utf-8", map[string]any{
		"links": []webfingerLink{{Rel: "lrdd", Type: "application/jrd+json", Template: s.lrddTemplate()}},
	})
}

func (s *Server) handleNodeInfoIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", cacheControl)
	base := s.cfg.URLs.Base
	writeJSON(w, http.StatusOK, "application/json; charset=utf-8", map[string]any{
		"links": []map[string]string{
			{"rel": nodeInfo20, "href": base + "/nodeinfo/2.0"},
			{"rel": nodeInfo21, "href": base + "/nodeinfo/2.1"},
		},
	})
}

// nodeInfo builds the NodeInfo document in version "2.0" or "2.1" (2.1 adds the software's repository and home
// page). Usage is counted from the database on each request.
func (s *Server) nodeInfo(ctx context.Context, version string) (map[string]any, error) {
	posts, err := s.store.PublishedObjectCount(ctx)
	if err != nil {
		return nil, fmt.Errorf("nodeinfo: %w", err)
	}
	software := map[string]any{"name": "memo", "version": s.cfg.Version}
	if version == "2.1" {
		software["repository"] = "https://github.com/memo-fediverse/memo"
		software["homepage"] = s.cfg.URLs.About()
	}
	return map[string]any{
		"version":           version,
		"software":          software,
		"protocols":         []string{"activitypub"},
		"services":          map[string]any{"inbound": []string{}, "outbound": []string{"atom1.0"}},
		"openRegistrations": false,
		"usage": map[string]any{
			"users":      map[string]int{"total": 1, "activeMonth": 1, "activeHalfyear": 1},
			"localPosts": posts,
		},
		"metadata": map[string]any{
			"nodeName":        s.cfg.DisplayName,
			"nodeDescription": "Le mémorandum « Pour du libre et de l’open en conscience », à suivre et à signer depuis le fédivers.",
		},
	}, nil
}

func (s *Server) handleNodeInfo(version string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		doc, err := s.nodeInfo(r.Context(), version)
		if err != nil {
			s.log.Error("nodeinfo", "err", err)
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Cache-Control", cacheControl)
		profile := nodeInfo20
		if version == "2.1" {
			profile = nodeInfo21
		}
		writeJSON(w, http.StatusOK, `application/json; profile="`+profile+`#"`, doc)
	}
}

// actorHandler serves the actor as any negotiated document, but from its kept encoding once there is one:
// every peer that checks one of our signatures asks for it.
func (s *Server) actorHandler(pages http.Handler) http.HandlerFunc {
	doc := s.negotiated(pages, s.handleActor)
	return func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("username") == s.cfg.URLs.Username && content.WantsActivityJSON(r) {
			if write := s.objs.KeptActor(); write != nil {
				h := w.Header()
				h.Add("Vary", "Accept")
				h.Set("Cache-Control", cacheControl)
				write(w, r, http.StatusOK, activityJSONType)
				return
			}
		}
		doc(w, r)
	}
}

func (s *Server) handleActor(r *http.Request) (map[string]any, error) {
	if r.PathValue("username") != s.cfg.URLs.Username {
		return nil, as.NotFound("no actor %q here; this server has only %s", r.PathValue("username"), s.cfg.URLs.Actor())
	}
	return s.objs.Actor(r.Context())
}
