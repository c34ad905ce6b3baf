package dashboard

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

// scanLimit bounds how many payments a filtered list looks through: the
// store filters by status, connector and terminal; dates, amounts and the
// search are applied here.
const scanLimit = 1000

// shown is how many payments a list shows.
const shown = 50

type paymentFilter struct {
	Status, Connector, Terminal, From, To, Min, Max, Q string
}

func filterOf(q url.Values) paymentFilter {
	g := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return paymentFilter{Status: g("status"), Connector: g("connector"), Terminal: g("terminal"),
		From: g("from"), To: g("to"), Min: g("min"), Max: g("max"), Q: g("q")}
}

func (f paymentFilter) query() string {
	v := url.Values{}
	for k, s := range map[string]string{"status": f.Status, "connector": f.Connector, "terminal": f.Terminal,
		"from": f.From, "to": f.To, "min": f.Min, "max": f.Max, "q": f.Q} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v.Encode()
}

// match applies the filters the store does not.
func (f paymentFilter) match(p *tender.Payment) bool {
	day := p.CreatedAt.UTC().Format(time.DateOnly)
	if f.From != "" && day < f.From || f.To != "" && day > f.To {
		return false
	}
	if f.Min != "" {
		if a, err := tender.ParseAmount(f.Min, p.Currency); err == nil && p.Amount < a.Value {
			return false
		}
	}
	if f.Max != "" {
		if a, err := tender.ParseAmount(f.Max, p.Currency); err == nil && p.Amount > a.Value {
			return false
		}
	}
	if f.Q != "" {
		q := strings.ToLower(f.Q)
		hay := strings.ToLower(p.ID + " " + p.Reference + " " + p.ProviderReference + " " + p.Description)
		if !strings.Contains(hay, q) {
			return false
		}
	}
	return true
}

func (s *Server) findPayments(r *http.Request, f paymentFilter) ([]*tender.Payment, bool, error) {
	sf := tender.PaymentFilter{Limit: 100, Status: tender.Status(f.Status), Connector: f.Connector, Terminal: f.Terminal}
	var out []*tender.Payment
	for scanned := 0; scanned < scanLimit; {
		list, more, err := s.eng.ListPayments(r.Context(), sf)
		if err != nil {
			return nil, false, err
		}
		for _, p := range list {
			if f.match(p) {
				if len(out) == shown {
					return out, true, nil
				}
				out = append(out, p)
			}
		}
		scanned += len(list)
		if !more || len(list) == 0 {
			return out, false, nil
		}
		sf.StartingAfter = list[len(list)-1].ID
	}
	return out, true, nil
}

type paymentsData struct {
	Filter     paymentFilter
	Query      string
	Payments   []*tender.Payment
	More       bool
	Statuses   []tender.Status
	Connectors []string
	PollMS     int64
}

var statuses = []tender.Status{tender.StatusPending, tender.StatusRequiresAction, tender.StatusProcessing, tender.StatusAuthorized,
	tender.StatusCaptured, tender.StatusPartiallyCaptured, tender.StatusCanceled, tender.StatusFailed, tender.StatusRefunded,
	tender.StatusPartiallyRefunded, tender.StatusUnknown}

func (s *Server) payments(w http.ResponseWriter, r *http.Request) {
	f := filterOf(r.URL.Query())
	list, more, err := s.findPayments(r, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "payments.html", page{Title: "Payments", Nav: "payments", Data: paymentsData{
		Filter: f, Query: f.query(), Payments: list, More: more, Statuses: statuses, Connectors: s.eng.Connectors(),
		PollMS: s.o.PollEvery.Milliseconds(),
	}})
}

