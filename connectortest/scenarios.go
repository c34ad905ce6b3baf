package connectortest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// Amounts by the sandbox outcome rules (amount in minor units modulo 100).
const (
	approve         = 2500
	decline         = 2551
	customerCancels = 2554
	neverAnswers    = 2555
	firstDropped    = 2561
)

func testApproved(t *testing.T, env *Env) {
	p := env.create(t, approve, "")
	if p.Status.Settled() && p.Status != tender.StatusCaptured {
		t.Fatalf("a new payment is %s", p.Status)
	}
	if !env.h.Payment.Terminal && (p.Status != tender.StatusRequiresAction || p.NextAction == nil) {
		t.Fatalf("an online payment starts %s with next_action %+v, want requires_action with one", p.Status, p.NextAction)
	}
	env.complete(t, p)
	p = env.status(t, p.ID, tender.StatusCaptured)
	if p.ProviderReference == "" || p.CapturedAmount != p.Amount || p.RefundedAmount != 0 || p.Failure != nil {
		t.Errorf("captured payment: provider_reference %q, captured %d of %d, refunded %d, failure %+v",
			p.ProviderReference, p.CapturedAmount, p.Amount, p.RefundedAmount, p.Failure)
	}
	types, _ := env.events(t, p.ID)
	if len(types) == 0 || types[0] != "payment.created" || !slices.Contains(types, "payment.captured") {
		t.Errorf("events %v, want payment.created first and payment.captured", types)
	}
	env.agree(t)
}

func testDeclined(t *testing.T, env *Env) {
	p := env.create(t, decline, "")
	env.complete(t, p)
	if env.tryAgain() {
		p = env.attemptFailed(t, p.ID, tender.FailDeclined)
		if p.Failure.Message == "" || p.CapturedAmount != 0 {
			t.Errorf("after a declined attempt: failure %+v, captured %d", p.Failure, p.CapturedAmount)
		}
		env.agree(t)
		return
	}
	p = env.status(t, p.ID, tender.StatusFailed)
	if p.Failure == nil || p.Failure.Code != tender.FailDeclined || p.Failure.Message == "" {
		t.Errorf("failure %+v, want code %s with a message", p.Failure, tender.FailDeclined)
	}
	if p.CapturedAmount != 0 {
		t.Errorf("a declined payment has captured %d", p.CapturedAmount)
	}
	env.agree(t)
}

func testCanceledByCustomer(t *testing.T, env *Env) {
	p := env.create(t, customerCancels, "")
	env.complete(t, p)
	w := env.h.CanceledByCustomer
	if env.tryAgain() && w.Status == tender.StatusFailed {
		env.attemptFailed(t, p.ID, w.FailureCode)
		env.agree(t)
		return
	}
	p = env.status(t, p.ID, w.Status)
	if w.FailureCode != "" && (p.Failure == nil || p.Failure.Code != w.FailureCode) {
		t.Errorf("failure %+v, want code %s", p.Failure, w.FailureCode)
	}
	env.agree(t)
}

// testCancelOpen cancels a payment nobody has acted on yet, then lets the
// shopper try to pay it anyway: no money may move.
func testCancelOpen(t *testing.T, env *Env) {
	p := env.create(t, approve, "")
	r := env.call(t, "POST", "/v1/payments/"+p.ID+"/cancel", map[string]any{}, "Idempotency-Key", "cancel-"+p.ID)
	if !env.h.Supports.CancelOpen {
		want(t, "cancel of an open payment", r, http.StatusUnprocessableEntity, string(tender.ENotSupported))
		if got := env.get(t, p.ID); got.Status != p.Status {
			t.Fatalf("a refused cancel moved the payment from %s to %s", p.Status, got.Status)
		}
		env.complete(t, p)
		env.status(t, p.ID, tender.StatusCaptured)
		env.agree(t)
		return
	}
	want(t, "cancel of an open payment", r, http.StatusOK)
	if r.body["status"] != string(tender.StatusCanceled) {
		t.Fatalf("after cancel: %s", r.raw)
	}
	again := env.call(t, "POST", "/v1/payments/"+p.ID+"/cancel", map[string]any{}, "Idempotency-Key", "cancel-"+p.ID)
	want(t, "the same cancel again", again, http.StatusOK)
	env.complete(t, p)
	if got := env.get(t, p.ID); got.Status != tender.StatusCanceled || got.CapturedAmount != 0 {
		t.Fatalf("a canceled payment became %s (captured %d)", got.Status, got.CapturedAmount)
	}
	env.agree(t)
}

