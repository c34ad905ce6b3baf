package epay_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
	"github.com/tenderpay/tender/epay/sim"
)

func intRef(v int) *int { return &v }

// A completed intent is decided by ePay's host record: an approved record is
// a capture whatever the intent says; an intent with no result or an
// unlisted one and no record stays open; documented results stay final.
func TestCompletedIntentDecidedByHostRecord(t *testing.T) {
	cases := []struct {
		name        string
		result      *int
		rec         sim.Record
		want        tender.Status // "" = no news
		failure     string
		discrepancy bool
	}{
		{"no result, no record", nil, sim.NoRecord, "", "", false},
		{"unlisted result, no record", intRef(9), sim.NoRecord, "", "", false},
		{"no result, approved record", nil, sim.ApprovedRecord, tender.StatusCaptured, "", true},
		{"unlisted result, declined record", intRef(9), sim.DeclinedRecord, tender.StatusFailed, tender.FailDeclined, false},
		{"FAILED, approved record", intRef(epay.ResultFailed), sim.ApprovedRecord, tender.StatusCaptured, "", true},
		{"FAILED, no record", intRef(epay.ResultFailed), sim.NoRecord, tender.StatusFailed, tender.FailProvider, false},
		{"BUSY, no record", intRef(epay.ResultBusy), sim.NoRecord, tender.StatusFailed, tender.FailTerminalBusy, false},
		{"MAX_TRANSACTIONS, approved record", intRef(epay.ResultMaxTransaction), sim.ApprovedRecord, tender.StatusCaptured, "", true},
		{"DECLINED, no record", intRef(epay.ResultDeclined), sim.NoRecord, tender.StatusFailed, tender.FailDeclined, false},
		{"CANCELLED, no record", intRef(epay.ResultCancelled), sim.NoRecord, tender.StatusCanceled, tender.FailCanceledAtTerminal, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.payment(1000)
			if err := e.start(p); err != nil {
				t.Fatal(err)
			}
			if err := e.sim.Complete(p.ID, c.result, c.rec); err != nil {
				t.Fatal(err)
			}
			u, err := e.conn.Status(context.Background(), e.op(p))
			if err != nil || u.Status != c.want || (u.Discrepancy != "") != c.discrepancy {
				t.Fatalf("%+v %v", u, err)
			}
			if c.want == "" && u.CheckIn <= 0 {
				t.Fatalf("no news without a CheckIn: %+v", u)
			}
			if c.failure != "" && (u.Failure == nil || u.Failure.Code != c.failure) {
				t.Fatalf("failure %+v, want %s", u.Failure, c.failure)
			}
		})
	}
}

// An approval of another amount, or with a tip, is captured as the terminal
// took it and raised as a discrepancy.
func TestApprovalOfAnotherAmountOrTip(t *testing.T) {
	cases := []struct {
		name             string
		amount, tip      int64
		captured         int64
		detailAmt, dtTip string
	}{
		{"tip", 0, 150, 1150, "10.00", "1.50"},
		{"lower amount", 900, 0, 900, "9.00", "0.00"},
		{"higher amount", 1100, 0, 1100, "11.00", "0.00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.payment(1000)
			if err := e.start(p); err != nil {
				t.Fatal(err)
			}
			if err := e.sim.TakeAmount(p.ID, c.amount, c.tip); err != nil {
				t.Fatal(err)
			}
			e.sim.Press(testTID)
			e.clock.Advance(10 * time.Second)
			u, err := e.conn.Status(context.Background(), e.op(p))
			if err != nil || u.Status != tender.StatusCaptured || u.Captured != c.captured || u.Discrepancy == "" ||
				u.Details[epay.DetailAmount] != c.detailAmt || u.Details[epay.DetailTip] != c.dtTip ||
				u.Details[epay.DetailMyDATATip] != c.dtTip {
				t.Fatalf("%+v %v", u, err)
			}
			if strings.Contains(u.Discrepancy, p.Details[epay.DetailMyDATASignature]+"x") || strings.Contains(u.Discrepancy, "s3cret") {
				t.Fatal("discrepancy carries a secret")
			}
		})
	}
	// The exact amount, no tip: no discrepancy.
	e := newEnv(t)
	p := e.payment(1000)
	e.start(p)
	e.sim.Press(testTID)
	e.clock.Advance(10 * time.Second)
	if u, err := e.conn.Status(context.Background(), e.op(p)); err != nil || u.Discrepancy != "" || u.Captured != 0 {
		t.Fatalf("%+v %v", u, err)
	}
}

