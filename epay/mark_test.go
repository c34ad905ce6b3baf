package epay_test

import (
	"strings"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
)

// An invoice already given its MARK by myDATA is signed with it: Impact
// signs the MARK Tender sends, and the signature of a payment whose MARK
// was not sent would not be this invoice's (CheckSigned refuses it).
func TestApprovalSignsTheInvoiceMark(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1240)
	p.Input = invoice(1240, "400013293980417")
	if err := e.conn.ValidatePayment(p, e.acct, e.term); err != nil {
		t.Fatal(err)
	}
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	if !e.sim.Press(testTID) {
		t.Fatal("no pending intent on the terminal")
	}
	e.settle(p)
	if p.Status != tender.StatusCaptured {
		t.Fatalf("status %s (%+v)", p.Status, p.Failure)
	}
	c, err := epay.ParseClearText(p.Details["mydata_pos_input"])
	if err != nil {
		t.Fatal(err)
	}
	if c.Mark != "400013293980417" || c.Payable != 1240 {
		t.Fatalf("signed input %+v: want the invoice's MARK", c)
	}
	if err := epay.Verify(e.sim.ImpactPublicKey(), p.Details["mydata_pos_input"], p.Details["mydata_signature"]); err != nil {
		t.Fatal(err)
	}
}

// Impact refusing the account's key (401) is told as that, apart from
// Impact failing otherwise; either way nothing reached the terminal.
func TestImpactRefusalNamesTheKey(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1240)
	good := e.acct.Credentials["impact_api_key"]
	e.acct.Credentials["impact_api_key"] = "not-the-key"
	err := e.start(p)
	if err == nil || tender.ErrorCodeOf(err) != tender.EProvider || !strings.Contains(err.Error(), "Impact refused the account's impact_api_key") {
		t.Fatalf("a refused Impact key: %v", err)
	}
	if strings.Contains(err.Error(), "not-the-key") {
		t.Fatalf("the key reached the error: %v", err)
	}
	e.acct.Credentials["impact_api_key"] = good
	e.acct.Settings["impact_url"] = e.srv.URL + "/nowhere"
	q := e.payment(1240)
	if err := e.start(q); err == nil || strings.Contains(err.Error(), "impact_api_key") || !strings.Contains(err.Error(), "nothing was sent to the terminal") {
		t.Fatalf("Impact failing otherwise: %v", err)
	}
	if len(e.ledger(p.ID))+len(e.ledger(q.ID)) != 0 {
		t.Fatal("a payment reached the terminal")
	}
}

// A terminal's api_key revoked at ePay (the merchant unpaired it) is told
// as that, with what to do; nothing reaches the terminal.
func TestRevokedTerminalKeyNamed(t *testing.T) {
	e := newEnv(t)
	e.sim.RevokeAPIKey(e.term.Credentials["api_key"])
	p := e.payment(1000)
	err := e.start(p)
	if tender.ErrorCodeOf(err) != tender.EProvider || !strings.Contains(err.Error(), "pair the terminal again") {
		t.Fatalf("a revoked api_key: %v", err)
	}
	if strings.Contains(err.Error(), e.term.Credentials["api_key"]) {
		t.Fatal("the key reached the error")
	}
	if len(e.ledger(p.ID)) != 0 {
		t.Fatal("a payment reached the terminal")
	}
}