// testTimeoutReconciled: the provider's answer never comes (rule 55); the
// reconciler finds out what happened from the provider.
func testTimeoutReconciled(t *testing.T, env *Env) {
	p := env.create(t, neverAnswers, "")
	env.complete(t, p)
	p = env.status(t, p.ID, tender.StatusCaptured)
	types, data := env.events(t, p.ID)
	i := slices.Index(types, "payment.captured")
	if i < 0 || data[i]["source"] != "status" {
		t.Errorf("the payment was not captured by a status check: events %v", types)
	}
	if !env.h.LostResultStaysOpen && !slices.Contains(types[:max(i, 0)], "payment.unknown") {
		t.Errorf("the payment was never unknown before it was reconciled: events %v", types)
	}
	env.agree(t)
}

// testTransportError: the first request of the payment fails with a
// transport error (rule 61). The POS retries its request; whatever the
// provider concludes, Tender agrees and nothing is charged twice.
func testTransportError(t *testing.T, env *Env) {
	body := env.paymentBody(firstDropped, "")
	first := env.call(t, "POST", "/v1/payments", body, "Idempotency-Key", "dropped")
	want(t, "create", first, http.StatusCreated)
	retry := env.call(t, "POST", "/v1/payments", body, "Idempotency-Key", "dropped")
	if retry.id() != first.id() {
		t.Fatalf("the retried request made payment %q besides %q", retry.id(), first.id())
	}
	p := env.get(t, first.id())
	env.complete(t, p)
	advanced := false
	p = env.waitFor(t, p.ID, "settled", 90*time.Second, func(p *tender.Payment) bool { return p.Status.Settled() }, func(p *tender.Payment) {
		inDoubt := p.Status == tender.StatusUnknown || env.h.LostResultStaysOpen && p.Status == tender.StatusRequiresAction
		if inDoubt && env.h.InDoubtFor > 0 && !advanced {
			advanced = true
			env.Clock.Advance(env.h.InDoubtFor)
		}
	})
	types, _ := env.events(t, p.ID)
	t.Logf("the payment ended %s (failure %+v) after %v", p.Status, p.Failure, types)
	if p.Status != tender.StatusCaptured && p.Status != tender.StatusFailed && p.Status != tender.StatusCanceled {
		t.Fatalf("payment ended %s", p.Status)
	}
	env.agree(t)
}

// testDuplicateCreate: one Idempotency-Key makes one payment, sent again
// or concurrently, and the provider sees one transaction.
func testDuplicateCreate(t *testing.T, env *Env) {
	body := env.paymentBody(approve, "")
	first := env.call(t, "POST", "/v1/payments", body, "Idempotency-Key", "dup-1")
	want(t, "create", first, http.StatusCreated)
	again := env.call(t, "POST", "/v1/payments", body, "Idempotency-Key", "dup-1")
	want(t, "the same request again", again, http.StatusCreated)
	if again.id() != first.id() || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: payment %q (Idempotent-Replayed %q), want %q replayed", again.id(), again.header.Get("Idempotent-Replayed"), first.id())
	}
	other := env.paymentBody(approve+100, "")
	want(t, "the key with another body", env.call(t, "POST", "/v1/payments", other, "Idempotency-Key", "dup-1"),
		http.StatusUnprocessableEntity, string(tender.EIdempotency))
	p := env.get(t, first.id())
	env.complete(t, p)
	env.status(t, p.ID, tender.StatusCaptured)

	// Concurrent duplicates: one waits for the other, one provider call.
	body = env.paymentBody(approve+200, "")
	ids := make([]string, 5)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			r := env.call(t, "POST", "/v1/payments", body, "Idempotency-Key", "dup-2")
			if r.status != http.StatusCreated {
				t.Errorf("concurrent duplicate: HTTP %d %s", r.status, r.raw)
			}
			ids[i] = r.id()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("concurrent duplicates made payments %v", ids)
		}
	}
	p = env.get(t, ids[0])
	env.complete(t, p)
	env.status(t, p.ID, tender.StatusCaptured)
	list, _, _ := env.Engine.ListPayments(t.Context(), tender.PaymentFilter{Limit: 100})
	if len(list) != 2 {
		t.Errorf("%d payments stored, want 2", len(list))
	}
	if n := len(env.h.Ledger(t, env)); n != 2 {
		t.Errorf("the provider has %d payments, want 2", n)
	}
	env.agree(t)
}

