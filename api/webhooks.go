package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

// PaymentObject renders a payment exactly as GET /v1/payments/{id} returns
// it on a server without connectors of their own data (see PaymentObjects).
func PaymentObject(p *tender.Payment) any { return providers{}.payment(p) }

// PaymentObjects returns what renders a payment exactly as GET
// /v1/payments/{id} of a server with conns returns it; the webhook
// dispatcher puts it in data.object.
func PaymentObjects(conns []tender.Connector) func(p *tender.Payment) any {
	ps := newProviders(engine.Describe(conns))
	return func(p *tender.Payment) any { return ps.payment(p) }
}

// webhookEndpoint is the API's webhook endpoint object.
type webhookEndpoint struct {
	ID          string   `json:"id"`
	Object      string   `json:"object"`
	Merchant    string   `json:"merchant"`
	URL         string   `json:"url"`
	Description *string  `json:"description"`
	Events      []string `json:"events"`
	// Secret is present only in the response that created the endpoint.
	Secret    string `json:"secret,omitempty"`
	CreatedAt string `json:"created_at"`
}

func toWebhookEndpoint(w *tender.WebhookEndpoint) webhookEndpoint {
	return webhookEndpoint{ID: w.ID, Object: "webhook_endpoint", Merchant: w.Merchant, URL: w.URL, Description: nullable(w.Description),
		Events: w.Events, CreatedAt: timestamp(w.CreatedAt)}
}

type webhookDelivery struct {
	ID             int64   `json:"id"`
	Object         string  `json:"object"`
	Endpoint       string  `json:"endpoint"`
	Event          string  `json:"event"`
	Type           string  `json:"type"`
	Payment        string  `json:"payment"`
	Status         string  `json:"status"`
	Attempts       int     `json:"attempts"`
	LastAttemptAt  *string `json:"last_attempt_at"`
	LastStatusCode *int    `json:"last_status_code"`
	LastError      *string `json:"last_error"`
	NextAttemptAt  *string `json:"next_attempt_at"`
	CreatedAt      string  `json:"created_at"`
}

func toWebhookDelivery(d *tender.WebhookDelivery) webhookDelivery {
	out := webhookDelivery{ID: d.ID, Object: "webhook_delivery", Endpoint: d.EndpointID, Event: tender.EventID(d.EventID),
		Type: d.EventType, Payment: d.PaymentID, Status: d.Status, Attempts: d.Attempts,
		LastError: nullable(d.LastError), CreatedAt: timestamp(d.CreatedAt)}
	if !d.LastAttemptAt.IsZero() {
		t := timestamp(d.LastAttemptAt)
		out.LastAttemptAt = &t
	}
	if d.LastStatusCode != 0 {
		out.LastStatusCode = &d.LastStatusCode
	}
	// A pending delivery's next attempt; while one is in flight, the end
	// of its lease (when another attempt would start if it never ends).
	if d.Status == tender.DeliveryPending && !d.NextAttemptAt.IsZero() {
		t := timestamp(d.NextAttemptAt)
		out.NextAttemptAt = &t
	}
	return out
}

type createWebhookEndpointRequest struct {
	URL         string `json:"url"`
	Description string `json:"description"`
	// Events is a pointer to tell [] (an error) from absent or null (all).
	Events *[]string `json:"events"`
}

func (s *Server) createWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	var secret string // the plain secret, never part of the stored response
	s.idempotentThen(w, r, func(body []byte, _ string) result {
		var req createWebhookEndpointRequest
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		er := engine.WebhookEndpointRequest{URL: req.URL, Description: req.Description}
		if req.Events != nil {
			// Given, even as []: an empty list is an error, not "all".
			er.Events = *req.Events
			if er.Events == nil {
				er.Events = []string{}
			}
		}
		ep, err := s.eng.CreateWebhookEndpoint(r.Context(), er)
		if err != nil {
			return result{err: err}
		}
		secret = ep.Secret
		return result{status: http.StatusCreated, v: toWebhookEndpoint(ep)}
	}, func(resp *engine.Response) {
		if resp.Status != http.StatusCreated {
			return
		}
		var out webhookEndpoint
		if err := json.Unmarshal(resp.Body, &out); err != nil {
			s.log.Error("webhook endpoint: stored response is not an endpoint", "request_id", requestID(r), "err", err)
			return
		}
		out.Secret = secret
		if resp.Replayed {
			// The same request again (same API key, key and body): it
			// gets the same answer, the secret opened from its sealed
			// copy. A deleted endpoint has none left to give.
			var err error
			if out.Secret, err = s.eng.WebhookEndpointSecret(r.Context(), out.ID); err != nil && tender.ErrorCodeOf(err) != tender.ENotFound {
				s.log.Error("webhook endpoint: open secret for a replay", "request_id", requestID(r), "endpoint", out.ID, "err", err)
			}
		}
		resp.Body = mustJSON(out)
	})
}

func (s *Server) getWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	ep, err := s.eng.GetWebhookEndpoint(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookEndpoint(ep))
}

func (s *Server) listWebhookEndpoints(w http.ResponseWriter, r *http.Request) {
	f, err := listFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, more, err := s.eng.ListWebhookEndpoints(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(list, more, toWebhookEndpoint))
}

// deleteWebhookEndpoint deletes at once: the endpoint receives nothing
// more and its pending deliveries are canceled.
func (s *Server) deleteWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.eng.DeleteWebhookEndpoint(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Deleted bool   `json:"deleted"`
	}{id, "webhook_endpoint", true})
}

func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := tender.DeliveryFilter{EndpointID: r.PathValue("id")}
	limit, err := pageLimit(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f.Limit = limit
	if v := q.Get("starting_after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.writeError(w, r, tender.Invalid("starting_after", "starting_after must be a delivery id (a positive integer)"))
			return
		}
		f.StartingAfter = n
	}
	list, more, err := s.eng.ListWebhookDeliveries(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(list, more, toWebhookDelivery))
}
