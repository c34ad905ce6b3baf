package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

type createPaymentRequest struct {
	Amount      int64              `json:"amount"`
	Currency    string             `json:"currency"`
	Connector   string             `json:"connector"`
	Account     string             `json:"account"`
	Terminal    string             `json:"terminal"`
	Reference   string             `json:"reference"`
	Description string             `json:"description"`
	ReturnURL   string             `json:"return_url"`
	Capture     tender.CaptureMode `json:"capture"`
	Metadata    map[string]string  `json:"metadata"`
	Locale      string             `json:"locale"`
	// Provider-specific input (the epay invoice, ...) is not a field: each
	// connector names its own (tender.Description.Input); see splitInput.

	// Saving a card and charging a saved one (methods.go).
	Customer         string               `json:"customer"`
	SetupFutureUsage string               `json:"setup_future_usage"`
	PaymentMethod    string               `json:"payment_method"`
	OffSession       bool                 `json:"off_session"`
	Subscription     *subscriptionRequest `json:"subscription"`
}

// result is what a POST handler did: an object to return, or an error;
// worked says whether anything was done (only then is the response
// remembered for its Idempotency-Key).
type result struct {
	status  int
	v       any
	err     error
	payment string // the payment an error is about
	worked  bool
}

// idempotent runs a POST handler under its Idempotency-Key.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, fn func(body []byte, opID string) result) {
	s.idempotentThen(w, r, fn, nil)
}

// idempotentThen is idempotent with finish, which may rewrite the response
// (the first one or a replay) before it is written: a secret shown in the
// response is added there, so that the stored response never holds it.
func (s *Server) idempotentThen(w http.ResponseWriter, r *http.Request, fn func(body []byte, opID string) result, finish func(resp *engine.Response)) {
	body, err := readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	resp, err := s.eng.Idempotent(r.Context(), engine.IdempotencyScope(callerOf(r).merchant, callerOf(r).key.ID), key, requestHash(r, body), func(opID string) engine.Response {
		return s.logged(r, fn(body, opID))
	})
	s.writeIdempotent(w, r, resp, err, finish)
}

// logged is the response of res, with a server error logged.
func (s *Server) logged(r *http.Request, res result) engine.Response {
	resp := responseOf(r, res)
	if res.err != nil && resp.Status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r), "err", res.err)
	}
	return resp
}

// responseOf is the response of res (and whether to remember it).
func responseOf(r *http.Request, res result) engine.Response {
	if res.err != nil {
		status, eb := errorResponse(res.err, requestID(r), res.payment)
		inDoubt := tender.ErrorCodeOf(res.err) == tender.EUnavailable || status == http.StatusInternalServerError
		return engine.Response{Status: status, Body: mustJSON(eb), Keep: res.worked && !inDoubt}
	}
	return engine.Response{Status: res.status, Body: mustJSON(res.v), Keep: true}
}

// writeIdempotent writes the response of an idempotent request.
func (s *Server) writeIdempotent(w http.ResponseWriter, r *http.Request, resp engine.Response, err error, finish func(resp *engine.Response)) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if resp.Replayed && resp.Status < 300 {
		// A key answers with its payment as it is now, not as it was when
		// the first answer was given (a terminal payment answered while
		// unknown is captured by the time the POS retries).
		var ref struct{ ID, Object string }
		if json.Unmarshal(resp.Body, &ref) == nil && ref.Object == "payment" && ref.ID != "" {
			if p, err := s.eng.GetPayment(r.Context(), ref.ID); err == nil {
				resp.Body = mustJSON(s.prov.payment(p))
			}
		}
	}
	if finish != nil {
		finish(&resp)
	}
	if resp.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeRaw(w, resp.Status, resp.Body)
}

// requestHash identifies a request's parameters: method, path and the body's
// JSON value (so that key order and white space do not matter).
func requestHash(r *http.Request, body []byte) string {
	canon := body
	var v any
	if json.Unmarshal(body, &v) == nil {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil))
}

