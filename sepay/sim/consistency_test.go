package sim

import (
	"fmt"
	"testing"

	"github.com/tenderpay/tender/sepay"
)

// TestZeroPortSignedAsWritten: a zero terminalport is written "0", and the
// simulator signs what it writes, so a client that builds the string from
// the XML text (the notes' Go client rule, §4.4) verifies its answers, on
// success and on refusal. With ZeroPortSignedEmpty it signs "" as
// cardboard renders it, and Tender's client still verifies.
func TestZeroPortSignedAsWritten(t *testing.T) {
	for _, signedEmpty := range []bool{false, true} {
		s, srv := setup(t, Options{ZeroPortSignedEmpty: signedEmpty})
		s.AddTerminal("shop", "333", "", 0)
		for _, amount := range []string{"12.34", "0.00"} { // queued, and refused (04)
			v := startValues("Z"+amount, amount)
			v["sid"] = "333"
			_, m := post(t, srv, sepay.StartTransaction, v, intKey) // post checks Tender's (tolerant) verification
			if m == nil || m.Values["terminalport"] != "0" {
				t.Fatalf("terminalport %q, want 0 as written", m.Values["terminalport"])
			}
			raw := sepay.Verify(&simKey.PublicKey, sepay.StartTransaction.Result.Canonical(m.Values), m.Signature)
			if signedEmpty == (raw == nil) {
				t.Errorf("signedEmpty=%v amount %s status %s: verification over the XML text: %v", signedEmpty, amount, m.Values["status"], raw)
			}
		}
	}
}

// TestAmountRulesAgree: the simulator takes exactly the amounts Tender's
// parser reads as a positive number of cents (notes §3.2, §9.3: at most
// two decimals of value; 12.340 is 12.34).
func TestAmountRulesAgree(t *testing.T) {
	s, srv := setup(t, Options{})
	for i, a := range []string{"12.34", "12.340", "12.3400", "12.3", "12", "12.345", "1.005", "0.00", "-1.00", "12,34", "1e3", ".5"} {
		sid := fmt.Sprintf("9%02d", i)
		s.AddTerminal("shop", sid, "10.0.0.9", 4000)
		v := startValues("A"+sid, a)
		v["sid"] = sid
		_, m := post(t, srv, sepay.StartTransaction, v, intKey) // nil: a SOAP fault, not a decimal
		cents, err := sepay.ParseAmount(a)
		parsed := err == nil && cents > 0
		if simOK := m != nil && m.Values["status"] == sepay.StatusOK; simOK != parsed {
			t.Errorf("amount %q: simulator took it %v, Tender's parser ok=%v (%d, %v)", a, simOK, parsed, cents, err)
		}
	}
}
