package engine

// Cancel outcomes that the mutation run of ops.go found unpinned (see
// ENGINE_SURVIVORS2.md).

import (
	"context"
	"testing"

	"github.com/tenderpay/tender"
)

// TestCancelOfASettledPaymentEndsByWhatWasCaptured: a cancel that finds
// the payment already captured ended as the money says. When the whole
// amount was taken, nothing was released: the cancel failed ("already
// captured"). When only part was taken and the cancel released the rest,
// the payment is captured for that part and the cancel succeeded.
func TestCancelOfASettledPaymentEndsByWhatWasCaptured(t *testing.T) {
	t.Run("captured in full", func(t *testing.T) {
		w := newWorld(t)
		e := w.engine(faultSchedule)
		p := w.authorized(e)
		// The sale finished at the provider before the cancel reached it.
		w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
			return tender.Update{Status: tender.StatusCaptured, Captured: 1000}, nil
		})
		got, err := e.Cancel(context.Background(), p.ID, "c1")
		if err != nil || got.Status != tender.StatusCaptured || got.CapturedAmount != 1000 {
			t.Fatalf("cancel of a captured sale: %v, %v", got, err)
		}
		evs := w.eventTypes(p.ID)
		if !has(evs, EvCancelFailed) || has(evs, EvCancelDone) {
			t.Fatalf("a cancel that released nothing did not fail: %v", evs)
		}
		if open := w.openOps(p.ID); len(open) != 0 {
			t.Fatalf("the cancel is still open: %+v", open)
		}
	})
	t.Run("rest released", func(t *testing.T) {
		w := newWorld(t)
		e := w.engine(faultSchedule)
		ctx := context.Background()
		p := w.authorized(e)
		if _, err := e.Capture(ctx, p.ID, 400, "cap"); err != nil {
			t.Fatal(err)
		}
		got, err := e.Cancel(ctx, p.ID, "c1")
		if err != nil || got.Status != tender.StatusCaptured || got.CapturedAmount != 400 {
			t.Fatalf("cancel of the rest of a partial capture: %v, %v; want captured 400", got, err)
		}
		evs := w.eventTypes(p.ID)
		if !has(evs, EvCancelDone) || has(evs, EvCancelFailed) {
			t.Fatalf("the cancel that released the rest did not succeed: %v", evs)
		}
		if open := w.openOps(p.ID); len(open) != 0 {
			t.Fatalf("the cancel is still open: %+v", open)
		}
	})
}

// TestCancelNotSupportedAnswersWithThePayment: a provider without a cancel
// answers not_supported; the caller gets that error and the payment, the
// cancel is ended, and the authorization can still be captured.
func TestCancelNotSupportedAnswersWithThePayment(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.authorized(e)
	w.conn.cancel.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, tender.Errorf(tender.ENotSupported, "no cancel at this provider")
	})
	got, err := e.Cancel(ctx, p.ID, "c1")
	if tender.ErrorCodeOf(err) != tender.ENotSupported || got == nil || got.ID != p.ID || got.Status != tender.StatusAuthorized {
		t.Fatalf("unsupported cancel: %v, %v; want the authorized payment and not_supported", got, err)
	}
	if open := w.openOps(p.ID); len(open) != 0 || !has(w.eventTypes(p.ID), EvCancelFailed) {
		t.Fatalf("the unsupported cancel was not ended: open %+v", open)
	}
	if n := w.conn.count("status"); n != 0 {
		t.Fatalf("%d status checks after an unsupported cancel, want none", n)
	}
	if q, err := e.Capture(ctx, p.ID, 0, "cap"); err != nil || q.Status != tender.StatusCaptured {
		t.Fatalf("capture after the unsupported cancel: %v, %v", q, err)
	}
}
