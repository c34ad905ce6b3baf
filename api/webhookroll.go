package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

// rollWebhookSecret gives an endpoint a new secret, shown in this response
// only; the old one keeps signing (next to the new) for 24 hours.
func (s *Server) rollWebhookSecret(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var secret string // never part of the stored response
	s.idempotentThen(w, r, func(body []byte, _ string) result {
		var req struct{}
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		ep, err := s.eng.RollWebhookSecret(r.Context(), id)
		if err != nil {
			return result{err: err}
		}
		secret = ep.Secret
		return result{status: http.StatusOK, v: toWebhookEndpoint(ep)}
	}, func(resp *engine.Response) {
		if resp.Status != http.StatusOK {
			return
		}
		var out webhookEndpoint
		if err := json.Unmarshal(resp.Body, &out); err != nil {
			return
		}
		out.Secret = secret
		if resp.Replayed {
			// The same request again: the endpoint's secret as it is now.
			out.Secret, _ = s.eng.WebhookEndpointSecret(r.Context(), out.ID)
		}
		resp.Body = mustJSON(out)
	})
}

// retryWebhookDelivery sends a finished delivery again at once.
func (s *Server) retryWebhookDelivery(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.PathValue("delivery"), 10, 64)
	if err != nil || n < 1 {
		s.writeError(w, r, tender.Errorf(tender.ENotFound, "no such webhook delivery %q", r.PathValue("delivery")))
		return
	}
	s.idempotent(w, r, func(body []byte, _ string) result {
		var req struct{}
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		d, err := s.eng.RetryWebhookDelivery(r.Context(), r.PathValue("id"), n)
		if err != nil {
			return result{err: err}
		}
		return result{status: http.StatusOK, v: toWebhookDelivery(d)}
	})
}
