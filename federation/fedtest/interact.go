package fedtest

import (
	"encoding/json"
	"net/http"
)

// Software is how a simulated instance answers remote interaction: its NodeInfo software name, the path of its
// NodeInfo document, and the templates its WebFinger publishes, as each software publishes them (the sources are
// in FEDERATION.md, "Remote interaction").
type Software struct {
	Name      string // NodeInfo software.name
	NodeInfo  string // path of the NodeInfo 2.x document
	Schema    string // NodeInfo version linked: "2.0" or "2.1"
	Subscribe string // WebFinger http://ostatus.org/schema/1.0/subscribe template path; empty: none
	Intents   map[string]string
}

// The softwares the follow box knows (Soft*, beside the signing Styles), with what they publish.
var (
	SoftMastodon   = Software{Name: "mastodon", NodeInfo: "/nodeinfo/2.0", Schema: "2.0", Subscribe: "/authorize_interaction?uri={uri}"}
	SoftMisskey    = Software{Name: "misskey", NodeInfo: "/nodeinfo/2.1", Schema: "2.1", Subscribe: "/authorize-follow?acct={uri}"}
	SoftSharkey    = Software{Name: "sharkey", NodeInfo: "/nodeinfo/2.1", Schema: "2.1", Subscribe: "/authorize-follow?acct={uri}"}
	SoftPleroma    = Software{Name: "pleroma", NodeInfo: "/nodeinfo/2.1.json", Schema: "2.1", Subscribe: "/ostatus_subscribe?acct={uri}"}
	SoftAkkoma     = Software{Name: "akkoma", NodeInfo: "/nodeinfo/2.1.json", Schema: "2.1", Subscribe: "/ostatus_subscribe?acct={uri}"}
	SoftPeerTube   = Software{Name: "peertube", NodeInfo: "/nodeinfo/2.0.json", Schema: "2.0", Subscribe: "/remote-interaction?uri={uri}"}
	SoftLemmy      = Software{Name: "lemmy", NodeInfo: "/nodeinfo/2.1", Schema: "2.1"}
	SoftGoToSocial = Software{Name: "gotosocial", NodeInfo: "/nodeinfo/2.0", Schema: "2.0"}
	// Friendica also publishes FEP-3b86 intents (src/Module/Xrd.php).
	SoftFriendica = Software{Name: "friendica", NodeInfo: "/nodeinfo/2.0", Schema: "2.0", Subscribe: "/contact/follow?url={uri}",
		Intents: map[string]string{"https://w3id.org/fep/3b86/Follow": "/contact/follow?url={object}"}}
)

// RunAs makes the instance answer WebFinger and NodeInfo as software does.
func (i *Instance) RunAs(s Software) {
	i.mu.Lock()
	i.software = &s
	i.mu.Unlock()
	i.Handle("/.well-known/nodeinfo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(map[string]any{"links": []any{map[string]any{
			"rel": "http://nodeinfo.diaspora.software/ns/schema/" + s.Schema, "href": i.Base + s.NodeInfo,
		}}})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	i.Handle(s.NodeInfo, func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(map[string]any{
			"version":           s.Schema,
			"software":          map[string]any{"name": s.Name, "version": "1.0.0"},
			"protocols":         []string{"activitypub"},
			"services":          map[string]any{"inbound": []any{}, "outbound": []any{}},
			"openRegistrations": false,
			"usage":             map[string]any{"users": map[string]any{"total": 1}},
			"metadata":          map[string]any{},
		})
		w.Header().Set("Content-Type", `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/`+s.Schema+`#"`)
		w.Write(b)
	})
}

// webfingerTemplates are the template links of the instance's WebFinger: Mastodon's subscribe template unless
// RunAs said otherwise.
func (i *Instance) webfingerTemplates() []any {
	i.mu.Lock()
	s := i.software
	i.mu.Unlock()
	if s == nil {
		return []any{map[string]any{"rel": "http://ostatus.org/schema/1.0/subscribe", "template": i.Base + "/authorize_interaction?uri={uri}"}}
	}
	var links []any
	if s.Subscribe != "" {
		links = append(links, map[string]any{"rel": "http://ostatus.org/schema/1.0/subscribe", "template": i.Base + s.Subscribe})
	}
	for rel, path := range s.Intents {
		tmpl := path
		if len(path) > 0 && path[0] == '/' {
			tmpl = i.Base + path
		}
		links = append(links, map[string]any{"rel": rel, "template": tmpl})
	}
	return links
}
