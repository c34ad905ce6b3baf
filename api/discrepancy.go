package api

import (
	"net/http"
)

type resolveRequest struct {
	Note string `json:"note"`
}

// resolveDiscrepancy clears a payment's discrepancy once a person has
// looked at it (see engine.ResolveDiscrepancy).
func (s *Server) resolveDiscrepancy(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.idempotent(w, r, func(body []byte, _ string) result {
		var req resolveRequest
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		p, err := s.eng.ResolveDiscrepancy(r.Context(), id, req.Note)
		if err != nil {
			return result{err: err, payment: id}
		}
		return result{status: http.StatusOK, v: s.prov.payment(p)}
	})
}
