package epay_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
	"github.com/tenderpay/tender/epay/sim"
)

// operator plays the person at the terminal while a follow-up operation
// waits: it presses the ECR key and lets the (fake) clock run, until the
// returned func is called.
func (e *env) operator() func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			e.sim.Press(testTID)
			e.clock.Advance(time.Second)
		}
	}()
	return func() { close(done); <-stopped }
}

func (e *env) refund(p *tender.Payment, opID string, amount int64) (tender.Update, error) {
	op := e.op(p)
	op.ID, op.Amount = opID, amount
	stop := e.operator()
	defer stop()
	u, err := e.conn.Refund(context.Background(), op)
	if err == nil {
		p.RefundedAmount += amount
		for k, v := range u.Details {
			p.Details[k] = v
		}
	}
	return u, err
}

// follow returns the ledger's follow-up transactions of payment ref.
func (e *env) follow(ref string, txnType int) []sim.Entry {
	var out []sim.Entry
	for _, l := range e.sim.Ledger() {
		if l.Of == ref && l.TxnType == txnType {
			out = append(out, l)
		}
	}
	return out
}

func (e *env) approvedSale(amount int64) *tender.Payment {
	e.t.Helper()
	p := e.payment(amount)
	if err := e.start(p); err != nil {
		e.t.Fatal(err)
	}
	e.sim.Press(testTID)
	e.settle(p)
	if p.Status != tender.StatusCaptured {
		e.t.Fatalf("sale: %s", p.Status)
	}
	return p
}

// Partial and later refunds are refund transactions (TxnType 1) linked to
// the sale, each with its own AADE transaction id for the credit note; a
// retried request refunds once; ePay refuses refunds beyond the sale.
func TestPartialAndLaterRefunds(t *testing.T) {
	e := newEnv(t)
	p := e.approvedSale(2000)
	u, err := e.refund(p, "ref-1", 500)
	if err != nil || len(u.Details[epay.DetailLastRefundTransactionID]) != 21 {
		t.Fatalf("partial refund: %+v %v", u, err)
	}
	first := u.Details[epay.DetailLastRefundTransactionID]
	refunds := e.follow(p.ID, epay.TxnRefund)
	if len(refunds) != 1 || !refunds[0].Approved || refunds[0].Amount != 500 || refunds[0].TransactionID != first {
		t.Fatalf("ledger refunds %+v", refunds)
	}
	if u.Details["refund_"+refunds[0].IntentID+"_transaction_id"] != first || u.Details["refund_"+refunds[0].IntentID+"_amount"] != "5.00" {
		t.Fatalf("details %v", u.Details)
	}
	// The same request again: it finds its transaction and sends nothing.
	p.RefundedAmount -= 500
	again, err := e.refund(p, "ref-1", 500)
	if err != nil || again.Details[epay.DetailLastRefundTransactionID] != first || len(e.follow(p.ID, epay.TxnRefund)) != 1 {
		t.Fatalf("retried refund: %+v %v; ledger %+v", again, err, e.follow(p.ID, epay.TxnRefund))
	}
	if _, err := e.refund(p, "ref-2", 1501); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("refund beyond what is left: %v", err)
	}
	// ePay's own rule: never more refunded than the sale took.
	lying := *p
	lying.RefundedAmount = 0
	if _, err := e.refund(&lying, "ref-3", 1600); tender.ErrorCodeOf(err) != tender.EProvider {
		t.Fatalf("refund beyond the sale at ePay: %v", err)
	}
	// The rest, after a partial refund: a refund transaction, not a void.
	if _, err := e.refund(p, "ref-4", 1500); err != nil {
		t.Fatal(err)
	}
	sale := e.ledger(p.ID)
	if len(sale) != 1 || sale[0].Voided || len(e.follow(p.ID, epay.TxnRefund)) != 2 {
		t.Fatalf("sale %+v refunds %+v", sale, e.follow(p.ID, epay.TxnRefund))
	}
	// A refund declined on the terminal (sandbox rule 51) is refused.
	q := e.approvedSale(3000)
	if _, err := e.refund(q, "ref-51", 151); tender.ErrorCodeOf(err) != tender.EProvider {
		t.Fatalf("declined refund: %v", err)
	}
}