// A validly signed payable amount other than the payment's, lower or
// higher, is refused before anything is sent.
func TestSignedPayableMustBeThePayments(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	inv, err := epay.ParseInvoice(invoice(1240, ""), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for payable, ok := range map[int64]bool{1000: true, 999: false, 1001: false, 1240: false} {
		c := epay.ClearText{UID: inv.UID(), Timestamp: epay.FormatTimestamp(now), Net: *inv.NetAmount,
			VAT: *inv.VATAmount, Total: *inv.TotalAmount, Payable: payable, TID: testTID}
		sig, err := epay.Sign(key, c.String())
		if err != nil {
			t.Fatal(err)
		}
		err = epay.CheckSigned(c, sig, &key.PublicKey, inv, 1000, testTID, now, 24*time.Hour)
		if (err == nil) != ok {
			t.Errorf("payable %d for a payment of 1000: %v", payable, err)
		}
	}
}

// Status of a payment stored pending: Start never called (nothing at ePay:
// no news, then failed, or canceled when asked), or Start's txninit reached
// ePay and its answer was lost (the intent is found by the payment id).
func TestStatusOfPendingPayment(t *testing.T) {
	e := newEnv(t)
	never := e.payment(1000)
	if u, err := e.conn.Status(context.Background(), e.op(never)); err != nil || u.Status != "" || u.CheckIn <= 0 {
		t.Fatalf("never started, at once: %+v %v", u, err)
	}
	e.clock.Advance(2 * time.Minute)
	op := e.op(never)
	op.CancelRequested = true
	if u, err := e.conn.Status(context.Background(), op); err != nil || u.Status != tender.StatusCanceled {
		t.Fatalf("never started, cancel requested: %+v %v", u, err)
	}
	if u, err := e.conn.Status(context.Background(), e.op(never)); err != nil || u.Status != tender.StatusFailed ||
		!strings.Contains(u.Failure.Message, "never reached ePay") {
		t.Fatalf("never started: %+v %v", u, err)
	}
	if _, ok := e.sim.Intent(never.ID); ok {
		t.Fatal("Status sent the payment")
	}

	lost := e.payment(1200)
	e.drop.Store("/txninit/")
	if _, err := e.conn.Start(context.Background(), e.op(lost)); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("start with lost answer: %v", err)
	}
	e.drop.Store("")
	u, err := e.conn.Status(context.Background(), e.op(lost))
	if err != nil || u.Status != tender.StatusProcessing || u.ProviderReference == "" {
		t.Fatalf("lost answer: %+v %v", u, err)
	}
	e.apply(lost, u)
	e.sim.Press(testTID)
	e.settle(lost)
	if lost.Status != tender.StatusCaptured || len(e.ledger(lost.ID)) != 1 {
		t.Fatalf("%s %+v", lost.Status, e.ledger(lost.ID))
	}
}

// Cancel of a processing payment: a lost answer to the intent cancel is
// unknown (unavailable), and Status then shows the cancel took effect.
func TestCancelProcessingLostAnswer(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1500)
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	e.drop.Store("/txnvoid/")
	_, err := e.conn.Cancel(context.Background(), e.op(p))
	e.drop.Store("")
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("lost cancel answer: %v", err)
	}
	u, err := e.conn.Status(context.Background(), e.op(p))
	if err != nil || u.Status != tender.StatusCanceled {
		t.Fatalf("status after cancel: %+v %v", u, err)
	}
	if len(e.ledger(p.ID)) != 0 {
		t.Fatal("money moved")
	}
}

