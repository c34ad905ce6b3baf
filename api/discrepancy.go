package api

import (
	"net/http"

	"github.com/tenderpay/tender"
)

type resolveRequest struct {
	Note   string        `json:"note"`
	Status tender.Status `json:"status"`
}

// resolveDiscrepancy clears a payment's discrepancy once a person has
// looked at it, and settles a payment in doubt with the status they found
// (see engine.ResolveDiscrepancy).
func (s *Server) resolveDiscrepancy(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.idempotent(w, r, func(body []byte, _ string) result {
		var req resolveRequest
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		p, err := s.eng.ResolveDiscrepancy(r.Context(), id, req.Note, req.Status)
		if err != nil {
			return result{err: err, payment: id}
		}
		return result{status: http.StatusOK, v: s.prov.payment(p)}
	})
}
