package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/tenderpay/tender/engine"
)

// editData is the form that edits a terminal's label or rotates a
// terminal's or account's credentials. Credentials are write-only: the
// form names them but never holds their values.
type editData struct {
	Kind, ID, Label string
	HasLabel        bool
	Keys            []string
}

func withKind(kind string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.SetPathValue("kind", kind)
		h(w, r)
	}
}

func (s *Server) editPage(w http.ResponseWriter, r *http.Request) {
	kind, id := r.PathValue("kind"), r.PathValue("id")
	d := editData{Kind: kind, ID: id}
	switch kind {
	case "terminal":
		t, err := s.eng.GetTerminal(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Label, d.HasLabel = t.Label, true
	case "account":
		if _, err := s.eng.GetAccount(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
	default:
		http.NotFound(w, r)
		return
	}
	keys, err := s.eng.CredentialKeys(r.Context(), kind, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Keys = keys
	s.render(w, r, http.StatusOK, "edit.html", page{Title: "Edit " + kind + " " + id, Nav: "terminals", Data: d})
}

// edit stores the form: a new label, and every credential given a new
// value (an empty field keeps the old one).
func (s *Server) edit(w http.ResponseWriter, r *http.Request) {
	kind, id := r.PathValue("kind"), r.PathValue("id")
	keys, err := s.eng.CredentialKeys(r.Context(), kind, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	creds := map[string]string{}
	for _, k := range keys {
		if v := r.PostFormValue("cred." + k); v != "" {
			creds[k] = v
		}
	}
	if k, v := strings.TrimSpace(r.PostFormValue("new_key")), r.PostFormValue("new_value"); k != "" && v != "" {
		creds[k] = v
	}
	switch kind {
	case "terminal":
		label := strings.TrimSpace(r.PostFormValue("label"))
		_, err = s.eng.UpdateTerminal(r.Context(), id, engine.TerminalChange{Label: &label, Credentials: creds})
	case "account":
		_, err = s.eng.UpdateAccount(r.Context(), id, engine.AccountChange{Credentials: creds})
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rotated := make([]string, 0, len(creds))
	for k := range creds {
		rotated = append(rotated, k)
	}
	s.log.Info("dashboard: "+kind+" changed", "id", id, "credentials_rotated", rotated, "user", authOf(r.Context()).user.ID)
	http.Redirect(w, r, "/dashboard/terminals?saved="+url.QueryEscape(id), http.StatusSeeOther)
}
