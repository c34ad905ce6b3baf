package epay_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
	"github.com/tenderpay/tender/epay/sim"
)

// settledSale is a captured sale of amount.
func (e *env) settledSale(amount int64) *tender.Payment {
	e.t.Helper()
	p := e.payment(amount)
	if err := e.start(p); err != nil {
		e.t.Fatal(err)
	}
	e.sim.Press(testTID)
	e.settle(p)
	if p.Status != tender.StatusCaptured {
		e.t.Fatalf("sale %s", p.Status)
	}
	return p
}

// started is a payment of amount sent to the terminal.
func (e *env) started(amount int64) *tender.Payment {
	e.t.Helper()
	p := e.payment(amount)
	if err := e.start(p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// status asks ePay about p as the engine does and returns the answer.
func (e *env) status(p *tender.Payment) tender.Update {
	e.t.Helper()
	u, err := e.conn.Status(context.Background(), e.op(p))
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// dropState removes key from p's stored state, as a state written by an
// earlier version would lack it.
func (e *env) dropState(p *tender.Payment, key string) {
	e.t.Helper()
	var st map[string]any
	if err := json.Unmarshal(p.State, &st); err != nil || st[key] == nil {
		e.t.Fatalf("state %s without %s: %v", p.State, key, err)
	}
	delete(st, key)
	p.State, _ = json.Marshal(st)
}

// refundEndingAs sends a partial refund of p and, while the connector
// waits for the terminal, ends its transaction with result and the host
// record rec.
func (e *env) refundEndingAs(p *tender.Payment, opID string, amount int64, result *int, rec sim.Record) (tender.Update, error) {
	e.t.Helper()
	return e.followUpEndingAs(p, opID, amount, e.conn.Refund, result, rec, nil)
}

// followUpEndingAs sends the follow-up call (Refund, Capture) of amount on
// p and, while the connector waits for the terminal, ends its transaction
// with result and the host record rec, of hostAmount if not nil.
func (e *env) followUpEndingAs(p *tender.Payment, opID string, amount int64, call func(context.Context, *tender.Op) (tender.Update, error),
	result *int, rec sim.Record, hostAmount *int64) (tender.Update, error) {
	e.t.Helper()
	op := e.op(p)
	op.ID, op.Amount = opID, amount
	type answer struct {
		u   tender.Update
		err error
	}
	done := make(chan answer, 1)
	go func() {
		u, err := call(context.Background(), op)
		done <- answer{u, err}
	}()
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		select {
		case a := <-done:
			e.t.Fatalf("the follow-up ended before it reached the terminal: %+v %v", a.u, a.err)
		default:
		}
		if time.Now().After(end) {
			e.t.Fatal("the follow-up never reached the terminal")
		}
		if hostAmount != nil && e.sim.FollowUpHostAmount(p.ID, *hostAmount) != nil {
			continue
		}
		if e.sim.CompleteFollowUp(p.ID, result, rec) == nil {
			break
		}
	}
	a := <-done
	return a.u, a.err
}

// A refund transaction that ends UNKNOWN, without its host record's link
// or AADE id (the terminal lost track), is decided by the host record found
// by its CustomerReference and type: approved, it is done, and its AADE
// transaction id (which the credit note needs) is derived from that
// record; the sale's own record, of the same terminal, is not taken for it.
func TestRefundDecidedByItsHostRecord(t *testing.T) {
	e := newEnv(t)
	p := e.settledSale(1000)
	u, err := e.refundEndingAs(p, "refund-1", 300, intRef(epay.ResultUnknown), sim.ApprovedRecord)
	if err != nil {
		t.Fatalf("an approved refund whose intent ended UNKNOWN: %v", err)
	}
	var refund *sim.Entry
	for _, l := range e.sim.Ledger() {
		if l.Of == p.ID && l.TxnType == epay.TxnRefund {
			refund = &l
		}
	}
	if refund == nil || !refund.Approved || refund.Amount != 300 || refund.TransactionID == "" {
		t.Fatalf("ledger %+v", e.sim.Ledger())
	}
	if got := u.Details[epay.DetailLastRefundTransactionID]; got != refund.TransactionID || got == p.Details["mydata_transaction_id"] {
		t.Fatalf("refund transaction id %q, want the refund record's %q (the sale's is %q)", got, refund.TransactionID, p.Details["mydata_transaction_id"])
	}

	// Declined at the host: refused, the host's answer named; UNKNOWN with
	// no record at all stays in doubt.
	if _, err := e.refundEndingAs(p, "refund-2", 200, intRef(epay.ResultDeclined), sim.DeclinedRecord); tender.ErrorCodeOf(err) != tender.EProvider ||
		err.Error() != "provider: the terminal did not carry out the refund (DECLINED, host response 051)" || tender.AsError(err).ProviderCode != "DECLINED" {
		t.Fatalf("a declined refund: %v", err)
	}
	if _, err := e.refundEndingAs(p, "refund-3", 200, intRef(epay.ResultUnknown), sim.NoRecord); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("an UNKNOWN refund with no record: %v, want in doubt", err)
	}
}

// A refund of nothing, or of more than is left, is refused before anything
// is sent; a sale whose state does not hold ePay's backend terminal id
// (stored by an earlier version) is refunded after looking it up.
func TestRefundAmountAndTerminalLookup(t *testing.T) {
	e := newEnv(t)
	p := e.settledSale(1000)
	for _, amount := range []int64{0, -1, 1001} {
		op := e.op(p)
		op.ID, op.Amount = "bad", amount
		if _, err := e.conn.Refund(context.Background(), op); tender.ErrorCodeOf(err) != tender.EInvalid {
			t.Fatalf("a refund of %d: %v", amount, err)
		}
	}
	e.dropState(p, "terminal_id")
	u, err := e.refundEndingAs(p, "refund-1", 300, intRef(epay.ResultApproved), sim.ApprovedRecord)
	if err != nil || u.Details[epay.DetailLastRefundTransactionID] == "" {
		t.Fatalf("a refund of a sale without the backend terminal id: %+v %v", u, err)
	}
	for _, l := range e.sim.Ledger() {
		if l.Of != "" && l.Of != p.ID {
			t.Fatalf("ledger %+v", e.sim.Ledger())
		}
	}
}

// A refund transaction that completed with no result and no host record is
// in doubt, not refused: the terminal may yet have paid the money back.
func TestRefundWithoutResultOrRecordInDoubt(t *testing.T) {
	e := newEnv(t)
	p := e.settledSale(1000)
	if _, err := e.refundEndingAs(p, "refund-1", 300, nil, sim.NoRecord); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("a refund with no result and no record: %v, want in doubt", err)
	}
}
