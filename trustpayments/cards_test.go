package trustpayments_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	tp "github.com/tenderpay/tender/trustpayments"
)

// saveCard runs a checkout that stores the card and returns the AUTH
// reference that a later charge names as parent.
func (e *env) saveCard() string {
	e.t.Helper()
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 1500, Currency: "GBP", Status: tender.StatusPending, Connector: tp.Name,
		Account: e.acct.ID, CaptureMode: tender.CaptureAutomatic, Customer: "c1", SetupFutureUsage: tender.SetupOffSession, CreatedAt: e.clock.Now()}
	u, err := e.conn.Start(context.Background(), e.op(p, 0))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.gateway(u.NextAction.Data["jwt"], map[string]any{"pan": "4111111111111111", "expirydate": "12/30", "securitycode": "123"}); err != nil {
		e.t.Fatal(err)
	}
	auths := e.sim.Approved(p.ID)
	if len(auths) != 1 {
		e.t.Fatalf("saving checkout made %d AUTHs", len(auths))
	}
	return auths[0].Reference
}

func (e *env) mit(amount int64, parent string) *tender.Payment {
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: amount, Currency: "GBP", Status: tender.StatusPending, Connector: tp.Name,
		Account: e.acct.ID, CaptureMode: tender.CaptureAutomatic, Customer: "c1", OffSession: true, PaymentMethodReference: parent, CreatedAt: e.clock.Now()}
	if err := e.conn.ValidatePayment(p, &e.acct, nil); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// TestChargeSavedCard: a merchant-initiated AUTH on the stored credential
// is captured; the gateway refuses one on a card that was not stored, and
// declines by the sandbox rules.
func TestChargeSavedCard(t *testing.T) {
	e := newEnv(t)
	parent := e.saveCard()
	p := e.mit(2500, parent)
	u, err := e.conn.Start(context.Background(), e.op(p, 0))
	if err != nil || u.Status != tender.StatusCaptured || u.ProviderReference == "" {
		t.Fatalf("charge: %+v, %v", u, err)
	}
	a := e.sim.Approved(p.ID)
	if len(a) != 1 || a[0].Parent != parent || a[0].CredentialsOnFile != "2" || a[0].InitiationReason == "" {
		t.Fatalf("gateway ledger for the charge: %+v", a)
	}
	if _, err := e.conn.Start(context.Background(), e.op(e.mit(2551, parent), 0)); tender.ErrorCodeOf(err) != tender.EDeclined {
		t.Errorf("charge of 25.51: %v, want declined", err)
	}
	// A reference the gateway does not know: refused (20004), certainly
	// not charged.
	if _, err := e.conn.Start(context.Background(), e.op(e.mit(2500, "9-9-999"), 0)); err == nil || tender.ErrorCodeOf(err) == tender.EUnavailable {
		t.Errorf("charge on an unknown parent: %v, want a refusal", err)
	}
}

// TestChargeSavedCardLostAnswer: the charge went through but its answer
// was lost. Start is in doubt; Status finds the AUTH by TRANSACTIONQUERY
// and decides; neither Status nor a start run again charges twice.
func TestChargeSavedCardLostAnswer(t *testing.T) {
	e := newEnv(t)
	parent := e.saveCard()
	p := e.mit(2600, parent)
	// The charge asks first (TRANSACTIONQUERY), then sends the AUTH: the
	// second Webservices request's answer is lost.
	var calls atomic.Int32
	e.drop.Store(func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/json") && calls.Add(1) == 2 })
	_, err := e.conn.Start(context.Background(), e.op(p, 0))
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("start with the answer lost: %v, want unavailable (in doubt)", err)
	}
	p.Status = tender.StatusUnknown
	// A start run again (an instance that took the payment over) sees the
	// charge on record and does not send it again.
	if _, err := e.conn.Start(context.Background(), e.op(p, 0)); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("start run again: %v, want in doubt", err)
	}
	for range 2 {
		u, err := e.conn.Status(context.Background(), e.op(p, 0))
		if err != nil {
			t.Fatal(err)
		}
		e.apply(p, u)
	}
	if p.Status != tender.StatusCaptured || len(e.sim.Approved(p.ID)) != 1 {
		t.Fatalf("after reconciling: %s, %d AUTHs at the gateway", p.Status, len(e.sim.Approved(p.ID)))
	}
}

