package engine

// The late booking of an operation Tender had recorded as failed (the
// block of ops.go that raises its discrepancy; see ENGINE_SURVIVORS2.md).

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// TestCaptureCarriedOutAfterItWasRecordedFailedIsBooked: the reconciler
// learned that a capture whose call was still running had failed; then
// the call came back: captured. The money that moved is booked all the
// same (captured amount, status), with a discrepancy for a person.
func TestCaptureCarriedOutAfterItWasRecordedFailedIsBooked(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.authorized(e)
	release := make(chan struct{})
	w.conn.capture.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		<-release
		return tender.Update{Status: tender.StatusCaptured}, nil
	})
	w.conn.checkOp.Set(func(context.Context, tender.OpKind, *tender.Op) (tender.OpOutcome, tender.Update, error) {
		return tender.OpFailed, tender.Update{}, nil
	})
	type res struct {
		p   *tender.Payment
		err error
	}
	done := make(chan res, 1)
	go func() { q, err := e.Capture(ctx, p.ID, 0, "cap1"); done <- res{q, err} }()
	for len(w.openOps(p.ID)) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	w.clock.Advance(time.Hour) // past the call's guard: the reconciler asks
	other := w.engine(faultSchedule)
	if _, err := other.reconcile(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if evs := w.eventTypes(p.ID); !has(evs, EvCaptureFailed) {
		t.Fatalf("setup: the reconciler did not end the capture as failed: %v", evs)
	}
	close(release)
	r := <-done
	if r.err != nil {
		t.Fatalf("capture: %v", r.err)
	}
	got := w.get(p.ID)
	if got.Status != tender.StatusCaptured || got.CapturedAmount != 1000 {
		t.Fatalf("after the late capture: %s captured %d; want captured 1000", got.Status, got.CapturedAmount)
	}
	if !strings.Contains(got.Discrepancy, "capture cap1 after Tender had recorded it as failed") {
		t.Fatalf("discrepancy %q", got.Discrepancy)
	}
}
