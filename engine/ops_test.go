package engine_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
	"github.com/tenderpay/tender/seal"
	"github.com/tenderpay/tender/sqlite"
)

// refusingConnector captures every terminal sale at once and refuses
// refunds of less than half the payment, as a provider that only voids
// whole sales does.
type refusingConnector struct{}

func (refusingConnector) Name() string                                             { return "refusing" }
func (refusingConnector) ValidateAccount(*tender.Account) error                    { return nil }
func (refusingConnector) ValidateTerminal(*tender.Terminal, *tender.Account) error { return nil }
func (refusingConnector) ValidatePayment(*tender.Payment, *tender.Account, *tender.Terminal) error {
	return nil
}
func (refusingConnector) Start(context.Context, *tender.Op) (tender.Update, error) {
	return tender.Update{Status: tender.StatusCaptured, ProviderReference: "R1"}, nil
}
func (refusingConnector) Status(context.Context, *tender.Op) (tender.Update, error) {
	return tender.Update{}, nil
}
func (refusingConnector) Cancel(context.Context, *tender.Op) (tender.Update, error) {
	return tender.Update{}, tender.Errorf(tender.ENotSupported, "no")
}
func (refusingConnector) Capture(context.Context, *tender.Op) (tender.Update, error) {
	return tender.Update{}, tender.Errorf(tender.ENotSupported, "no")
}
func (refusingConnector) Refund(_ context.Context, op *tender.Op) (tender.Update, error) {
	if 2*op.Amount < op.Payment.Amount {
		return tender.Update{}, tender.Errorf(tender.ENotSupported, "only whole sales are voided")
	}
	return tender.Update{}, nil
}
func (refusingConnector) Callback(context.Context, *tender.Callback) (*tender.CallbackResult, error) {
	return nil, tender.Errorf(tender.ENotFound, "no callbacks")
}

// TestRefusedRefundFreesItsAmount: a refund the provider refused (it
// certainly did nothing) must not keep its amount reserved, so the whole
// payment can still be refunded.
func TestRefusedRefundFreesItsAmount(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tender.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sealer, _ := seal.New(bytes.Repeat([]byte{3}, seal.KeySize))
	e, err := engine.New(engine.Options{Store: store, Connectors: []tender.Connector{refusingConnector{}}, Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateAccount(ctx, &tender.Account{ID: "a1", Connector: "refusing"}); err != nil {
		t.Fatal(err)
	}
	p, err := e.CreatePayment(ctx, engine.PaymentRequest{Amount: 1000, Currency: "EUR", Connector: "refusing"}, "create-1")
	if err != nil || p.Status != tender.StatusCaptured {
		t.Fatalf("create: %v %+v", err, p)
	}
	if _, err := e.Refund(ctx, p.ID, 100, "refund-1"); tender.ErrorCodeOf(err) != tender.ENotSupported {
		t.Fatalf("partial refund: %v, want not_supported", err)
	}
	events, err := e.ListEvents(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := events[len(events)-1]; last.Type != engine.EvRefundFailed {
		t.Errorf("last event %s, want %s", last.Type, engine.EvRefundFailed)
	}
	p, err = e.Refund(ctx, p.ID, 0, "refund-2")
	if err != nil || p.Status != tender.StatusRefunded || p.RefundedAmount != 1000 {
		t.Fatalf("refund of everything after a refused one: %v, %s, refunded %d", err, p.Status, p.RefundedAmount)
	}
}
