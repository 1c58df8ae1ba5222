package as

import (
	"context"
)

// Copies is the OrderedCollection of the Copies that relay signatures here, oldest first, by actor, each with
// since when and how many standing signatures it brought. Blocked Copies are left out.
func (o Builder) Copies(ctx context.Context) (map[string]any, error) {
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
