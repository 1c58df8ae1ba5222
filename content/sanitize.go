package content

import "github.com/microcosm-cc/bluemonday"

var remotePolicy = bluemonday.UGCPolicy()

// SanitizeHTML keeps remote HTML (a reply, an origin's changelog) safe to show on our pages.
func SanitizeHTML(html string) string { return remotePolicy.Sanitize(html) }
