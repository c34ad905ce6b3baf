package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
)

// TestResolveDiscrepancy: a person clears a settled payment's discrepancy
// with a note; the money stays as the provider reported it, the event
// records what was cleared and why, and an open payment, a payment without
// a discrepancy, an empty note and another merchant's payment are refused.
func TestResolveDiscrepancy(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, Captured: 1150}, nil
	})
	p, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	p = w.get(p.ID)
	if p.Discrepancy == "" {
		t.Fatal("a tip the payment did not ask for raised no discrepancy")
	}
	code := func(err error) tender.ErrorCode {
		var te *tender.Error
		if errors.As(err, &te) {
			return te.Code
		}
		return ""
	}
	if _, err := e.ResolveDiscrepancy(ctx, p.ID, "  "); code(err) != tender.EInvalid || !strings.Contains(err.Error(), "note") {
		t.Fatalf("empty note: %v", err)
	}
	if _, err := e.ResolveDiscrepancy(ctx, p.ID, strings.Repeat("x", maxResolveNote+1)); code(err) != tender.EInvalid {
		t.Fatalf("long note: %v", err)
	}
	other := tender.WithMerchant(ctx, "mer_other")
	if _, err := e.ResolveDiscrepancy(other, p.ID, "looked"); code(err) != tender.ENotFound {
		t.Fatalf("another merchant resolving: %v", err)
	}
	if got := w.get(p.ID); got.Discrepancy == "" {
		t.Fatal("a refused resolution cleared the discrepancy")
	}
	got, err := e.ResolveDiscrepancy(ctx, p.ID, "tip agreed with the guest")
	if err != nil {
		t.Fatal(err)
	}
	if got.Discrepancy != "" || got.Status != tender.StatusCaptured || got.CapturedAmount != 1150 {
		t.Fatalf("after resolving: %s captured %d discrepancy %q", got.Status, got.CapturedAmount, got.Discrepancy)
	}
	stored := w.get(p.ID)
	if stored.Discrepancy != "" || stored.CapturedAmount != 1150 {
		t.Fatalf("stored after resolving: captured %d discrepancy %q", stored.CapturedAmount, stored.Discrepancy)
	}
	evs, err := w.store.ListEvents(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Type != EvDiscrepancyResolved || !strings.Contains(string(last.Data), "tip agreed with the guest") || !strings.Contains(string(last.Data), p.Discrepancy) {
		t.Fatalf("last event %s %s", last.Type, last.Data)
	}
	if _, err := e.ResolveDiscrepancy(ctx, p.ID, "again"); code(err) != tender.EConflict {
		t.Fatalf("resolving twice: %v", err)
	}

	// An open payment keeps its discrepancy until it settles.
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusProcessing}, nil
	})
	q, err := e.CreatePayment(ctx, onlinePayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.mutate(ctx, q.ID, func(x *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		return e.discrepancy(x, "stuck"), true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ResolveDiscrepancy(ctx, q.ID, "looked"); code(err) != tender.EConflict {
		t.Fatalf("resolving an open payment: %v", err)
	}
	if got := w.get(q.ID); got.Discrepancy != "stuck" {
		t.Fatalf("an open payment's discrepancy was cleared: %q", got.Discrepancy)
	}
}
