package computop_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/computop"
	"github.com/tenderpay/tender/computop/sim"
)

// loseAnswers loses the answers of Paygate's endpoint path (e.g.
// "/capture.aspx") until the returned func is called.
func (h *harness) loseAnswers(path string) func() {
	h.lose.Store(func(r *http.Request) bool { return strings.EqualFold(r.URL.Path, path) })
	return func() { h.lose.Store(func(*http.Request) bool { return false }) }
}

func (h *harness) book(id string, amount int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.payments[id]
	p.CapturedAmount += amount
	p.Status = tender.StatusPartiallyCaptured
	if p.CapturedAmount == p.Amount {
		p.Status = tender.StatusCaptured
	}
}

func (h *harness) check(p *tender.Payment, opID string, amount int64) (tender.OpOutcome, tender.Update) {
	h.t.Helper()
	out, u, err := h.conn.CheckOperation(context.Background(), tender.OpCapture, h.op(p, opID, amount))
	if err != nil {
		h.t.Fatalf("check %s: %v", opID, err)
	}
	return out, u
}

// A capture whose answer was lost is found by Paygate's captured total:
// succeeded when it holds the capture on top of what Tender booked, pending
// while it could still arrive, failed once it no longer can.
func TestCheckOperationCapture(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	ctx := context.Background()
	p := h.start(2000, tender.CaptureManual)
	h.shopper(p, "approve")
	if out, _ := h.check(h.get(p.ID), "cap-1", 800); out != tender.OpPending {
		t.Fatalf("before any capture: %s", out)
	}
	restore := h.loseAnswers("/capture.aspx")
	_, err := h.conn.Capture(ctx, h.op(h.get(p.ID), "cap-1", 800))
	restore()
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("capture with a lost answer: %v", err)
	}
	out, u := h.check(h.get(p.ID), "cap-1", 800)
	if out != tender.OpSucceeded || u.Status != tender.StatusPartiallyCaptured {
		t.Fatalf("after the capture: %s %+v", out, u)
	}
	h.book(p.ID, 800)
	// The next capture in doubt: Paygate's total holds only what is booked.
	if out, _ := h.check(h.get(p.ID), "cap-2", 500); out != tender.OpPending {
		t.Fatalf("a capture not on record: %s", out)
	}
	if out, _ := h.check(h.get(p.ID), "cap-3", 1500); out != tender.OpFailed {
		t.Fatalf("a capture of more than is left: %s", out)
	}
	h.clock.Add(computop.CaptureWindow + time.Minute)
	if out, _ := h.check(h.get(p.ID), "cap-2", 500); out != tender.OpFailed {
		t.Fatalf("after the capture window: %s", out)
	}
	if e := h.ledger(p.ID); len(e.Captures) != 1 || e.AmountCap != 800 {
		t.Fatalf("the checks changed the ledger: %+v", e)
	}
	if _, _, err := h.conn.CheckOperation(ctx, tender.OpCancel, h.op(h.get(p.ID), "cancel-1", 0)); tender.ErrorCodeOf(err) != tender.ENotSupported {
		t.Fatalf("cancel check: %v", err)
	}
}

// reverse.aspx undoes the last step, so a partially captured payment is not
// canceled: the capture would be reversed instead of the rest released.
func TestCancelPartiallyCapturedRefused(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(2000, tender.CaptureManual)
	h.shopper(p, "approve")
	if _, err := h.conn.Capture(context.Background(), h.op(h.get(p.ID), "cap-1", 800)); err != nil {
		t.Fatal(err)
	}
	h.book(p.ID, 800)
	_, err := h.conn.Cancel(context.Background(), h.op(h.get(p.ID), "cancel-1", 0))
	if tender.ErrorCodeOf(err) != tender.ENotSupported || !strings.Contains(tender.ErrorMessageOf(err), "undoes the last capture") {
		t.Fatalf("cancel of a partially captured payment: %v", err)
	}
	if e := h.ledger(p.ID); e.AmountCap != 800 || e.Reversals != 0 {
		t.Fatalf("ledger %+v", e)
	}
}

// Status of a payment stored pending: Start calls no one (the browser takes
// the request to Paygate), so whether it never ran or its answer was lost,
// Paygate does not know the payment. Status gives what Start gives, so the
// shopper can still pay; canceled when the merchant asked to cancel.
func TestStatusOfPendingPayment(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	ctx := context.Background()
	pending := func(amount int64) *tender.Payment {
		p := &tender.Payment{ID: tender.NewID("pay"), Amount: amount, Currency: "EUR", Status: tender.StatusPending,
			Connector: "computop", Account: h.acct.ID, CaptureMode: tender.CaptureAutomatic, Input: billing,
			CreatedAt: h.clock.Now(), OperationID: "create-" + t.Name()}
		h.mu.Lock()
		h.payments[p.ID] = p
		h.mu.Unlock()
		return h.get(p.ID)
	}
	p := pending(1500)
	if _, err := h.conn.Start(ctx, h.op(p, p.OperationID, 0)); err != nil { // its answer is lost
		t.Fatal(err)
	}
	u, err := h.conn.Status(ctx, h.op(p, "status", 0))
	if err != nil || u.Status != tender.StatusRequiresAction || u.NextAction == nil || !strings.Contains(u.NextAction.URL, "/WERO.aspx?") {
		t.Fatalf("pending: %+v %v", u, err)
	}
	if err := h.apply(p.ID, u); err != nil {
		t.Fatal(err)
	}
	h.shopper(h.get(p.ID), "approve")
	if got := h.get(p.ID).Status; got != tender.StatusCaptured {
		t.Fatalf("paid through the redirect from Status: %s", got)
	}
	h.ledger(p.ID)

	c := pending(1600)
	op := h.op(c, "status", 0)
	op.CancelRequested = true
	if u, err := h.conn.Status(ctx, op); err != nil || u.Status != tender.StatusCanceled || u.NextAction != nil {
		t.Fatalf("pending, cancel requested: %+v %v", u, err)
	}
	if es := h.sim.Payments(testMID, c.ID); len(es) != 0 {
		t.Fatalf("ledger %+v", es)
	}
}
