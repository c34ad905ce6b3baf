package api

import (
	"net/http"
)

// pauseSubscription and resumeSubscription ask the provider to stop or
// restart the schedule of a subscription's first payment (see
// engine.SetSubscriptionPaused). A provider that did not confirm is an
// error, but the request stays recorded and Tender sends it again; a
// retry with the same Idempotency-Key asks again.
func (s *Server) pauseSubscription(w http.ResponseWriter, r *http.Request) {
	s.setSubscriptionPaused(w, r, true)
}

func (s *Server) resumeSubscription(w http.ResponseWriter, r *http.Request) {
	s.setSubscriptionPaused(w, r, false)
}

func (s *Server) setSubscriptionPaused(w http.ResponseWriter, r *http.Request, paused bool) {
	id := r.PathValue("id")
	s.idempotent(w, r, func(body []byte, _ string) result {
		var req struct{}
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		p, err := s.eng.SetSubscriptionPaused(r.Context(), id, paused)
		if err != nil {
			return result{err: err, payment: id}
		}
		return result{status: http.StatusOK, v: s.prov.payment(p)}
	})
}
