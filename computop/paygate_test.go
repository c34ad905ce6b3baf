package computop_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/computop"
	"github.com/tenderpay/tender/computop/sim"
)

// bindingOf is the UserData Tender binds a payment's amount and currency
// with, computed from the merchant's HMAC key as a genuine Paygate echo
// would carry it.
func bindingOf(id string, amount int64) string {
	a := strconv.FormatInt(amount, 10)
	return a + ".EUR." + computop.MAC([]byte(testHMAC), "tender-userdata", id, a, "EUR")[:24]
}

// TestOnlyCode00000000IsPaid: a verified result with Status OK counts as
// paid only with the code 00000000 exactly, not any code that starts with
// 0 or merely looks like it.
func TestOnlyCode00000000IsPaid(t *testing.T) {
	for _, code := range []string{"00000001", "01000000", "00000010", "0000000", "000000000", "0", ""} {
		t.Run(strconv.Quote(code), func(t *testing.T) {
			h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
			p := h.start(5000, tender.CaptureAutomatic)
			payID := strings.Repeat("3", 32)
			h.send("notify", forge(t, result(payID, p.ID, "OK", code, bindingOf(p.ID, 5000))), true)
			if got := h.get(p.ID); got.Status != tender.StatusRequiresAction {
				t.Fatalf("Status OK with code %q made the payment %s", code, got.Status)
			}
		})
	}
	for _, code := range []string{"00000001", "01000000", "0000000"} {
		if computop.KindOf(code) == computop.KindOK {
			t.Errorf("KindOf(%q) is OK", code)
		}
	}
	// The control: the same result with 00000000 is believed.
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(5000, tender.CaptureAutomatic)
	if code := h.send("notify", forge(t, result(strings.Repeat("3", 32), p.ID, "OK", computop.CodeOK, bindingOf(p.ID, 5000))), true); code != 200 {
		t.Fatalf("a genuine success result: HTTP %d", code)
	}
	if got := h.get(p.ID); got.Status != tender.StatusCaptured && got.Status != tender.StatusAuthorized {
		t.Fatalf("a genuine success result left the payment %s", got.Status)
	}
}

// TestResultMustBindTheAmount: a verified success result whose Amount is
// not the payment's (lower or higher), whose UserData binds another amount,
// or that lacks UserData, is refused and changes nothing.
func TestResultMustBindTheAmount(t *testing.T) {
	for _, tc := range []struct {
		name     string
		userData string
		amount   string // the result's Amount, "" for none
	}{
		{"lower Amount", "binding", "4999"},
		{"higher Amount", "binding", "5001"},
		{"UserData of a lower amount", "lower", ""},
		{"no UserData", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
			p := h.start(5000, tender.CaptureAutomatic)
			ud := map[string]string{"binding": bindingOf(p.ID, 5000), "lower": bindingOf(p.ID, 4999), "": ""}[tc.userData]
			fields := result(strings.Repeat("3", 32), p.ID, "OK", computop.CodeOK, ud)
			if tc.userData == "" {
				fields = fields[:len(fields)-1] // no UserData field at all
			}
			if tc.amount != "" {
				fields = append(fields, [2]string{"Amount", tc.amount})
			}
			if code := h.send("notify", forge(t, fields), true); code < 400 {
				t.Fatalf("accepted with HTTP %d", code)
			}
			if got := h.get(p.ID); got.Status != tender.StatusRequiresAction {
				t.Fatalf("the refused result made the payment %s", got.Status)
			}
		})
	}
}

// TestResultMustBindTheCurrency: a verified success result that states a
// Currency other than the payment's is refused even when its UserData
// binds the payment's; one that states the payment's is believed.
func TestResultMustBindTheCurrency(t *testing.T) {
	for _, tc := range []struct {
		currency string
		ok       bool
	}{{"USD", false}, {"EUR", true}} {
		t.Run(tc.currency, func(t *testing.T) {
			h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
			p := h.start(5000, tender.CaptureAutomatic)
			fields := append(result(strings.Repeat("3", 32), p.ID, "OK", computop.CodeOK, bindingOf(p.ID, 5000)),
				[2]string{"Currency", tc.currency})
			code := h.send("notify", forge(t, fields), true)
			got := h.get(p.ID).Status
			if tc.ok && (code != 200 || got == tender.StatusRequiresAction) {
				t.Fatalf("a result in the payment's currency: HTTP %d, payment %s", code, got)
			}
			if !tc.ok && (code < 400 || got != tender.StatusRequiresAction) {
				t.Fatalf("a result in %s for a EUR payment: HTTP %d, payment %s", tc.currency, code, got)
			}
		})
	}
}

// TestPendingResultKeepsThePayID: a verified result that is not final yet
// (a code of kind 6) decides nothing, but the PayID it names is kept, at
// once, for the status questions that follow.
func TestPendingResultKeepsThePayID(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(5000, tender.CaptureAutomatic)
	payID := strings.Repeat("4", 32)
	if code := h.send("notify", forge(t, result(payID, p.ID, "OK", "60000000", bindingOf(p.ID, 5000))), true); code != 200 {
		t.Fatalf("a pending result: HTTP %d", code)
	}
	got := h.get(p.ID)
	if got.Status != tender.StatusRequiresAction || got.ProviderReference != payID {
		t.Fatalf("after a pending result: %s, PayID %q; want requires_action, %s", got.Status, got.ProviderReference, payID)
	}
}
