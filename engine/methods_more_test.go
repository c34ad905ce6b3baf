package engine

import (
	"context"
	"testing"

	"github.com/tenderpay/tender"
)

// savedMethod saves a card of customer "cust" on e and returns it.
func savedMethod(t *testing.T, w *world, e *Engine, ref string) *tender.PaymentMethod {
	t.Helper()
	w.conn.start.Set(savedStart(ref))
	p, err := e.CreatePayment(context.Background(), PaymentRequest{Amount: 1500, Currency: "EUR", Connector: "script",
		CardRequest: CardRequest{Customer: "cust", SetupFutureUsage: tender.SetupOffSession}}, randomOperationID())
	if err != nil || p.PaymentMethod == "" {
		t.Fatalf("saving payment: %+v, %v", p, err)
	}
	m, err := e.GetPaymentMethod(context.Background(), p.PaymentMethod)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestVerifyOnlySavesTheCard: amount 0 with setup_future_usage verifies
// and saves a card without charging it.
func TestVerifyOnlySavesTheCard(t *testing.T) {
	w := newWorld(t)
	e := cardEngine(w, &cardScript{script: w.conn})
	w.conn.start.Set(func(_ context.Context, op *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, ProviderReference: "v1",
			SavedCard: &tender.SavedCard{ProviderReference: "v1", Brand: "VISA", MaskedPAN: "411111######1111"}}, nil
	})
	p, err := e.CreatePayment(context.Background(), PaymentRequest{Amount: 0, Currency: "EUR", Connector: "script",
		CardRequest: CardRequest{Customer: "cust", SetupFutureUsage: tender.SetupOffSession}}, randomOperationID())
	if err != nil || p.Amount != 0 || p.PaymentMethod == "" {
		t.Fatalf("verify-only payment: %+v, %v; want accepted with its card saved", p, err)
	}
}

// TestSavedCardChargeMustMatch: a charge of a saved card may name its
// customer, connector and account only as saved; another one is refused
// with the field named, and nothing is sent.
func TestSavedCardChargeMustMatch(t *testing.T) {
	w := newWorld(t)
	e := cardEngine(w, &cardScript{script: w.conn})
	ctx := context.Background()
	m := savedMethod(t, w, e, "ref-1")
	if _, err := e.CreateAccount(ctx, &tender.Account{ID: "acct2", Connector: "script", Environment: tender.EnvSandbox}); err != nil {
		t.Fatal(err)
	}
	starts := w.conn.count("start")
	charge := func(customer, connector, account string) (*tender.Payment, error) {
		return e.CreatePayment(ctx, PaymentRequest{Amount: 100, Currency: "EUR", Connector: connector, Account: account,
			CardRequest: CardRequest{Customer: customer, PaymentMethod: m.ID, OffSession: true}}, randomOperationID())
	}
	for _, c := range []struct{ customer, connector, account, param string }{
		{"someone", "", "", "customer"},
		{"", "other", "", "connector"},
		{"", "", "acct2", "account"},
	} {
		p, err := charge(c.customer, c.connector, c.account)
		if te := tender.AsError(err); p != nil || te == nil || te.Code != tender.EInvalid || te.Param != c.param {
			t.Errorf("charge as %+v: %v, %v; want invalid %s", c, p, err, c.param)
		}
	}
	if n := w.conn.count("start"); n != starts {
		t.Fatalf("%d starts for refused charges", n-starts)
	}
	p, err := charge("cust", "script", "acct")
	if err != nil || p.Status != tender.StatusCaptured || p.Customer != "cust" || p.Account != "acct" {
		t.Fatalf("charge naming the card's own customer, connector and account: %+v, %v", p, err)
	}
}

