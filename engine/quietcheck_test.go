package engine

import (
	"context"
	"testing"

	"github.com/tenderpay/tender"
)

// A check that learns nothing is stored without waking the payment's
// waiters (each would read it for nothing); one that changes the status
// wakes them at once, as it commits (a POS long-polling the payment hears
// of its terminal's answer without waiting for a re-read).
func TestCheckWakesWaitersOnlyOnNews(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusProcessing, ProviderReference: "R1"}, nil
	})
	p, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	woken, stop := e.watch.subscribe(p.ID)
	defer stop()
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, nil // the terminal is still at work
	})
	if _, err := e.check(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
		t.Fatal("a check without news woke the payment's waiters")
	default:
	}
	if got := w.get(p.ID); got.CheckCount == 0 || got.Version == p.Version {
		t.Fatalf("the check without news was not stored (checks %d, version %d)", got.CheckCount, got.Version)
	}
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured}, nil
	})
	if _, err := e.check(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
	default:
		t.Fatal("a check that captured the payment did not wake its waiters")
	}
}