// A refund whose answer was lost is found by its own transaction: pending
// while the terminal works on it, succeeded (with its transaction id) once
// the host approved it; one that never reached ePay failed.
func TestCheckOperationRefundTransaction(t *testing.T) {
	e := newEnv(t)
	p := e.approvedSale(2000)
	op := e.op(p)
	op.ID, op.Amount = "ref-lost", 700
	e.drop.Store("/txninit/")
	_, err := e.conn.Refund(context.Background(), op)
	e.drop.Store("")
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("refund with a lost answer: %v", err)
	}
	if out, _, err := e.conn.CheckOperation(context.Background(), tender.OpRefund, op); err != nil || out != tender.OpPending {
		t.Fatalf("refund on the terminal: %s %v", out, err)
	}
	e.sim.Press(testTID)
	e.clock.Advance(time.Minute)
	out, u, err := e.conn.CheckOperation(context.Background(), tender.OpRefund, op)
	if err != nil || out != tender.OpSucceeded || len(u.Details[epay.DetailLastRefundTransactionID]) != 21 {
		t.Fatalf("after the terminal: %s %+v %v", out, u, err)
	}
	// Rule 61: the first txninit of this refund is lost before ePay sees it.
	op.ID, op.Amount = "ref-61", 261
	if _, err := e.conn.Refund(context.Background(), op); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("refund whose request was lost: %v", err)
	}
	if out, _, err := e.conn.CheckOperation(context.Background(), tender.OpRefund, op); err != nil || out != tender.OpFailed {
		t.Fatalf("refund that never arrived: %s %v", out, err)
	}
	if got := e.follow(p.ID, epay.TxnRefund); len(got) != 1 {
		t.Fatalf("ledger refunds %+v", got)
	}
}

func (e *env) preAuth(amount int64) *tender.Payment {
	e.t.Helper()
	p := e.payment(amount)
	p.CaptureMode = tender.CaptureManual
	if err := e.start(p); err != nil {
		e.t.Fatal(err)
	}
	e.sim.Press(testTID)
	e.settle(p)
	if p.Status != tender.StatusAuthorized || p.CapturedAmount != 0 {
		e.t.Fatalf("pre-authorization: %s captured %d", p.Status, p.CapturedAmount)
	}
	return p
}

// capture "manual" is a pre-authorization (TxnType 2) that Capture completes
// once (TxnType 3) for at most its amount; the completion's transaction id
// goes to myDATA; a refund follows the completion up.
func TestPreAuthorizationCompletion(t *testing.T) {
	e := newEnv(t)
	p := e.preAuth(3000)
	if l := e.ledger(p.ID); len(l) != 1 || l[0].TxnType != epay.TxnPreAuth || !l[0].Approved {
		t.Fatalf("ledger %+v", l)
	}
	preAuthID := p.Details[epay.DetailMyDATATransactionID]
	op := e.op(p)
	op.ID, op.Amount = "cap-1", 3001
	if _, err := e.conn.Capture(context.Background(), op); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("capture beyond the pre-authorization: %v", err)
	}
	op.Amount = 2500
	stop := e.operator()
	u, err := e.conn.Capture(context.Background(), op)
	stop()
	if err != nil || u.Status != tender.StatusCaptured || u.Details[epay.DetailMyDATAAmount] != "25.00" ||
		len(u.Details[epay.DetailMyDATATransactionID]) != 21 || u.Details[epay.DetailMyDATATransactionID] == preAuthID {
		t.Fatalf("completion: %+v %v", u, err)
	}
	if text := strings.Join(u.Receipt.Lines, "\n"); !strings.Contains(text, "PRE-AUTH COMPLETION") || !strings.Contains(text, "AMOUNT: EUR 25.00") ||
		!strings.Contains(text, u.Details[epay.DetailMyDATATransactionID]) {
		t.Errorf("completion receipt:\n%s", text)
	}
	e.apply(p, u)
	p.CapturedAmount = 2500
	c := e.follow(p.ID, epay.TxnCompletion)
	if len(c) != 1 || c[0].Amount != 2500 || !c[0].Approved {
		t.Fatalf("ledger completions %+v", c)
	}
	// Completed once: a second completion is refused by ePay.
	p2 := *p
	p2.Status = tender.StatusAuthorized
	op2 := e.op(&p2)
	op2.ID, op2.Amount = "cap-2", 500
	stop = e.operator()
	_, err = e.conn.Capture(context.Background(), op2)
	stop()
	if tender.ErrorCodeOf(err) != tender.EProvider {
		t.Fatalf("second completion: %v", err)
	}
	if _, err := e.refund(p, "ref-1", 1000); err != nil {
		t.Fatalf("refund of a completion: %v", err)
	}
	if r := e.follow(p.ID, epay.TxnRefund); len(r) != 1 || r[0].Amount != 1000 {
		t.Fatalf("ledger refunds %+v", r)
	}
}