// TestSubscriptionBounds: a subscription's frequency is 1 to 999, its
// final number 0 (no end) or 2 to 99999.
func TestSubscriptionBounds(t *testing.T) {
	w := newWorld(t)
	e := cardEngine(w, &cardScript{script: w.conn})
	w.conn.start.Set(savedStart("ref-s"))
	for _, c := range []struct {
		frequency, final int
		ok               bool
	}{
		{999, 12, true}, {1000, 12, false},
		{1, 99999, true}, {1, 100000, false},
	} {
		_, err := e.CreatePayment(context.Background(), PaymentRequest{Amount: 100, Currency: "EUR", Connector: "script", CardRequest: CardRequest{
			Customer: "cust", SetupFutureUsage: tender.SetupOffSession,
			Subscription: &tender.Subscription{Type: "recurring", Unit: "day", Frequency: c.frequency, FinalNumber: c.final}}}, randomOperationID())
		if (err == nil) != c.ok {
			t.Errorf("frequency %d, final number %d: %v; want accepted: %v", c.frequency, c.final, err, c.ok)
		}
	}
}

// TestListPaymentMethodsPaging: the limit is 1 to 100 (0: 10), and
// starting_after names a method of the merchant's, else it is refused.
func TestListPaymentMethodsPaging(t *testing.T) {
	w := newWorld(t)
	e := cardEngine(w, &cardScript{script: w.conn})
	ctx := context.Background()
	first := savedMethod(t, w, e, "ref-1")
	second := savedMethod(t, w, e, "ref-2")
	for _, c := range []struct {
		limit int
		ok    bool
	}{{-1, false}, {0, true}, {1, true}, {100, true}, {101, false}} {
		_, _, err := e.ListPaymentMethods(ctx, tender.PaymentMethodFilter{Limit: c.limit})
		if (err == nil) != c.ok {
			t.Errorf("limit %d: %v; want accepted: %v", c.limit, err, c.ok)
		}
	}
	list, _, err := e.ListPaymentMethods(ctx, tender.PaymentMethodFilter{Limit: 1})
	if err != nil || len(list) != 1 || list[0].ID != first.ID {
		t.Fatalf("first page of 1: %v, %v; want %s", list, err, first.ID)
	}
	list, _, err = e.ListPaymentMethods(ctx, tender.PaymentMethodFilter{StartingAfter: first.ID})
	if err != nil || len(list) != 1 || list[0].ID != second.ID {
		t.Fatalf("after %s: %v, %v; want %s", first.ID, list, err, second.ID)
	}
	for _, after := range []string{"pm_nope"} {
		if _, _, err := e.ListPaymentMethods(ctx, tender.PaymentMethodFilter{StartingAfter: after}); tender.AsError(err) == nil || tender.AsError(err).Param != "starting_after" {
			t.Errorf("starting after %s: %v; want invalid starting_after", after, err)
		}
	}
	other := tender.WithMerchant(ctx, "mer_other")
	if _, _, err := e.ListPaymentMethods(other, tender.PaymentMethodFilter{StartingAfter: first.ID}); tender.AsError(err) == nil || tender.AsError(err).Param != "starting_after" {
		t.Errorf("another merchant starting after %s: %v; want invalid starting_after", first.ID, err)
	}
}

// TestDetachAnswersTheDetachedMethod: detaching answers the method as
// detached; another merchant cannot detach it.
func TestDetachAnswersTheDetachedMethod(t *testing.T) {
	w := newWorld(t)
	e := cardEngine(w, &cardScript{script: w.conn})
	ctx := context.Background()
	m := savedMethod(t, w, e, "ref-1")
	if _, err := e.DetachPaymentMethod(tender.WithMerchant(ctx, "mer_other"), m.ID); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Fatalf("another merchant detaching: %v; want not found", err)
	}
	if got, _ := e.GetPaymentMethod(ctx, m.ID); got.Detached() {
		t.Fatal("another merchant's detach detached the method")
	}
	got, err := e.DetachPaymentMethod(ctx, m.ID)
	if err != nil || got == nil || got.ID != m.ID || !got.Detached() {
		t.Fatalf("detach = %+v, %v; want the method, detached", got, err)
	}
}
