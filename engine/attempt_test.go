package engine

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/tenderpay/tender"
)

// waitingPayment makes a payment that waits for its shopper.
func (w *world) waitingPayment(e *Engine) *tender.Payment {
	w.t.Helper()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusRequiresAction, ProviderReference: "chk",
			NextAction: &tender.NextAction{Type: "redirect", URL: "https://psp.test/checkout"}}, nil
	})
	p, err := e.CreatePayment(context.Background(), PaymentRequest{Amount: 1000, Currency: "EUR", Connector: "script"}, randomOperationID())
	if err != nil || p.Status != tender.StatusRequiresAction {
		w.t.Fatalf("create: %v, %v", p, err)
	}
	return p
}

// lastEventData is the data of the payment's last event of type typ.
func (w *world) lastEventData(id, typ string) map[string]any {
	w.t.Helper()
	evs, err := w.store.ListEvents(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == typ {
			var d map[string]any
			if err := json.Unmarshal(evs[i].Data, &d); err != nil {
				w.t.Fatal(err)
			}
			return d
		}
	}
	w.t.Fatalf("no %s event among %v", typ, w.eventTypes(id))
	return nil
}

// TestFailedAttemptKeepsThePaymentOpen: a verified callback that fails a
// shopper's attempt which may be made again leaves the payment waiting,
// with the attempt's failure and an event naming the provider's code and
// the attempt's reference; a later attempt that succeeds clears the
// failure. The same failure on a payment that no longer waits, or without
// Retry, fails it as usual.
func TestFailedAttemptKeepsThePaymentOpen(t *testing.T) {
	var res *tender.CallbackResult
	w, e := callbackWorld(t, func(ctx context.Context, cb *tender.Callback) (*tender.CallbackResult, error) {
		// The connector finds the payment, as real ones do.
		if _, err := cb.Find(ctx, res.PaymentID); err != nil {
			return nil, err
		}
		return res, nil
	})
	ctx := context.Background()
	callback := func(u tender.Update, id string) {
		t.Helper()
		res = &tender.CallbackResult{PaymentID: id, Update: &u}
		if _, err := e.HandleCallback(ctx, "script", "acct", "notify", httptest.NewRequest("POST", "/", nil), nil); err != nil {
			t.Fatal(err)
		}
	}
	declined := &tender.Failure{Code: tender.FailDeclined, Message: "the card was declined", ProviderCode: "70000"}
	p := w.waitingPayment(e)

	callback(tender.Update{Status: tender.StatusFailed, Retry: true, Failure: declined, ProviderReference: "att-1"}, p.ID)
	got := w.get(p.ID)
	if got.Status != tender.StatusRequiresAction || got.Failure == nil || got.Failure.Code != tender.FailDeclined {
		t.Fatalf("after a failed attempt: %s, failure %+v; want requires_action with the decline", got.Status, got.Failure)
	}
	if d := w.lastEventData(p.ID, EvAttemptFailed); d["code"] != tender.FailDeclined || d["provider_code"] != "70000" || d["attempt_reference"] != "att-1" {
		t.Fatalf("attempt event %v; want the code, the provider's code and the attempt's reference", d)
	}
	// An attempt without a provider code or reference records neither.
	callback(tender.Update{Status: tender.StatusFailed, Retry: true, Failure: &tender.Failure{Code: tender.FailDeclined, Message: "declined"}}, p.ID)
	if d := w.lastEventData(p.ID, EvAttemptFailed); d["provider_code"] != nil || d["attempt_reference"] != nil {
		t.Fatalf("attempt event %v; want no provider code nor reference", d)
	}
	if n := countEvents(w.eventTypes(p.ID), EvAttemptFailed); n != 2 {
		t.Fatalf("%d attempt events; want 2", n)
	}

	// The next attempt succeeds: the failure of the earlier ones goes.
	callback(tender.Update{Status: tender.StatusCaptured}, p.ID)
	if got := w.get(p.ID); got.Status != tender.StatusCaptured || got.Failure != nil {
		t.Fatalf("after a successful attempt: %s, failure %+v; want captured without failure", got.Status, got.Failure)
	}

	// A failure that ends the payment (no Retry) fails it.
	q := w.waitingPayment(e)
	callback(tender.Update{Status: tender.StatusFailed, Failure: declined}, q.ID)
	if got := w.get(q.ID); got.Status != tender.StatusFailed {
		t.Fatalf("a failure without Retry left the payment %s", got.Status)
	}
	// A Retry failure without a failure (a connector's slip) is not an
	// attempt either.
	q = w.waitingPayment(e)
	callback(tender.Update{Status: tender.StatusFailed, Retry: true}, q.ID)
	if got := w.get(q.ID); got.Status != tender.StatusFailed || has(w.eventTypes(q.ID), EvAttemptFailed) {
		t.Fatalf("a Retry failure without its failure: %s, events %v; want failed, no attempt", got.Status, w.eventTypes(q.ID))
	}
	// Nor a Retry update that is not a failure.
	q = w.waitingPayment(e)
	callback(tender.Update{Status: tender.StatusAuthorized, Retry: true, Failure: declined}, q.ID)
	if got := w.get(q.ID); got.Status != tender.StatusAuthorized || has(w.eventTypes(q.ID), EvAttemptFailed) {
		t.Fatalf("a Retry authorization: %s, events %v; want authorized, no attempt", got.Status, w.eventTypes(q.ID))
	}
	// A payment that no longer waits for its shopper (its processing was
	// told) fails on a Retry failure.
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusProcessing, ProviderReference: "proc"}, nil
	})
	r, err := e.CreatePayment(ctx, PaymentRequest{Amount: 1000, Currency: "EUR", Connector: "script"}, randomOperationID())
	if err != nil || r.Status != tender.StatusProcessing {
		t.Fatalf("create: %v, %v", r, err)
	}
	callback(tender.Update{Status: tender.StatusFailed, Retry: true, Failure: declined}, r.ID)
	if got := w.get(r.ID); got.Status != tender.StatusFailed || has(w.eventTypes(r.ID), EvAttemptFailed) {
		t.Fatalf("a processing payment after a Retry failure: %s, events %v; want failed", got.Status, w.eventTypes(r.ID))
	}
}