// A completion whose answer was lost is found by CheckOperation; a
// pre-authorization canceled is voided and stays canceled.
func TestPreAuthorizationInDoubtAndCancel(t *testing.T) {
	e := newEnv(t)
	p := e.preAuth(2000)
	op := e.op(p)
	op.ID, op.Amount = "cap-lost", 2000
	e.drop.Store("/txninit/")
	_, err := e.conn.Capture(context.Background(), op)
	e.drop.Store("")
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("completion with a lost answer: %v", err)
	}
	if out, _, err := e.conn.CheckOperation(context.Background(), tender.OpCapture, op); err != nil || out != tender.OpPending {
		t.Fatalf("completion on the terminal: %s %v", out, err)
	}
	e.sim.Press(testTID)
	e.clock.Advance(time.Minute)
	out, u, err := e.conn.CheckOperation(context.Background(), tender.OpCapture, op)
	if err != nil || out != tender.OpSucceeded || u.Status != tender.StatusCaptured || u.Details[epay.DetailMyDATAAmount] != "20.00" {
		t.Fatalf("after the terminal: %s %+v %v", out, u, err)
	}

	q := e.preAuth(1800)
	u, err = e.conn.Cancel(context.Background(), e.op(q))
	if err != nil || u.Status != tender.StatusCanceled {
		t.Fatalf("cancel of a pre-authorization: %+v %v", u, err)
	}
	e.apply(q, u)
	if l := e.ledger(q.ID); len(l) != 1 || !l[0].Voided {
		t.Fatalf("ledger %+v", l)
	}
	if u, err := e.conn.Status(context.Background(), e.op(q)); err != nil || (u.Status != "" && u.Status != tender.StatusCanceled) {
		t.Fatalf("status after the void: %+v %v", u, err)
	}
	if !strings.HasPrefix(q.Failure.Message, "The merchant canceled") {
		t.Errorf("failure %+v", q.Failure)
	}
}

// After the sale's batch is closed ePay refuses its void; the whole refund
// becomes a refund transaction instead, and the sale is not voided.
func TestFullRefundAfterBatchClosed(t *testing.T) {
	e := newEnv(t)
	p := e.approvedSale(2000)
	if !e.sim.CloseBatch(testTID) {
		t.Fatal("no terminal")
	}
	u, err := e.refund(p, "ref-all", 2000)
	if err != nil || len(u.Details[epay.DetailLastRefundTransactionID]) != 21 || u.Details["void_transaction_id"] != "" {
		t.Fatalf("refund after the batch closed: %+v %v", u, err)
	}
	if l := e.ledger(p.ID); len(l) != 1 || l[0].Voided {
		t.Fatalf("sale %+v", l)
	}
	if r := e.follow(p.ID, epay.TxnRefund); len(r) != 1 || r[0].Amount != 2000 || !r[0].Approved {
		t.Fatalf("refunds %+v", r)
	}
}