// createPayment runs under engine.IdempotentCreate: its key is stored
// with the payment and, when the provider answers in time, answered with
// the start's answer (two commits, not four).
func (s *Server) createPayment(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	render := func(p *tender.Payment, err error) engine.Response { return responseOf(r, s.paymentResult(p, err)) }
	resp, err := s.eng.IdempotentCreate(r.Context(), engine.IdempotencyScope(callerOf(r).merchant, callerOf(r).key.ID),
		r.Header.Get("Idempotency-Key"), requestHash(r, body), func(ctx context.Context, opID string) engine.Response {
			return s.logged(r, s.createPaymentOnce(ctx, r, body, opID))
		}, render)
	s.writeIdempotent(w, r, resp, err, nil)
}

// paymentResult is the result of a create that made p (or failed with err).
func (s *Server) paymentResult(p *tender.Payment, err error) result {
	if err != nil {
		if p != nil {
			return result{err: err, payment: p.ID, worked: true}
		}
		return result{err: err}
	}
	return result{status: http.StatusCreated, v: s.prov.payment(p)}
}

// createPaymentOnce is what a create does under its key.
func (s *Server) createPaymentOnce(ctx context.Context, r *http.Request, body []byte, opID string) result {
	rest, field, input, err := s.prov.splitInput(body)
	if err != nil {
		return result{err: err}
	}
	var req createPaymentRequest
	if err := decode(rest, &req); err != nil {
		return result{err: err}
	}
	if err := s.prov.checkInput(field, req.Connector); err != nil {
		return result{err: err}
	}
	if c := callerOf(r); !c.mayUseTerminal(req.Terminal) {
		// The same words whether the terminal exists or not.
		return result{err: tender.Invalid("terminal", "a terminal key pays only on its terminals; terminal %q is not one of them", req.Terminal)}
	}
	p, err := s.eng.CreatePayment(ctx, engine.PaymentRequest{
		Amount: req.Amount, Currency: req.Currency, Connector: req.Connector, Account: req.Account,
		Terminal: req.Terminal, Reference: req.Reference, Description: req.Description,
		ReturnURL: req.ReturnURL, Capture: req.Capture, Metadata: req.Metadata, Input: input, Locale: req.Locale,
		CardRequest: req.cardRequest(),
	}, opID)
	return s.paymentResult(p, err)
}

func (s *Server) getPayment(w http.ResponseWriter, r *http.Request) {
	wait, err := s.waitOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	if _, err := s.terminalPayment(r, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	if wait > 0 {
		release, err := s.polls.acquire(callerOf(r).key.ID)
		if err != nil {
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, err)
			return
		}
		if s.park(w, r, id, wait, release) {
			return // answered, now or when it changes (longpoll.go)
		}
		defer release()
	}
	p, err := s.eng.WaitPayment(r.Context(), id, wait)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.prov.payment(p))
}

// parseWait accepts a Go duration ("30s") or plain seconds ("30").
// waitOf reads a long-poll's ?wait= (seconds, or a duration like 30s),
// capped at the server's longest wait; none is 0.
func (s *Server) waitOf(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("wait")
	if v == "" {
		return 0, nil
	}
	d, err := parseWait(v)
	if err != nil || d < 0 {
		return 0, tender.Invalid("wait", "wait must be a duration like 30s (at most %s)", s.maxWait)
	}
	return min(d, s.maxWait), nil
}

func parseWait(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}

func (s *Server) listPayments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := tender.PaymentFilter{
		StartingAfter: q.Get("starting_after"),
		Status:        tender.Status(q.Get("status")),
		Connector:     q.Get("connector"),
		Terminal:      q.Get("terminal"),
	}
	switch q.Get("discrepancy") {
	case "", "false":
	case "true":
		f.Discrepancy = true
	default:
		s.writeError(w, r, tender.Invalid("discrepancy", "discrepancy must be true or false"))
		return
	}
	limit, err := pageLimit(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f.Limit = limit
	if c := callerOf(r); c.key.Scope == tender.ScopeTerminal {
		switch {
		case f.Terminal == "" && len(c.key.Terminals) == 1:
			f.Terminal = c.key.Terminals[0]
		case f.Terminal == "":
			s.writeError(w, r, tender.Invalid("terminal", "a terminal key of several terminals lists one at a time: give ?terminal="))
			return
		case !c.mayUseTerminal(f.Terminal):
			s.writeError(w, r, tender.Invalid("terminal", "a terminal key lists only its terminals' payments; terminal %q is not one of them", f.Terminal))
			return
		}
		if f.StartingAfter != "" {
			if _, err := s.terminalPayment(r, f.StartingAfter); err != nil {
				s.writeError(w, r, tender.Invalid("starting_after", "payment %q does not exist", f.StartingAfter))
				return
			}
		}
	}
	list, more, err := s.eng.ListPayments(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(list, more, func(p *tender.Payment) payment { return s.prov.payment(p) }))
}

