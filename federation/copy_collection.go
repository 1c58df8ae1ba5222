package federation

import (
	"context"
	"net/http"
	"net/url"
)

// RegisterCopies serves the collection of known copies at content.URLs.Copies, and hands browsers to pages.
func (s *Server) RegisterCopies(mux *http.ServeMux, pages http.Handler) {
	mux.HandleFunc("GET "+copiesPath(s.cfg.URLs.Copies()), s.negotiated(pages, func(r *http.Request) (map[string]any, error) {
		return s.top(s.objs.copies(r.Context()))
	}))
}

// copies is the OrderedCollection of the copies that relay signatures here, oldest first, by actor, each with
// since when and how many standing signatures it brought. Blocked copies are left out.
func (o objects) copies(ctx context.Context) (map[string]any, error) {
	list, err := o.store.Copies(ctx)
	if err != nil {
		return nil, err
	}
	items := []any{}
	for _, c := range list {
		if c.Blocked {
			continue
		}
		items = append(items, map[string]any{
			"id": c.ActorIRI, "type": "Service", "published": c.Since.UTC().Format("2006-01-02T15:04:05Z"),
			"signatures": c.Signatures,
		})
	}
	return map[string]any{
		"id": o.urls.Copies(), "type": "OrderedCollection", "name": "Copies du mémo",
		"attributedTo": o.urls.Actor(), "totalItems": len(items), "orderedItems": items,
	}, nil
}

func copiesPath(abs string) string {
	u, err := url.Parse(abs)
	if err != nil || u.Path == "" {
		return "/copies"
	}
	return u.Path
}
