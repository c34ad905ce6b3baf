package connectortest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// saveCard makes a checkout that saves the card and returns the saved
// payment method's id.
func (env *Env) saveCard(t *testing.T) string {
	t.Helper()
	b := env.paymentBody(1500, "")
	b["customer"], b["setup_future_usage"] = "cust-1", tender.SetupOffSession
	r := env.call(t, "POST", "/v1/payments", b, "Idempotency-Key", fmt.Sprintf("save-%d", env.n.Add(1)))
	want(t, "create a saving payment", r, http.StatusCreated)
	p := env.get(t, r.id())
	env.complete(t, p)
	p = env.status(t, p.ID, tender.StatusCaptured)
	if p.PaymentMethod == "" {
		t.Fatalf("saving payment %s captured without a payment method", p.ID)
	}
	return p.PaymentMethod
}

// testOffSessionAnswerLost: a charge of a saved card whose answer is lost
// after the provider acted (on the instance that stays, and on one that
// dies while it waits): each payment is in doubt, then reconciled by the
// provider's records, and charged exactly once.
func testOffSessionAnswerLost(t *testing.T, env *Env) {
	if !env.h.Supports.SavedCards {
		t.Log("no saved cards")
		return
	}
	pm := env.saveCard(t)
	charge := func(base string, key string) response {
		return env.callAt(t, base, "POST", "/v1/payments", map[string]any{"amount": 2000, "currency": env.h.Payment.Currency,
			"payment_method": pm, "off_session": true}, "Idempotency-Key", key)
	}
	settle := func(id string) *tender.Payment {
		advanced := false
		return env.waitFor(t, id, "captured", 60*time.Second, func(p *tender.Payment) bool { return p.Status == tender.StatusCaptured }, func(p *tender.Payment) {
			if !advanced {
				advanced = true
				env.Clock.Advance(schedule.ProviderTimeout + 20*time.Second)
			}
		})
	}

	env.Faults.DropAnswersAfter(env.h.Supports.ChargeRequests, 1)
	r := charge(env.TenderURL, "mit-lost-1")
	want(t, "charge with its answer lost", r, http.StatusCreated)
	if p := env.get(t, r.id()); p.Status != tender.StatusUnknown && p.Status != tender.StatusCaptured {
		t.Fatalf("charge with its answer lost is %s, want unknown until reconciled", p.Status)
	}
	settle(r.id())
	// The retry with the same key answers with the same payment.
	again := charge(env.TenderURL, "mit-lost-1")
	if again.id() != r.id() {
		t.Errorf("retried charge made payment %s, want %s", again.id(), r.id())
	}

	// An instance that dies waiting for the charge's answer.
	sched := schedule
	sched.StartTimeout = 200 * time.Millisecond
	dying := env.Instance(t, &Faults{hang: make(chan struct{})}, sched, false)
	dying.Faults().DropAnswersAfter(env.h.Supports.ChargeRequests, 1<<20)
	r = charge(dying.URL, "mit-crash-1")
	want(t, "charge on the dying instance", r, http.StatusCreated)
	settle(r.id())
	env.agree(t)
}