// testBadCallback: a callback that claims payment without the provider's
// signature is refused and changes nothing; the real one still counts.
func testBadCallback(t *testing.T, env *Env) {
	// A terminal decides by itself, and may do so before the forged
	// callback arrives: its payment is one the terminal declines, so that
	// a forged approval believed at any time shows as money moved.
	amount := int64(approve)
	if env.h.Payment.Terminal {
		amount = decline
	}
	p := env.create(t, amount, "")
	var req *http.Request
	if env.h.BadCallback != nil {
		req = env.h.BadCallback(t, env, p)
	} else {
		// The provider sends no callbacks: any request is refused.
		var err error
		req, err = http.NewRequest("POST", env.TenderURL+"/callbacks/"+env.h.Name+"/"+env.Account.ID+"/notify",
			strings.NewReader(fmt.Sprintf(`{"reference":%q,"status":"APPROVED","amount":%d}`, p.ID, p.Amount)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode < 400 || res.StatusCode >= 500 {
		t.Errorf("a forged callback answered HTTP %d, want a 4xx refusal", res.StatusCode)
	}
	if env.h.Payment.Terminal {
		got := env.status(t, p.ID, tender.StatusFailed)
		if got.CapturedAmount != 0 || got.Discrepancy != "" {
			t.Fatalf("after a forged approval the declined payment has captured %d, discrepancy %q", got.CapturedAmount, got.Discrepancy)
		}
		env.agree(t)
		return
	}
	got := env.get(t, p.ID)
	if got.Status == tender.StatusCaptured || got.Status == tender.StatusAuthorized || got.CapturedAmount != 0 {
		t.Fatalf("a forged callback made the payment %s (captured %d)", got.Status, got.CapturedAmount)
	}
	_, data := env.events(t, p.ID)
	for _, d := range data {
		if d["source"] == "callback" {
			t.Fatalf("a forged callback changed the payment: %v", d)
		}
	}
	env.complete(t, p)
	env.status(t, p.ID, tender.StatusCaptured)
	env.agree(t)
}

// testManualCapture authorizes, then captures in parts, each capture sent
// twice or concurrently with one Idempotency-Key.
func testManualCapture(t *testing.T, env *Env) {
	s := env.h.Supports
	if !s.ManualCapture {
		r := env.call(t, "POST", "/v1/payments", env.paymentBody(approve, tender.CaptureManual))
		want(t, "a payment with capture manual", r, http.StatusUnprocessableEntity, string(tender.ENotSupported))
		env.agree(t)
		return
	}
	const amount = 5000
	p := env.create(t, amount, tender.CaptureManual)
	env.complete(t, p)
	p = env.status(t, p.ID, tender.StatusAuthorized)
	if p.CapturedAmount != 0 || p.ProviderReference == "" {
		t.Errorf("authorized payment: captured %d, provider_reference %q", p.CapturedAmount, p.ProviderReference)
	}
	env.agree(t)
	path := "/v1/payments/" + p.ID + "/capture"
	want(t, "capture more than authorized", env.call(t, "POST", path, map[string]any{"amount": amount + 1}), http.StatusBadRequest)

	rest := map[string]any{}
	if s.PartialCapture {
		// A provider that captures once closes the authorization with a
		// partial capture: the payment is captured, nothing is left open.
		after := tender.StatusCaptured
		if s.MultipleCaptures {
			after = tender.StatusPartiallyCaptured
		}
		for range 2 {
			r := env.call(t, "POST", path, map[string]any{"amount": 2000}, "Idempotency-Key", "cap-1")
			want(t, "partial capture", r, http.StatusOK)
			if r.body["status"] != string(after) || r.body["captured_amount"] != 2000.0 {
				t.Fatalf("after a partial capture: %s; want %s", r.raw, after)
			}
		}
		env.agree(t)
		if !s.MultipleCaptures {
			r := env.call(t, "POST", path, rest, "Idempotency-Key", "cap-2")
			if r.status != http.StatusConflict && r.status != http.StatusUnprocessableEntity {
				t.Fatalf("a second capture: HTTP %d %s, want a refusal", r.status, r.raw)
			}
			if got := env.get(t, p.ID); got.Status != after || got.CapturedAmount != 2000 {
				t.Fatalf("a refused capture changed the payment: %s, captured %d", got.Status, got.CapturedAmount)
			}
			env.agree(t)
			return
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			r := env.call(t, "POST", path, rest, "Idempotency-Key", "cap-2")
			if r.status != http.StatusOK || r.body["status"] != string(tender.StatusCaptured) || r.body["captured_amount"] != float64(amount) {
				t.Errorf("capture of the rest: HTTP %d %s", r.status, r.raw)
			}
		})
	}
	wg.Wait()
	if got := env.get(t, p.ID); got.Status != tender.StatusCaptured || got.CapturedAmount != amount {
		t.Errorf("after capturing everything: %s, captured %d", got.Status, got.CapturedAmount)
	}
	want(t, "capture of a captured payment", env.call(t, "POST", path, rest), http.StatusConflict)
	env.agree(t)
}

// testCancelAuthorized cancels (reverses) an authorization.
func testCancelAuthorized(t *testing.T, env *Env) {
	if !env.h.Supports.ManualCapture {
		t.Log("no manual capture, so no authorization to cancel (see ManualCapture)")
		return
	}
	p := env.create(t, 3000, tender.CaptureManual)
	env.complete(t, p)
	env.status(t, p.ID, tender.StatusAuthorized)
	r := env.call(t, "POST", "/v1/payments/"+p.ID+"/cancel", map[string]any{}, "Idempotency-Key", "cancel-auth")
	want(t, "cancel an authorization", r, http.StatusOK)
	if r.body["status"] != string(tender.StatusCanceled) {
		t.Fatalf("after cancel: %s", r.raw)
	}
	want(t, "capture of a canceled payment", env.call(t, "POST", "/v1/payments/"+p.ID+"/capture", map[string]any{}), http.StatusConflict)
	env.agree(t)
}

// testRefund refunds a captured payment, in parts where the provider can,
// each refund sent twice or concurrently with one Idempotency-Key.
func testRefund(t *testing.T, env *Env) {
	const amount = 4000
	s := env.h.Supports
	p := env.create(t, amount, "")
	env.complete(t, p)
	env.status(t, p.ID, tender.StatusCaptured)
	path := "/v1/payments/" + p.ID + "/refunds"
	if !s.Refund {
		want(t, "refund", env.call(t, "POST", path, map[string]any{}), http.StatusUnprocessableEntity, string(tender.ENotSupported))
		if got := env.get(t, p.ID); got.Status != tender.StatusCaptured || got.RefundedAmount != 0 {
			t.Fatalf("a refused refund changed the payment: %s, refunded %d", got.Status, got.RefundedAmount)
		}
		env.agree(t)
		return
	}
	if s.PartialRefund {
		for range 2 {
			r := env.call(t, "POST", path, map[string]any{"amount": 1000}, "Idempotency-Key", "refund-1")
			want(t, "partial refund", r, http.StatusOK)
			if r.body["status"] != string(tender.StatusPartiallyRefunded) || r.body["refunded_amount"] != 1000.0 {
				t.Fatalf("after a partial refund: %s", r.raw)
			}
		}
		env.agree(t)
	} else {
		want(t, "partial refund", env.call(t, "POST", path, map[string]any{"amount": 1000}), http.StatusUnprocessableEntity, string(tender.ENotSupported))
		if got := env.get(t, p.ID); got.Status != tender.StatusCaptured || got.RefundedAmount != 0 {
			t.Fatalf("a refused refund changed the payment: %s, refunded %d", got.Status, got.RefundedAmount)
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			r := env.call(t, "POST", path, map[string]any{}, "Idempotency-Key", "refund-2")
			if r.status != http.StatusOK || r.body["status"] != string(tender.StatusRefunded) || r.body["refunded_amount"] != float64(amount) {
				t.Errorf("refund of the rest: HTTP %d %s", r.status, r.raw)
			}
		})
	}
	wg.Wait()
	want(t, "refund of a refunded payment", env.call(t, "POST", path, map[string]any{}), http.StatusConflict)
	env.agree(t)
}

func (env *Env) tryAgain() bool { return env.h.Supports.TryAgain && !env.h.Payment.Terminal }

// attemptFailed waits for a failed attempt of code on an online payment
// that stays open for another (Supports.TryAgain), checks its event, then
// gives up as the shopper would: the payment ends canceled, no money moved.
func (env *Env) attemptFailed(t *testing.T, id, code string) *tender.Payment {
	t.Helper()
	p := env.waitFor(t, id, "requires_action after a failed attempt", 90*time.Second, func(p *tender.Payment) bool {
		return p.Status.Settled() || p.Status == tender.StatusRequiresAction && p.Failure != nil
	}, nil)
	if p.Status != tender.StatusRequiresAction || p.Failure.Code != code {
		t.Fatalf("after a failed attempt the payment is %s (failure %+v), want requires_action with %s", p.Status, p.Failure, code)
	}
	types, _ := env.events(t, id)
	if !slices.Contains(types, "payment.attempt_failed") {
		t.Errorf("events %v, want payment.attempt_failed", types)
	}
	got, err := env.Engine.CancelByShopper(context.Background(), id)
	if err != nil {
		t.Fatalf("the shopper gives up: %v", err)
	}
	if got.Status != tender.StatusCanceled {
		t.Fatalf("the shopper gave up: the payment is %s, want canceled", got.Status)
	}
	return p
}