// A refund (a void of the sale) whose answer was lost is found by the host
// record's Voided flag; before it, the check is pending and sends nothing.
func TestCheckOperationRefund(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1000)
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	e.sim.Press(testTID)
	e.settle(p)
	op := e.op(p)
	op.Amount = p.CapturedAmount
	if out, _, err := e.conn.CheckOperation(context.Background(), tender.OpRefund, op); err != nil || out != tender.OpPending {
		t.Fatalf("before the void: %s %v", out, err)
	}
	e.drop.Store("/txnvoid/")
	_, err := e.conn.Refund(context.Background(), op)
	e.drop.Store("")
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("void with a lost answer: %v", err)
	}
	out, u, err := e.conn.CheckOperation(context.Background(), tender.OpRefund, op)
	if err != nil || out != tender.OpSucceeded || u.Status != tender.StatusRefunded {
		t.Fatalf("after the void: %s %+v %v", out, u, err)
	}
	if l := e.ledger(p.ID); len(l) != 1 || !l[0].Voided {
		t.Fatalf("ledger %+v", l)
	}
}

// A cancel that could not even ask ePay about the payment sent nothing: a
// refusal, not an outcome in doubt.
func TestCancelWhoseLookupFailedSentNothing(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1500)
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	e.drop.Store("/transactionintent/")
	_, err := e.conn.Cancel(context.Background(), e.op(p))
	e.drop.Store("")
	if c := tender.ErrorCodeOf(err); c == tender.EUnavailable || c == tender.EInternal {
		t.Fatalf("cancel whose lookup failed: %v", err)
	}
	if in, _ := e.sim.Intent(p.ID); in.Status != epay.StatusPending {
		t.Fatalf("intent %+v", in)
	}
}

// A 500 answer may come from a server that started what it was asked:
// a sale's txninit, a void and a refund sent to the terminal answered 500
// are in doubt (unavailable, reconciled), never refused, and the
// reconciliation finds what was done. (A 4xx is a refusal: nothing was
// started.)
func TestServerErrorIsInDoubt(t *testing.T) {
	e := newEnv(t)
	sale := func(amount int64, fail string) (*tender.Payment, error) {
		t.Helper()
		p := e.payment(amount)
		e.fail500.Store(fail)
		_, err := e.conn.Start(context.Background(), e.op(p))
		e.fail500.Store("")
		if err != nil {
			e.apply(p, tender.Update{Status: tender.StatusUnknown})
			u, err := e.conn.Status(context.Background(), e.op(p))
			if err != nil || u.Status != tender.StatusProcessing {
				t.Fatalf("status after a failed start: %+v %v", u, err)
			}
			e.apply(p, u)
		} else {
			e.apply(p, tender.Update{Status: tender.StatusProcessing})
		}
		e.sim.Press(testTID)
		e.settle(p)
		if p.Status != tender.StatusCaptured || len(e.ledger(p.ID)) != 1 {
			t.Fatalf("%s %+v", p.Status, e.ledger(p.ID))
		}
		return p, err
	}
	p, err := sale(1000, "/txninit/")
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("a sale answered 500: %v, want unavailable (in doubt)", err)
	}

	// A void (the whole amount, the batch open) answered 500; the check
	// finds it done.
	op := e.op(p)
	op.ID, op.Amount = "refund-all", p.CapturedAmount
	e.fail500.Store("/txnvoid/")
	_, err = e.conn.Refund(context.Background(), op)
	e.fail500.Store("")
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("a void answered 500: %v, want unavailable (in doubt)", err)
	}
	if out, u, err := e.conn.CheckOperation(context.Background(), tender.OpRefund, op); err != nil || out != tender.OpSucceeded || u.Status != tender.StatusRefunded {
		t.Fatalf("the void answered 500, checked: %s %+v %v", out, u, err)
	}

	// A partial refund is a transaction of its own on the terminal.
	q, _ := sale(1100, "")
	op = e.op(q)
	op.ID, op.Amount = "refund-1", 400
	e.fail500.Store("/txninit/")
	_, err = e.conn.Refund(context.Background(), op)
	e.fail500.Store("")
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("a refund answered 500: %v, want unavailable (in doubt)", err)
	}
}
