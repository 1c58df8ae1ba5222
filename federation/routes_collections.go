package federation

import (
	"net/http"
	"net/url"

	"github.com/memo-fediverse/memo/federation/as"
)

// signaturesDoc is the signatures collection, or one of its pages.
func (s *Server) signaturesDoc(r *http.Request) (map[string]any, error) {
	m, err := s.top(s.objs.Signatures(r.Context(), r.URL.Query()))
	if err != nil {
		return nil, err
	}
	return as.WithSignatureContext(m), nil
}

// signatureDoc is one public signature.
func (s *Server) signatureDoc(r *http.Request) (map[string]any, error) {
	m, err := s.top(s.objs.Signature(r.Context(), r.PathValue("id")))
	if err != nil {
		return nil, err
	}
	return as.WithSignatureContext(m), nil
}

// RegisterCopies serves the collection of known copies at content.URLs.Copies, and hands browsers to pages.
func (s *Server) RegisterCopies(mux *http.ServeMux, pages http.Handler) {
	mux.HandleFunc("GET "+copiesPath(s.cfg.URLs.Copies()), s.negotiated(pages, func(r *http.Request) (map[string]any, error) {
		return s.top(s.objs.Copies(r.Context()))
	}))
}

func copiesPath(abs string) string {
	u, err := url.Parse(abs)
	if err != nil || u.Path == "" {
		return "/copies"
	}
	return u.Path
}
