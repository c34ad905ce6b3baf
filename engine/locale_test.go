package engine

import (
	"context"
	"testing"

	"github.com/tenderpay/tender"
)

// TestPaymentLocale: the request's locale is the payment's; without it a
// known metadata.locale is taken; an unknown metadata.locale stays
// metadata only, an unknown locale field is refused.
func TestPaymentLocale(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		locale   string
		metadata map[string]string
		want     string
	}{
		{"field", "de-at", map[string]string{"locale": "fr"}, "de-AT"},
		{"metadata", "", map[string]string{"locale": "fr"}, "fr"},
		{"unknown metadata", "", map[string]string{"locale": "tlh"}, ""},
		{"none", "", nil, ""},
	} {
		req := onlinePayment
		req.Locale, req.Metadata = c.locale, c.metadata
		p, err := e.CreatePayment(ctx, req, randomOperationID())
		if err != nil || p.Locale != c.want {
			t.Errorf("%s: %v, %v; want locale %q", c.name, p, err, c.want)
		}
	}
	req := onlinePayment
	req.Locale = "tlh"
	if _, err := e.CreatePayment(ctx, req, randomOperationID()); tender.AsError(err) == nil || tender.AsError(err).Param != "locale" {
		t.Errorf("unknown locale: %v; want invalid locale", err)
	}
}

// TestProviderTextsLocale: a provider is asked for its texts in the
// payment's locale, else in its merchant's default; a terminal payment
// (no provider text reaches a shopper) carries none.
func TestProviderTextsLocale(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	fr := "fr"
	if _, err := e.UpdateMerchant(ctx, tender.DefaultMerchant, MerchantRequest{DefaultLocale: &fr}); err != nil {
		t.Fatal(err)
	}
	var sent string
	w.conn.start.Set(func(_ context.Context, op *tender.Op) (tender.Update, error) {
		sent = op.Locale
		return tender.Update{Status: tender.StatusProcessing}, nil
	})
	for _, c := range []struct {
		name string
		req  PaymentRequest
		want string
	}{
		{"the payment's", PaymentRequest{Amount: 1000, Currency: "EUR", Connector: "script", Locale: "de"}, "de"},
		{"the merchant's default", PaymentRequest{Amount: 1000, Currency: "EUR", Connector: "script"}, "fr"},
		{"a terminal's", terminalPayment, ""},
	} {
		sent = "(not asked)"
		if _, err := e.CreatePayment(ctx, c.req, randomOperationID()); err != nil {
			t.Fatal(err)
		}
		if sent != c.want {
			t.Errorf("%s: the provider was asked in %q, want %q", c.name, sent, c.want)
		}
	}
}