type amountRequest struct {
	Amount *int64 `json:"amount"`
}

func (s *Server) capturePayment(w http.ResponseWriter, r *http.Request) {
	s.moneyOp(w, r, s.eng.Capture, http.StatusOK)
}

func (s *Server) refundPayment(w http.ResponseWriter, r *http.Request) {
	s.moneyOp(w, r, s.eng.Refund, http.StatusOK)
}

func (s *Server) moneyOp(w http.ResponseWriter, r *http.Request, op func(ctx context.Context, id string, amount int64, opID string) (*tender.Payment, error), status int) {
	id := r.PathValue("id")
	s.idempotent(w, r, func(body []byte, opID string) result {
		var req amountRequest
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		var amount int64
		if req.Amount != nil {
			if *req.Amount <= 0 {
				return result{err: tender.Invalid("amount", "amount must be a positive integer in minor units; leave it out for the whole remaining amount")}
			}
			amount = *req.Amount
		}
		p, err := op(r.Context(), id, amount, opID)
		if err != nil {
			worked := operationWorked(err)
			return result{err: err, payment: id, worked: worked}
		}
		return result{status: status, v: s.prov.payment(p)}
	})
}

func (s *Server) cancelPayment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.idempotent(w, r, func(body []byte, opID string) result {
		var req struct{}
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		p, err := s.eng.Cancel(r.Context(), id, opID)
		if err != nil {
			worked := operationWorked(err)
			return result{err: err, payment: id, worked: worked}
		}
		return result{status: http.StatusOK, v: s.prov.payment(p)}
	})
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	if _, err := s.terminalPayment(r, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	events, err := s.eng.ListEvents(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(events, false, func(e tender.Event) event {
		data := e.Data
		if len(data) == 0 {
			data = json.RawMessage("{}")
		}
		return event{ID: tender.EventID(e.ID), Object: "event", Payment: e.PaymentID, Type: e.Type, Data: data, CreatedAt: timestamp(e.CreatedAt)}
	}))
}

// terminalPayment checks that a terminal key may read payment id: it is
// on one of the key's terminals. For other keys it does nothing (the
// engine keeps merchants apart). A payment on another terminal is not
// found, as a missing one.
func (s *Server) terminalPayment(r *http.Request, id string) (*tender.Payment, error) {
	c := callerOf(r)
	if c.key.Scope != tender.ScopeTerminal {
		return nil, nil
	}
	p, err := s.eng.GetPayment(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if p.Terminal == "" || !c.mayUseTerminal(p.Terminal) {
		return nil, tender.Errorf(tender.ENotFound, "no payment %q", id)
	}
	return p, nil
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, tender.Errorf(tender.ENotFound, "no such endpoint: %s %s", r.Method, strings.TrimSpace(r.URL.Path)))
}

// operationWorked says whether a capture, refund or cancel that failed did
// anything worth remembering for its Idempotency-Key. Refusals after which
// nothing happened anywhere (bad input, a state that does not allow it, a
// provider that refused or could not be asked) are not remembered, so that
// the same request may be sent again with the same key once the cause is
// gone; a decline or an unsupported operation is the answer and stays.
func operationWorked(err error) bool {
	switch tender.ErrorCodeOf(err) {
	case tender.EInvalid, tender.ENotFound, tender.EConflict, tender.EProvider, tender.EUnavailable:
		return false
	}
	return true
}
