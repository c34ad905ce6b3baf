package epay_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
	"github.com/tenderpay/tender/epay/sim"
)

// Completing a pre-authorization (mutation survivors): a capture of
// nothing is refused; the completion's host record says what was taken,
// and another amount than the capture's is a discrepancy; a sale whose
// state lacks ePay's backend terminal id is completed, and cancelled,
// after looking it up.
func TestCompletionAmounts(t *testing.T) {
	e := newEnv(t)
	p := e.preAuth(3000)
	for _, amount := range []int64{0, -5, 3001} {
		op := e.op(p)
		op.ID, op.Amount = "cap-bad", amount
		if _, err := e.conn.Capture(context.Background(), op); tender.ErrorCodeOf(err) != tender.EInvalid {
			t.Fatalf("a capture of %d: %v", amount, err)
		}
	}
	e.dropState(p, "terminal_id")
	taken := int64(2400)
	u, err := e.followUpEndingAs(p, "cap-1", 2500, e.conn.Capture, intRef(epay.ResultApproved), sim.ApprovedRecord, &taken)
	if err != nil || u.Status != tender.StatusCaptured {
		t.Fatalf("completion: %+v %v", u, err)
	}
	if u.Details[epay.DetailMyDATAAmount] != "24.00" || !strings.Contains(u.Discrepancy, "completed EUR 24.00 of a capture of EUR 25.00") {
		t.Fatalf("a completion of 24.00 for a capture of 25.00: %+v", u)
	}

	// The host record gives no amount: the intent's is what was taken.
	q := e.preAuth(2000)
	none := int64(0)
	u, err = e.followUpEndingAs(q, "cap-2", 2000, e.conn.Capture, intRef(epay.ResultApproved), sim.ApprovedRecord, &none)
	if err != nil || u.Status != tender.StatusCaptured || u.Discrepancy != "" || u.Details[epay.DetailMyDATAAmount] != "20.00" {
		t.Fatalf("a completion whose record gives no amount: %+v %v", u, err)
	}

	// Cancelling a pre-authorization whose state lacks the terminal id.
	r := e.preAuth(1500)
	e.dropState(r, "terminal_id")
	if u, err := e.conn.Cancel(context.Background(), e.op(r)); err != nil || u.Status != tender.StatusCanceled {
		t.Fatalf("cancel of a pre-authorization without the stored terminal id: %+v %v", u, err)
	}
}

// A lookup that fails with a refusal of its own (an account the connector
// cannot use) keeps that refusal; only an unavailable ePay becomes
// "nothing was sent".
func TestLookupRefusalKept(t *testing.T) {
	e := newEnv(t)
	p := e.settledSale(1000)
	op := e.op(p)
	acct := *e.acct
	acct.Settings = map[string]string{}
	op.Account = &acct
	if _, err := e.conn.Cancel(context.Background(), op); tender.ErrorCodeOf(err) != tender.EInvalid || strings.Contains(err.Error(), "nothing was sent") {
		t.Fatalf("cancel with an account lacking its settings: %v", err)
	}
}
