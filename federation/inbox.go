package federation

import "net/http"

// registerInbox adds the actor's inbox and the shared inbox to mux.
func (s *Server) registerInbox(mux *http.ServeMux) {
	refuse := func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "inbox not available yet", http.StatusNotImplemented)
	}
	mux.HandleFunc("POST /inbox", refuse)
	mux.HandleFunc("POST /users/{username}/inbox", refuse)
}
