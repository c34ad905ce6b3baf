package computop_test

import (
	"context"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/computop"
	"github.com/tenderpay/tender/computop/sim"
)

// captured pays amount with Wero and books it captured, as the engine does.
func (h *harness) captured(amount int64) *tender.Payment {
	h.t.Helper()
	p := h.start(amount, tender.CaptureAutomatic)
	h.shopper(p, "approve")
	h.mu.Lock()
	h.payments[p.ID].CapturedAmount = amount
	h.mu.Unlock()
	if got := h.get(p.ID); got.Status != tender.StatusCaptured {
		h.t.Fatalf("paid: %s", got.Status)
	}
	return h.get(p.ID)
}

// refund calls Refund and, when it succeeds, books it as the engine does.
func (h *harness) refund(id, opID string, amount int64) (tender.Update, error) {
	u, err := h.conn.Refund(context.Background(), h.op(h.get(id), opID, amount))
	if err == nil {
		h.bookRefund(id, amount)
	}
	return u, err
}

func (h *harness) bookRefund(id string, amount int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.payments[id]
	p.RefundedAmount += amount
	p.Status = tender.StatusPartiallyRefunded
	if p.RefundedAmount == p.CapturedAmount {
		p.Status = tender.StatusRefunded
	}
}

// A Wero payment is refunded through credit.aspx in parts; a retry with the
// same operation id (ReqId) credits nothing twice; Tender refuses more than
// is left before sending, and so does Paygate when Tender's record is wrong.
func TestRefundPartialAndRepeated(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.captured(1999)
	u, err := h.refund(p.ID, "ref-1", 500)
	if err != nil || u.Details["last_refund_xid"] == "" {
		t.Fatalf("refund 500: %+v %v", u, err)
	}
	if e := h.ledger(p.ID); e.AmountCred != 500 || len(e.Credits) != 1 || e.Credits[0].ReqID != "ref-1" {
		t.Fatalf("ledger after one refund: %+v", e)
	}
	// The same request again (its answer lost, say): Paygate answers as
	// before and credits nothing.
	again, err := h.conn.Refund(context.Background(), h.op(h.get(p.ID), "ref-1", 500))
	if err != nil || again.Details["last_refund_xid"] != u.Details["last_refund_xid"] {
		t.Fatalf("repeated refund: %+v %v", again, err)
	}
	if e := h.ledger(p.ID); e.AmountCred != 500 || len(e.Credits) != 1 {
		t.Fatalf("a repeated ReqId credited again: %+v", e)
	}
	sent := h.s2s.Load()
	if _, err := h.refund(p.ID, "ref-2", 1500); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("refund beyond what is left: %v", err)
	}
	if h.s2s.Load() != sent {
		t.Fatal("a refund beyond what is left was sent")
	}
	// Paygate's own rule: credits never above the captured amount.
	lying := h.get(p.ID)
	lying.RefundedAmount = 0
	if _, err := h.conn.Refund(context.Background(), h.op(lying, "ref-3", 1600)); tender.ErrorCodeOf(err) != tender.EProvider {
		t.Fatalf("credit beyond the capture at Paygate: %v", err)
	}
	if _, err := h.refund(p.ID, "ref-4", 1499); err != nil {
		t.Fatalf("refund of the rest: %v", err)
	}
	if e := h.ledger(p.ID); e.AmountCred != 1999 || len(e.Credits) != 2 || e.AmountCap != 1999 {
		t.Fatalf("ledger after the rest: %+v", e)
	}
	if got := h.get(p.ID); got.Status != tender.StatusRefunded {
		t.Fatalf("status %s", got.Status)
	}
}

// An authorization (manual capture, nothing captured) has nothing to refund;
// a partially captured one refunds what was captured.
func TestRefundOfManualCapture(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(3000, tender.CaptureManual)
	h.shopper(p, "approve")
	if _, err := h.conn.Refund(context.Background(), h.op(h.get(p.ID), "ref-0", 100)); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("refund of an authorization: %v", err)
	}
	if _, err := h.conn.Capture(context.Background(), h.op(h.get(p.ID), "cap-1", 1200)); err != nil {
		t.Fatal(err)
	}
	h.book(p.ID, 1200)
	if _, err := h.refund(p.ID, "ref-1", 1200); err != nil {
		t.Fatalf("refund of the capture: %v", err)
	}
	if e := h.ledger(p.ID); e.AmountCred != 1200 || e.AmountCap != 1200 || e.AmountAuth != 3000 {
		t.Fatalf("ledger %+v", e)
	}
}

// Sandbox rules on the credit's amount: 51 declines it, 55 carries it out
// and never answers.
func TestRefundSandboxRules(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.captured(2000)
	if _, err := h.refund(p.ID, "ref-51", 151); tender.ErrorCodeOf(err) != tender.EProvider {
		t.Fatalf("rule 51: %v", err)
	}
	if e := h.ledger(p.ID); e.AmountCred != 0 {
		t.Fatalf("a declined credit was booked: %+v", e)
	}
	if _, err := h.refund(p.ID, "ref-55", 255); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("rule 55: %v", err)
	}
	if e := h.ledger(p.ID); e.AmountCred != 255 {
		t.Fatalf("rule 55 credit not carried out: %+v", e)
	}
	out, _, err := h.conn.CheckOperation(context.Background(), tender.OpRefund, h.op(h.get(p.ID), "ref-55", 255))
	if err != nil || out != tender.OpSucceeded {
		t.Fatalf("check of the rule 55 credit: %s %v", out, err)
	}
}

// A refund whose answer was lost is found by Paygate's credited total:
// succeeded when it holds the refund on top of what Tender booked, pending
// while it could still arrive, failed once the capture leaves no room.
func TestCheckOperationRefund(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	ctx := context.Background()
	p := h.captured(2000)
	check := func(opID string, amount int64) tender.OpOutcome {
		t.Helper()
		out, _, err := h.conn.CheckOperation(ctx, tender.OpRefund, h.op(h.get(p.ID), opID, amount))
		if err != nil {
			t.Fatalf("check %s: %v", opID, err)
		}
		return out
	}
	if out := check("ref-1", 700); out != tender.OpPending {
		t.Fatalf("before any refund: %s", out)
	}
	restore := h.loseAnswers("/credit.aspx")
	_, err := h.conn.Refund(ctx, h.op(h.get(p.ID), "ref-1", 700))
	restore()
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("refund with a lost answer: %v", err)
	}
	if out := check("ref-1", 700); out != tender.OpSucceeded {
		t.Fatalf("after the refund: %s", out)
	}
	h.bookRefund(p.ID, 700)
	if out := check("ref-2", 500); out != tender.OpPending {
		t.Fatalf("a refund not on record: %s", out)
	}
	if out := check("ref-3", 1400); out != tender.OpFailed {
		t.Fatalf("a refund of more than is left: %s", out)
	}
	if e := h.ledger(p.ID); len(e.Credits) != 1 || e.AmountCred != 700 {
		t.Fatalf("the checks changed the ledger: %+v", e)
	}
}
