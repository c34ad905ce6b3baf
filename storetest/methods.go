package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// testPaymentMethods: the card fields of a payment round-trip; a saved
// method is inserted with the payment's update, once, and can be listed by
// customer, read and detached; active subscriptions are found.
func testPaymentMethods(t *testing.T, s tender.Store) {
	ctx := context.Background()
	p := minimalPayment()
	p.Merchant = "mch_a"
	p.Customer = "cust-1"
	p.OffSession, p.PaymentMethodReference = true, "56-9-0" // as an off-session charge carries them
	p.SetupFutureUsage = tender.SetupOffSession
	p.Subscription = &tender.Subscription{Type: tender.SubscriptionRecurring, Unit: tender.UnitMonth, Frequency: 1, FinalNumber: 12, BeginDate: "2026-01-08", Number: 1}
	mustCreate(t, s, p)
	got := mustGet(t, s, p.ID)
	diff(t, "payment with card fields", p, got)
	if subs, err := s.ActiveSubscriptions(ctx, 10); err != nil || len(subs) != 0 {
		t.Fatalf("ActiveSubscriptions before activation = %v, %v; want none", subs, err)
	}

	pm := &tender.PaymentMethod{ID: "pm_1", Merchant: "mch_a", Customer: "cust-1", Connector: "trustpayments", Account: "tp",
		ProviderReference: "56-9-1", Payment: p.ID, Brand: "VISA", MaskedPAN: "411111######1111", CreatedAt: at(0)}
	got.PaymentMethod = pm.ID
	got.Subscription.Active = true
	got.SavedMethod = pm
	// A lost update saves no method: it is written with the payment or
	// not at all.
	stale := *got
	stale.Version--
	wantCode(t, "UpdatePayment(stale, with a saved method)", s.UpdatePayment(ctx, &stale), tender.EConflict)
	if _, err := s.GetPaymentMethod(ctx, pm.ID); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Fatalf("a lost update saved its method: %v, want not found", err)
	}
	if err := s.UpdatePayment(ctx, got); err != nil {
		t.Fatal(err)
	}
	// A retried update (another instance applying the same answer) saves
	// no second method.
	again := mustGet(t, s, p.ID)
	again.SavedMethod = &tender.PaymentMethod{ID: "pm_2", Merchant: "mch_a", Customer: "cust-1", Connector: "trustpayments", Account: "tp",
		ProviderReference: "56-9-1", Payment: p.ID, CreatedAt: at(time.Second)}
	if err := s.UpdatePayment(ctx, again); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPaymentMethod(ctx, "pm_2"); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Errorf("second method for one payment: %v, want not found", err)
	}
	m, err := s.GetPaymentMethod(ctx, "pm_1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "GetPaymentMethod", pm, m)
	if g := mustGet(t, s, p.ID); g.PaymentMethod != "pm_1" || g.Subscription == nil || !g.Subscription.Active || g.SavedMethod != nil {
		t.Errorf("payment after save: %+v", g)
	}
	subs, err := s.ActiveSubscriptions(ctx, 10)
	if err != nil || len(subs) != 1 || subs[0].ID != p.ID {
		t.Fatalf("ActiveSubscriptions = %v, %v; want %s", subs, err, p.ID)
	}

	// Another merchant's and another customer's are not listed.
	other := minimalPayment()
	other.ID = "pay_other"
	other.Merchant = "mch_b"
	mustCreate(t, s, other)
	other.SavedMethod = &tender.PaymentMethod{ID: "pm_b", Merchant: "mch_b", Customer: "cust-1", Connector: "trustpayments", Account: "tp2",
		ProviderReference: "56-9-2", Payment: other.ID, CreatedAt: at(2 * time.Second)}
	if err := s.UpdatePayment(ctx, other); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f    tender.PaymentMethodFilter
		want []string
	}{
		{tender.PaymentMethodFilter{Merchant: "mch_a", Customer: "cust-1", Limit: 10}, []string{"pm_1"}},
		{tender.PaymentMethodFilter{Merchant: "mch_a", Limit: 10}, []string{"pm_1"}},
		{tender.PaymentMethodFilter{Merchant: "mch_a", Customer: "cust-2", Limit: 10}, nil},
		{tender.PaymentMethodFilter{Merchant: "mch_b", Limit: 10}, []string{"pm_b"}},
		{tender.PaymentMethodFilter{Merchant: "mch_a", Limit: 10, StartingAfter: "pm_1"}, nil},
	} {
		list, _, err := s.ListPaymentMethods(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range list {
			ids = append(ids, m.ID)
		}
		diff(t, "ListPaymentMethods", c.want, ids)
	}

	if err := s.DetachPaymentMethod(ctx, "pm_1", at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.DetachPaymentMethod(ctx, "pm_1", at(2*time.Hour)); err != nil {
		t.Fatalf("detaching twice: %v", err)
	}
	if m, _ := s.GetPaymentMethod(ctx, "pm_1"); !m.DetachedAt.Equal(at(time.Hour)) || !m.Detached() {
		t.Errorf("DetachedAt = %v, want the first detach's %v", m.DetachedAt, at(time.Hour))
	}
	if list, _, _ := s.ListPaymentMethods(ctx, tender.PaymentMethodFilter{Merchant: "mch_a", Limit: 10}); len(list) != 0 {
		t.Errorf("detached method listed: %v", list)
	}
	if list, _, _ := s.ListPaymentMethods(ctx, tender.PaymentMethodFilter{Merchant: "mch_a", Limit: 10, Detached: true}); len(list) != 1 {
		t.Errorf("detached method not listed with Detached: %v", list)
	}
	if err := s.DetachPaymentMethod(ctx, "pm_none", at(0)); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Errorf("detaching a missing method: %v, want not found", err)
	}
}