// paymentRows is the list's table body alone, which live.js fetches to
// show new payments and changes without a reload.
func (s *Server) paymentRows(w http.ResponseWriter, r *http.Request) {
	f := filterOf(r.URL.Query())
	list, more, err := s.findPayments(r, f)
	if err != nil {
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := s.tmpl.ExecuteTemplate(w, "rows", paymentsData{Payments: list, More: more}); err != nil {
		s.log.Error("dashboard: rows", "err", err)
	}
}

type paymentData struct {
	P          *tender.Payment
	Events     []eventView
	Deliveries []*tender.WebhookDelivery
	Key        string // a fresh idempotency key for each action form
	CanCapture bool
	CanRefund  bool
	CanCancel  bool
	// CanResolve: a payment's discrepancy can be cleared with a note; an
	// open one's (InDoubt) only with the status a person found.
	CanResolve bool
	InDoubt    bool
}

type eventView struct {
	Type string
	At   time.Time
	Data string
}

func (s *Server) paymentView(r *http.Request, id string) (*paymentData, error) {
	ctx := r.Context()
	p, err := s.eng.GetPayment(ctx, id)
	if err != nil {
		return nil, err
	}
	events, err := s.eng.ListEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &paymentData{P: p, Key: randomToken()[:32]}
	for _, e := range events {
		data := ""
		if len(e.Data) > 0 && string(e.Data) != "{}" && string(e.Data) != "null" {
			var v any
			if json.Unmarshal(e.Data, &v) == nil {
				b, _ := json.Marshal(v)
				data = string(b)
			}
		}
		d.Events = append(d.Events, eventView{Type: e.Type, At: e.CreatedAt, Data: data})
	}
	// Deliveries are kept per endpoint: look through each endpoint's
	// recent ones for this payment's.
	eps, _, err := s.eng.ListWebhookEndpoints(ctx, tender.ListFilter{Limit: 20})
	if err == nil {
		for _, ep := range eps {
			ds, _, err := s.eng.ListWebhookDeliveries(ctx, tender.DeliveryFilter{EndpointID: ep.ID, Limit: 100})
			if err != nil {
				continue
			}
			for _, dl := range ds {
				if dl.PaymentID == id {
					d.Deliveries = append(d.Deliveries, dl)
				}
			}
		}
	}
	switch p.Status {
	case tender.StatusAuthorized, tender.StatusPartiallyCaptured:
		d.CanCapture = p.CapturedAmount < p.Amount
	}
	switch p.Status {
	case tender.StatusCaptured, tender.StatusPartiallyCaptured, tender.StatusPartiallyRefunded:
		d.CanRefund = p.RefundedAmount < p.CapturedAmount
	}
	switch p.Status {
	case tender.StatusAuthorized, tender.StatusRequiresAction, tender.StatusProcessing, tender.StatusPending, tender.StatusUnknown:
		d.CanCancel = true
	}
	d.CanResolve = p.Discrepancy != ""
	switch p.Status {
	case tender.StatusPending, tender.StatusProcessing, tender.StatusUnknown:
		d.InDoubt = true
	}
	return d, nil
}

func (s *Server) payment(w http.ResponseWriter, r *http.Request) {
	d, err := s.paymentView(r, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "payment.html", page{Title: "Payment " + d.P.ID, Nav: "payments", Data: d})
}

type confirmData struct {
	P      *tender.Payment
	Action string
	Amount string // major units as typed, "" for all that remains
	Key    string
}

// paymentAction captures, refunds or cancels, after a confirmation page,
// through the engine's idempotency like POST /v1/payments/{id}/...: the
// form's key makes a double submission one operation.
func (s *Server) paymentAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, action := r.PathValue("id"), r.PathValue("action")
	if action == "resolve" {
		s.resolve(w, r, id)
		return
	}
	if action != "capture" && action != "refund" && action != "cancel" {
		http.NotFound(w, r)
		return
	}
	p, err := s.eng.GetPayment(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	amountText := strings.TrimSpace(r.PostFormValue("amount"))
	var amount int64
	if amountText != "" && action != "cancel" {
		a, err := tender.ParseAmount(amountText, p.Currency)
		if err == nil && a.Value <= 0 {
			err = tender.Invalid("amount", "the amount must be more than zero")
		}
		if err != nil {
			s.actionError(w, r, id, err)
			return
		}
		amount = a.Value
	}
	key := r.PostFormValue("key")
	if len(key) < 16 || len(key) > 64 {
		s.actionError(w, r, id, tender.Invalid("key", "the form lacks its key; reload the payment and try again"))
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		s.render(w, r, http.StatusOK, "confirm.html", page{Title: "Confirm", Nav: "payments",
			Data: confirmData{P: p, Action: action, Amount: amountText, Key: key}})
		return
	}
	a := authOf(ctx)
	scope := engine.IdempotencyScope(a.sess.Merchant, "dashboard:"+a.user.ID)
	h := sha256.Sum256([]byte("POST /v1/payments/" + id + "/" + action + "\n" + amountText))
	var opErr error
	resp, err := s.eng.Idempotent(ctx, scope, key, hex.EncodeToString(h[:]), func(opID string) engine.Response {
		switch action {
		case "capture":
			_, opErr = s.eng.Capture(ctx, id, amount, opID)
		case "refund":
			_, opErr = s.eng.Refund(ctx, id, amount, opID)
		default:
			_, opErr = s.eng.Cancel(ctx, id, opID)
		}
		if opErr != nil {
			// As the API: only a refusal after which nothing happened
			// anywhere may be tried again with the same key.
			code := tender.ErrorCodeOf(opErr)
			keep := code != tender.EInvalid && code != tender.ENotFound && code != tender.EConflict &&
				code != tender.EProvider && code != tender.EUnavailable && code != tender.EInternal
			b, _ := json.Marshal(map[string]string{"error": tender.ErrorMessageOf(opErr)})
			return engine.Response{Status: http.StatusConflict, Body: b, Keep: keep}
		}
		return engine.Response{Status: http.StatusOK, Body: []byte(`{}`), Keep: true}
	})
	if err == nil {
		err = opErr
	}
	if err == nil && resp.Status != http.StatusOK {
		// A replay of a refusal that was remembered for the key.
		var body struct{ Error string }
		json.Unmarshal(resp.Body, &body)
		err = tender.Errorf(tender.EConflict, "%s", body.Error)
	}
	if err != nil {
		s.log.Info("dashboard: payment action refused", "payment", id, "action", action, "err", err)
		s.actionError(w, r, id, err)
		return
	}
	s.log.Info("dashboard: payment action", "payment", id, "action", action, "user", a.user.ID)
	http.Redirect(w, r, "/dashboard/payments/"+url.PathEscape(id), http.StatusSeeOther)
}

// resolve clears a payment's discrepancy with the note a person wrote
// (engine.ResolveDiscrepancy); resolving twice is refused, not repeated.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request, id string) {
	if _, err := s.eng.ResolveDiscrepancy(r.Context(), id, r.PostFormValue("note"), tender.Status(r.PostFormValue("status"))); err != nil {
		s.actionError(w, r, id, err)
		return
	}
	s.log.Info("dashboard: discrepancy resolved", "payment", id, "user", authOf(r.Context()).user.ID)
	http.Redirect(w, r, "/dashboard/payments/"+url.PathEscape(id), http.StatusSeeOther)
}

func (s *Server) actionError(w http.ResponseWriter, r *http.Request, id string, cause error) {
	d, err := s.paymentView(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusConflict, "payment.html", page{Title: "Payment " + id, Nav: "payments",
		Error: tender.ErrorMessageOf(cause), Data: d})
}