// TestSettledPaymentKeepsItsOwnFailure: a payment settled by its first
// attempt keeps a failure its provider reported with the settlement;
// only one left by failed attempts is cleared.
func TestSettledPaymentKeepsItsOwnFailure(t *testing.T) {
	var res *tender.CallbackResult
	w, e := callbackWorld(t, func(ctx context.Context, cb *tender.Callback) (*tender.CallbackResult, error) {
		if _, err := cb.Find(ctx, res.PaymentID); err != nil {
			return nil, err
		}
		return res, nil
	})
	p := w.waitingPayment(e)
	note := &tender.Failure{Code: tender.FailProvider, Message: "the provider reported a problem with the settlement"}
	res = &tender.CallbackResult{PaymentID: p.ID, Update: &tender.Update{Status: tender.StatusCaptured, Failure: note}}
	if _, err := e.HandleCallback(context.Background(), "script", "acct", "notify", httptest.NewRequest("POST", "/", nil), nil); err != nil {
		t.Fatal(err)
	}
	if got := w.get(p.ID); got.Status != tender.StatusCaptured || got.Failure == nil || got.Failure.Message != note.Message {
		t.Fatalf("%s, failure %+v; want captured with the provider's failure", got.Status, got.Failure)
	}
}

// TestCancelByShopper: the shopper's cancel of a payment that waits for
// them cancels it at the provider; a payment that does not wait is left
// alone (conflict), one that does not exist is not found.
func TestCancelByShopper(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.waitingPayment(e)
	got, err := e.CancelByShopper(ctx, p.ID)
	if err != nil || got == nil || got.Status != tender.StatusCanceled || w.conn.count("cancel") != 1 {
		t.Fatalf("shopper's cancel: %+v, %v, %d cancels; want canceled at the provider", got, err, w.conn.count("cancel"))
	}
	a := w.authorized(e)
	got, err = e.CancelByShopper(ctx, a.ID)
	if tender.ErrorCodeOf(err) != tender.EConflict || got == nil || got.ID != a.ID || w.get(a.ID).Status != tender.StatusAuthorized || w.conn.count("cancel") != 1 {
		t.Fatalf("shopper's cancel of an authorized payment: %+v, %v; want conflict, nothing sent", got, err)
	}
	if _, err := e.CancelByShopper(ctx, "pay_nope"); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Fatalf("shopper's cancel of no payment: %v; want not found", err)
	}
}
