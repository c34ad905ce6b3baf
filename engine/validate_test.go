package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
)

// TestPaymentRequestValidation pins every bound of a payment request: the
// bound itself is allowed, one past it is refused, and the field at fault
// is named.
func TestPaymentRequestValidation(t *testing.T) {
	base := func() PaymentRequest { return PaymentRequest{Amount: 1000, Currency: "EUR", Connector: "script"} }
	meta := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprint("k", i)] = "v"
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		edit  func(*PaymentRequest)
		param string // "" for valid
	}{
		{"valid", func(*PaymentRequest) {}, ""},
		{"amount 0", func(r *PaymentRequest) { r.Amount = 0 }, "amount"},
		{"amount 1", func(r *PaymentRequest) { r.Amount = 1 }, ""},
		{"negative amount", func(r *PaymentRequest) { r.Amount = -1 }, "amount"},
		{"largest amount", func(r *PaymentRequest) { r.Amount = tender.MaxAmount }, ""},
		{"amount too large", func(r *PaymentRequest) { r.Amount = tender.MaxAmount + 1 }, "amount"},
		{"no currency", func(r *PaymentRequest) { r.Currency = "" }, "currency"},
		{"lower-case currency", func(r *PaymentRequest) { r.Currency = "eur" }, "currency"},
		{"no connector, no terminal", func(r *PaymentRequest) { r.Connector = "" }, "connector"},
		{"terminal only", func(r *PaymentRequest) { r.Connector, r.Terminal = "", "till" }, ""},
		{"reference at its bound", func(r *PaymentRequest) { r.Reference = strings.Repeat("é", maxReference) }, ""},
		{"reference too long", func(r *PaymentRequest) { r.Reference = strings.Repeat("r", maxReference+1) }, "reference"},
		{"reference with a tab", func(r *PaymentRequest) { r.Reference = "a\tb" }, ""},
		{"reference with a space", func(r *PaymentRequest) { r.Reference = "a b" }, ""},
		{"reference with a control character", func(r *PaymentRequest) { r.Reference = "a\x1fb" }, "reference"},
		{"reference with DEL", func(r *PaymentRequest) { r.Reference = "a\x7fb" }, "reference"},
		{"reference not UTF-8", func(r *PaymentRequest) { r.Reference = "a\xffb" }, "reference"},
		{"description at its bound", func(r *PaymentRequest) { r.Description = strings.Repeat("d", maxDescription) }, ""},
		{"description too long", func(r *PaymentRequest) { r.Description = strings.Repeat("d", maxDescription+1) }, "description"},
		{"https return_url", func(r *PaymentRequest) { r.ReturnURL = "https://shop.test/done" }, ""},
		{"http return_url", func(r *PaymentRequest) { r.ReturnURL = "http://shop.test/done" }, ""},
		{"ftp return_url", func(r *PaymentRequest) { r.ReturnURL = "ftp://shop.test/done" }, "return_url"},
		{"relative return_url", func(r *PaymentRequest) { r.ReturnURL = "/done" }, "return_url"},
		{"return_url without a host", func(r *PaymentRequest) { r.ReturnURL = "https:///done" }, "return_url"},
		{"unparsable return_url", func(r *PaymentRequest) { r.ReturnURL = "https://shop.test/%zz" }, "return_url"},
		{"return_url at its bound", func(r *PaymentRequest) {
			r.ReturnURL = "https://shop.test/" + strings.Repeat("a", maxURL-len("https://shop.test/"))
		}, ""},
		{"return_url too long", func(r *PaymentRequest) {
			r.ReturnURL = "https://shop.test/" + strings.Repeat("a", maxURL-len("https://shop.test/")+1)
		}, "return_url"},
		{"manual capture", func(r *PaymentRequest) { r.Capture = tender.CaptureManual }, ""},
		{"unknown capture", func(r *PaymentRequest) { r.Capture = "later" }, "capture"},
		{"most metadata keys", func(r *PaymentRequest) { r.Metadata = meta(maxMetaKeys) }, ""},
		{"too many metadata keys", func(r *PaymentRequest) { r.Metadata = meta(maxMetaKeys + 1) }, "metadata"},
		{"empty metadata key", func(r *PaymentRequest) { r.Metadata = map[string]string{"": "v"} }, "metadata"},
		{"metadata key at its bound", func(r *PaymentRequest) { r.Metadata = map[string]string{strings.Repeat("ü", maxMetaKey): "v"} }, ""},
		{"metadata key too long", func(r *PaymentRequest) { r.Metadata = map[string]string{strings.Repeat("k", maxMetaKey+1): "v"} }, "metadata"},
		{"metadata value at its bound", func(r *PaymentRequest) { r.Metadata = map[string]string{"k": strings.Repeat("v", maxMetaValue)} }, ""},
		{"metadata value too long", func(r *PaymentRequest) { r.Metadata = map[string]string{"k": strings.Repeat("v", maxMetaValue+1)} }, "metadata.k"},
		{"metadata value with a control character", func(r *PaymentRequest) { r.Metadata = map[string]string{"k": "\x00"} }, "metadata.k"},
	} {
		r := base()
		tc.edit(&r)
		err := r.validate()
		if tc.param == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if te := tender.AsError(err); te == nil || te.Code != tender.EInvalid || te.Param != tc.param {
			t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.param)
		}
	}
	r := base()
	if r.validate(); r.Capture != tender.CaptureAutomatic {
		t.Errorf("capture defaults to %q, want automatic", r.Capture)
	}
}

// TestTerminalDecidesConnectorAndAccount: a terminal payment may name its
// terminal's connector and account, and no other.
func TestTerminalDecidesConnectorAndAccount(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	for _, tc := range []struct {
		name, connector, account, terminal, param string
	}{
		{"another connector", "other", "", "till", "connector"},
		{"another account", "", "acct2", "till", "account"},
		{"no such terminal", "", "", "nope", "terminal"},
		{"its own connector and account", "script", "acct", "till", ""},
	} {
		r := PaymentRequest{Amount: 1000, Currency: "EUR", Connector: tc.connector, Account: tc.account, Terminal: tc.terminal}
		p, err := e.CreatePayment(ctx, r, randomOperationID())
		if tc.param == "" {
			if err != nil || p.Connector != "script" || p.Account != "acct" || p.Terminal != "till" {
				t.Errorf("%s: %v, %v", tc.name, p, err)
			}
			continue
		}
		if te := tender.AsError(err); te == nil || te.Code != tender.EInvalid || te.Param != tc.param {
			t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.param)
		}
	}
}

// TestListLimitBounds: a page holds 1 to 100 payments; 0 means the
// default, and anything else is refused naming limit.
func TestListLimitBounds(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	for _, tc := range []struct {
		limit int
		ok    bool
	}{{-1, false}, {0, true}, {1, true}, {100, true}, {101, false}} {
		_, _, err := e.ListPayments(ctx, tender.PaymentFilter{Limit: tc.limit})
		if tc.ok && err != nil {
			t.Errorf("limit %d refused: %v", tc.limit, err)
		}
		if !tc.ok && (tender.ErrorCodeOf(err) != tender.EInvalid || tender.AsError(err).Param != "limit") {
			t.Errorf("limit %d: %v, want invalid naming limit", tc.limit, err)
		}
	}
}