// TestChargeSavedCardNeverSent: the charge never reached the gateway
// (sandbox rule 61 drops the first request before it acts). In doubt,
// Status waits while the gateway could still show it, then fails it:
// nothing was taken. A pending charge whose start never ran is sent by
// Status, once.
func TestChargeSavedCardNeverSent(t *testing.T) {
	e := newEnv(t)
	parent := e.saveCard()
	p := e.mit(2661, parent)
	if _, err := e.conn.Start(context.Background(), e.op(p, 0)); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("start with rule 61: %v, want in doubt", err)
	}
	p.Status = tender.StatusUnknown
	u, err := e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil || u.Status != "" {
		t.Fatalf("status soon after: %+v %v, want no news", u, err)
	}
	e.clock.Add(11 * time.Minute)
	u, err = e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil || u.Status != tender.StatusFailed || len(e.sim.Approved(p.ID)) != 0 {
		t.Fatalf("status after the window: %+v %v", u, err)
	}

	q := e.mit(2700, parent) // pending, its start never ran
	for range 2 {
		u, err := e.conn.Status(context.Background(), e.op(q, 0))
		if err != nil {
			t.Fatal(err)
		}
		e.apply(q, u)
	}
	if q.Status != tender.StatusCaptured || len(e.sim.Approved(q.ID)) != 1 {
		t.Fatalf("pending charge after two checks: %s, %d AUTHs", q.Status, len(e.sim.Approved(q.ID)))
	}
}

// TestSubscriptionSchedule: the gateway's subscription module charges on
// its schedule (monthly here, after the first AUTH settled), by the
// simulator's clock; Instalments finds each charge and says when the
// schedule has ended (subscriptionfinalnumber 3: two charges after the
// first payment).
func TestSubscriptionSchedule(t *testing.T) {
	e := newEnv(t)
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 999, Currency: "GBP", Status: tender.StatusPending, Connector: tp.Name,
		Account: e.acct.ID, CaptureMode: tender.CaptureAutomatic, Customer: "c1", SetupFutureUsage: tender.SetupOffSession, CreatedAt: e.clock.Now(),
		Subscription: &tender.Subscription{Type: "recurring", Unit: "month", Frequency: 1, FinalNumber: 3, Number: 1}}
	u, err := e.conn.Start(context.Background(), e.op(p, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.gateway(u.NextAction.Data["jwt"], map[string]any{"pan": "4111111111111111", "expirydate": "12/30", "securitycode": "123"}); err != nil {
		t.Fatal(err)
	}
	if len(e.sim.Approved(p.ID)) != 1 {
		t.Fatal("the first payment was not approved")
	}
	charges := func() ([]tender.Instalment, bool) {
		t.Helper()
		ch, ended, err := e.conn.Instalments(context.Background(), e.op(p, 0))
		if err != nil {
			t.Fatal(err)
		}
		return ch, ended
	}
	now := e.clock.Now()
	if n := e.sim.RunSubscriptions(now.AddDate(0, 0, 20), false); n != 0 {
		t.Fatalf("%d charges before the first is due", n)
	}
	if n := e.sim.RunSubscriptions(now.AddDate(0, 1, 1), false); n != 1 {
		t.Fatalf("%d charges a month on, want 1", n)
	}
	if ch, ended := charges(); len(ch) != 1 || ch[0].Number != 2 || ch[0].Amount != 999 || ch[0].Status != tender.StatusCaptured || ended {
		t.Fatalf("after one month: %+v ended=%v", ch, ended)
	}
	if n := e.sim.RunSubscriptions(now.AddDate(1, 0, 0), false); n != 1 {
		t.Fatalf("%d more charges a year on, want 1 (final number 3)", n)
	}
	ch, ended := charges()
	if len(ch) != 2 || ch[1].Number != 3 || !ended {
		t.Fatalf("at the end: %+v ended=%v", ch, ended)
	}
	// The first payment's own status ignores its subscription's charges.
	p.Status = tender.StatusUnknown
	st, err := e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil || st.Status != tender.StatusCaptured || st.ProviderReference != e.sim.Approved(p.ID)[0].Reference {
		t.Fatalf("status of the first payment: %+v, %v", st, err)
	}
}
