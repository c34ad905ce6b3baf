package engine

import (
	"context"
	"testing"

	"github.com/tenderpay/tender"
)

// TestRefusedCancelEndsIt: a cancel the provider refused, whose status
// shows the payment unchanged, is over: it no longer blocks a capture.
func TestRefusedCancelEndsIt(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.authorized(e)
	w.conn.cancel.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, &tender.Error{Code: tender.EProvider, Message: "refused"}
	})
	if _, err := e.Cancel(ctx, p.ID, "c1"); tender.ErrorCodeOf(err) != tender.EProvider {
		t.Fatalf("refused cancel: %v", err)
	}
	if open := w.openOps(p.ID); len(open) != 0 {
		t.Fatalf("a refused cancel is still open: %+v", open)
	}
	if !has(w.eventTypes(p.ID), EvCancelFailed) {
		t.Fatal("no cancel_failed event")
	}
	if q, err := e.Capture(ctx, p.ID, 0, "cap"); err != nil || q.Status != tender.StatusCaptured {
		t.Fatalf("capture after a refused cancel: %v, %v", q, err)
	}
}

// TestCancelNotYetEffectiveStaysOpen: a cancel the provider accepted but
// whose effect its status does not show yet (the payment still authorized,
// or partially captured) stays open and is asked about again; it is not
// ended as if the payment had settled.
func TestCancelNotYetEffectiveStaysOpen(t *testing.T) {
	for _, partial := range []bool{false, true} {
		w := newWorld(t)
		e := w.engine(faultSchedule)
		ctx := context.Background()
		p := w.authorized(e)
		want := tender.StatusAuthorized
		if partial {
			if _, err := e.Capture(ctx, p.ID, 400, "cap"); err != nil {
				t.Fatal(err)
			}
			want = tender.StatusPartiallyCaptured
		}
		w.conn.cancel.Set(func(context.Context, *tender.Op) (tender.Update, error) {
			return tender.Update{Status: want}, nil
		})
		if _, err := e.Cancel(ctx, p.ID, "c1"); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		got := w.get(p.ID)
		if open := w.openOps(p.ID); got.Status != want || len(open) != 1 || open[0].kind != tender.OpCancel || got.NextCheckAt.IsZero() {
			t.Fatalf("partial %v: the payment is %s, open %+v, next check %v; want %s with the cancel open and a check due",
				partial, got.Status, open, got.NextCheckAt, want)
		}
		if evs := w.eventTypes(p.ID); has(evs, EvCancelFailed) || has(evs, EvCancelDone) {
			t.Fatalf("partial %v: the cancel was ended: %v", partial, evs)
		}
	}
}

// TestCancelAnswerIsRecorded: an accepted cancel whose status check has no
// news is recorded as the cancel answered it: canceled (also when the
// answer names no status), with the merchant's cancel as its failure unless
// the provider gave one, and with the provider's state.
func TestCancelAnswerIsRecorded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer tender.Update
		code   string
	}{
		{"no status", tender.Update{State: []byte(`{"c":1}`)}, tender.FailCanceled},
		{"canceled", tender.Update{Status: tender.StatusCanceled, State: []byte(`{"c":1}`)}, tender.FailCanceled},
		{"canceled with the provider's failure", tender.Update{Status: tender.StatusCanceled, State: []byte(`{"c":1}`),
			Failure: &tender.Failure{Code: tender.FailDeclined, Message: "voided"}}, tender.FailDeclined},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			e := w.engine(faultSchedule)
			p := w.authorized(e)
			w.conn.cancel.Set(func(context.Context, *tender.Op) (tender.Update, error) { return tc.answer, nil })
			if _, err := e.Cancel(context.Background(), p.ID, "c1"); err != nil {
				t.Fatal(err)
			}
			got := w.get(p.ID)
			if got.Status != tender.StatusCanceled || got.Failure == nil || got.Failure.Code != tc.code || string(got.State) != `{"c":1}` {
				t.Fatalf("after the cancel: %s, failure %+v, state %s", got.Status, got.Failure, got.State)
			}
		})
	}
}

// TestCancelConfirmedByStatusKeepsItsState: when the status asked after a
// cancel decides the payment, the provider's state in that answer is kept.
func TestCancelConfirmedByStatusKeepsItsState(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	p := w.authorized(e)
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCanceled, State: []byte(`{"s":1}`),
			Failure: &tender.Failure{Code: tender.FailCanceled, Message: "voided"}}, nil
	})
	if _, err := e.Cancel(context.Background(), p.ID, "c1"); err != nil {
		t.Fatal(err)
	}
	if got := w.get(p.ID); got.Status != tender.StatusCanceled || string(got.State) != `{"s":1}` {
		t.Fatalf("after the cancel: %s, state %s", got.Status, got.State)
	}
}
