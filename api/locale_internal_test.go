package api

import (
	"testing"

	"github.com/tenderpay/tender"
)

// TestMoneyFormats: amounts as each language writes them.
func TestMoneyFormats(t *testing.T) {
	for _, tc := range []struct{ lang, cur, want string }{
		{"en", "EUR", "€10.50"}, {"nl", "EUR", "€\u00a010,50"}, {"de", "EUR", "10,50\u00a0€"},
		{"fr", "EUR", "10,50\u00a0€"}, {"el", "EUR", "10,50\u00a0€"}, {"en", "GBP", "£10.50"}, {"de", "SEK", "10,50\u00a0kr"},
	} {
		if got := pageWords[tc.lang].money(1050, tc.cur); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.lang, tc.cur, got, tc.want)
		}
	}
	if got := pageWords["en"].money(100, "JPY"); got != "¥100" {
		t.Errorf("JPY: %q", got)
	}
}

// TestShopperPageCancelFailed: a shopper whose cancel could not be done is
// told so in their language, instead of the last attempt's reason.
func TestShopperPageCancelFailed(t *testing.T) {
	s := &Server{}
	p := &tender.Payment{ID: "pay_1", Failure: &tender.Failure{Code: tender.FailDeclined}}
	if got := s.shopperPage(p, "nl", false).Notice; got != attemptWords["nl"].Declined {
		t.Errorf("after a decline: %q", got)
	}
	if got := s.shopperPage(p, "nl", true).Notice; got != attemptWords["nl"].CancelFailed || got == "" {
		t.Errorf("after a failed cancel: %q", got)
	}
	for lang, w := range attemptWords {
		if w.CancelFailed == "" {
			t.Errorf("%s has no words for a failed cancel", lang)
		}
	}
}
