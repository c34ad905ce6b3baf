package api

import (
	"net/http"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

// subscriptionRequest is a provider-run schedule asked for with a payment.
type subscriptionRequest struct {
	Type        string `json:"type"`
	Unit        string `json:"unit"`
	Frequency   int    `json:"frequency"`
	FinalNumber int    `json:"final_number"`
	BeginDate   string `json:"begin_date"`
}

func (r *createPaymentRequest) cardRequest() engine.CardRequest {
	c := engine.CardRequest{Customer: r.Customer, SetupFutureUsage: r.SetupFutureUsage, PaymentMethod: r.PaymentMethod, OffSession: r.OffSession}
	if s := r.Subscription; s != nil {
		c.Subscription = &tender.Subscription{Type: s.Type, Unit: s.Unit, Frequency: s.Frequency, FinalNumber: s.FinalNumber, BeginDate: s.BeginDate}
	}
	return c
}

type paymentMethod struct {
	ID                string  `json:"id"`
	Object            string  `json:"object"`
	Merchant          string  `json:"merchant"`
	Customer          string  `json:"customer"`
	Type              string  `json:"type"`
	Card              card    `json:"card"`
	Connector         string  `json:"connector"`
	Account           string  `json:"account"`
	ProviderReference string  `json:"provider_reference"`
	Payment           string  `json:"payment"`
	DetachedAt        *string `json:"detached_at"`
	CreatedAt         string  `json:"created_at"`
}

// card is what the provider shows of a saved card: never the card itself.
type card struct {
	Brand     *string `json:"brand"`
	MaskedPAN *string `json:"masked_pan"`
	Expiry    *string `json:"expiry"`
}

func toPaymentMethod(m *tender.PaymentMethod) paymentMethod {
	out := paymentMethod{ID: m.ID, Object: "payment_method", Merchant: m.Merchant, Customer: m.Customer, Type: "card",
		Card:      card{Brand: nullable(m.Brand), MaskedPAN: nullable(m.MaskedPAN), Expiry: nullable(m.Expiry)},
		Connector: m.Connector, Account: m.Account, ProviderReference: m.ProviderReference, Payment: m.Payment,
		CreatedAt: timestamp(m.CreatedAt)}
	if m.Detached() {
		at := timestamp(m.DetachedAt)
		out.DetachedAt = &at
	}
	return out
}

func (s *Server) listPaymentMethods(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := pageLimit(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := tender.PaymentMethodFilter{Customer: q.Get("customer"), Limit: limit, StartingAfter: q.Get("starting_after")}
	switch q.Get("detached") {
	case "", "false":
	case "true":
		f.Detached = true
	default:
		s.writeError(w, r, tender.Invalid("detached", "detached must be true or false"))
		return
	}
	list, more, err := s.eng.ListPaymentMethods(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(list, more, toPaymentMethod))
}

func (s *Server) getPaymentMethod(w http.ResponseWriter, r *http.Request) {
	m, err := s.eng.GetPaymentMethod(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPaymentMethod(m))
}

func (s *Server) detachPaymentMethod(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.idempotent(w, r, func(body []byte, _ string) result {
		var req struct{}
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		m, err := s.eng.DetachPaymentMethod(r.Context(), id)
		if err != nil {
			return result{err: err}
		}
		return result{status: http.StatusOK, v: toPaymentMethod(m)}
	})
}
