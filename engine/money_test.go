package engine

// Tests that pin the engine's money rules one by one: each fails when its
// rule is broken (see MUTANTS.md for the mutations they were checked
// against).

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// unanswered is a provider call whose outcome is unknown.
func unanswered(context.Context, *tender.Op) (tender.Update, error) {
	return tender.Update{}, tender.Errorf(tender.EUnavailable, "no answer")
}

// captured makes a payment of 1000 authorized and then captures amount.
func (w *world) captured(e *Engine, amount int64) *tender.Payment {
	w.t.Helper()
	p := w.authorized(e)
	p, err := e.Capture(context.Background(), p.ID, amount, randomOperationID())
	if err != nil || p.CapturedAmount != amount {
		w.t.Fatalf("capture %d: %v, %v", amount, p, err)
	}
	return p
}

// openOps is what the payment's events say is still reserved.
func (w *world) openOps(id string) []openOp {
	w.t.Helper()
	evs, err := w.store.ListEvents(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return readOps(evs).open
}

// TestRefundsInDoubtAreSummed: every open refund reserves its amount, and a
// new refund is checked against what is left after all of them, so two
// refunds in doubt and a third can never together exceed what was captured.
func TestRefundsInDoubtAreSummed(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.captured(e, 1000)
	w.conn.refund.Set(unanswered)
	for _, id := range []string{"r1", "r2"} {
		if _, err := e.Refund(ctx, p.ID, 300, id); tender.ErrorCodeOf(err) != tender.EUnavailable {
			t.Fatalf("refund %s in doubt: %v, want unavailable", id, err)
		}
	}
	w.conn.refund.Set(nil)
	if _, err := e.Refund(ctx, p.ID, 401, "r3"); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("refund of 401 with 600 of 1000 in doubt: %v, want invalid", err)
	}
	if n := w.conn.count("refund"); n != 2 {
		t.Fatalf("the provider was asked for %d refunds, want 2 (the third was refused before it)", n)
	}
	// What is left is exactly the rest, and a refund of "all" takes only it.
	q, err := e.Refund(ctx, p.ID, 0, "r4")
	if err != nil || q.RefundedAmount != 400 {
		t.Fatalf("refund of the rest: %v, refunded %d; want 400", err, q.RefundedAmount)
	}
	if _, err := e.Refund(ctx, p.ID, 1, "r5"); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("refund with everything reserved or refunded: %v, want invalid", err)
	}
	// A retry of a refund in doubt asks again with its own amount; it is
	// not counted against itself.
	q, err = e.Refund(ctx, p.ID, 300, "r1")
	if err != nil || q.RefundedAmount != 700 {
		t.Fatalf("retry of the refund in doubt: %v, refunded %d; want 700", err, q.RefundedAmount)
	}
}

// TestCapturesInDoubtAreSummed is the same rule for captures: what may be
// captured is what was authorized less every capture in doubt.
func TestCapturesInDoubtAreSummed(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.authorized(e)
	w.conn.capture.Set(unanswered)
	for _, id := range []string{"c1", "c2"} {
		if _, err := e.Capture(ctx, p.ID, 300, id); tender.ErrorCodeOf(err) != tender.EUnavailable {
			t.Fatalf("capture %s in doubt: %v", id, err)
		}
	}
	w.conn.capture.Set(nil)
	if _, err := e.Capture(ctx, p.ID, 401, "c3"); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("capture of 401 with 600 of 1000 in doubt: %v, want invalid", err)
	}
	if q, err := e.Capture(ctx, p.ID, 400, "c4"); err != nil || q.CapturedAmount != 400 {
		t.Fatalf("capture of the 400 left: %v, %v", q, err)
	}
}

// TestOperationsInDoubtKeepTheirReservation: a capture or refund whose
// outcome is unknown (no answer, or an internal error that says nothing of
// what the provider did) is not a failure: no *_failed event, the
// reservation stays open, and a check is due.
func TestOperationsInDoubtKeepTheirReservation(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"unavailable", tender.Errorf(tender.EUnavailable, "no answer")},
		{"internal error", fmt.Errorf("read tcp: connection reset by peer")},
		{"tender internal error", tender.Errorf(tender.EInternal, "the connector panicked")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			e := w.engine(faultSchedule)
			ctx := context.Background()
			fail := func(context.Context, *tender.Op) (tender.Update, error) { return tender.Update{}, tc.err }

			p := w.authorized(e)
			w.conn.capture.Set(fail)
			if _, err := e.Capture(ctx, p.ID, 600, "cap"); tender.ErrorCodeOf(err) != tender.EUnavailable {
				t.Fatalf("capture in doubt answered %v, want unavailable", err)
			}
			if open := w.openOps(p.ID); len(open) != 1 || open[0].id != "cap" || open[0].amount != 600 {
				t.Fatalf("open operations after a capture in doubt: %+v; want capture cap of 600", open)
			}
			if evs := w.eventTypes(p.ID); has(evs, EvCaptureFailed) || !has(evs, EvOpInDoubt) {
				t.Fatalf("events %v: a capture in doubt was recorded as failed, or not as in doubt", evs)
			}
			if got := w.get(p.ID); got.NextCheckAt.IsZero() || got.CapturedAmount != 0 {
				t.Fatalf("after a capture in doubt: next check %v, captured %d", got.NextCheckAt, got.CapturedAmount)
			}

			w.conn.capture.Set(nil)
			q := w.captured(e, 1000)
			w.conn.refund.Set(fail)
			if _, err := e.Refund(ctx, q.ID, 600, "ref"); tender.ErrorCodeOf(err) != tender.EUnavailable {
				t.Fatalf("refund in doubt answered %v, want unavailable", err)
			}
			if open := w.openOps(q.ID); len(open) != 1 || open[0].id != "ref" || open[0].amount != 600 {
				t.Fatalf("open operations after a refund in doubt: %+v; want refund ref of 600", open)
			}
			if evs := w.eventTypes(q.ID); has(evs, EvRefundFailed) || !has(evs, EvOpInDoubt) {
				t.Fatalf("events %v: a refund in doubt was recorded as failed, or not as in doubt", evs)
			}
			if got := w.get(q.ID); got.NextCheckAt.IsZero() || got.RefundedAmount != 0 {
				t.Fatalf("after a refund in doubt: next check %v, refunded %d", got.NextCheckAt, got.RefundedAmount)
			}
		})
	}
}

// TestDefiniteRefusalEndsTheReservation is the other side: a refusal the
// provider gave (it did nothing) ends the operation as failed.
func TestDefiniteRefusalEndsTheReservation(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.captured(e, 1000)
	w.conn.refund.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, &tender.Error{Code: tender.EProvider, Message: "refused", ProviderCode: "R1"}
	})
	if _, err := e.Refund(ctx, p.ID, 600, "ref"); tender.ErrorCodeOf(err) != tender.EProvider {
		t.Fatalf("refused refund: %v, want provider", err)
	}
	if open := w.openOps(p.ID); len(open) != 0 {
		t.Fatalf("a refused refund left %+v open", open)
	}
	if !has(w.eventTypes(p.ID), EvRefundFailed) {
		t.Fatal("no refund_failed event")
	}
}

// TestRefundableIsWhatWasCaptured: the refundable amount is what was
// captured, not what was authorized.
func TestRefundableIsWhatWasCaptured(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.captured(e, 400)
	if _, err := e.Refund(ctx, p.ID, 401, "r1"); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("refund of 401 after a capture of 400 of 1000: %v, want invalid", err)
	}
	if n := w.conn.count("refund"); n != 0 {
		t.Fatalf("the refund of 401 reached the provider")
	}
	q, err := e.Refund(ctx, p.ID, 0, "r2")
	if err != nil || q.RefundedAmount != 400 || q.CapturedAmount != 400 {
		t.Fatalf("refund of all: %v, refunded %d of captured %d; want 400 of 400", err, q.RefundedAmount, q.CapturedAmount)
	}
	if q.Status != tender.StatusPartiallyCaptured {
		t.Fatalf("after refunding the whole partial capture the payment is %s, want partially_captured (600 still open)", q.Status)
	}
	// And the capturable amount is what was authorized, less what was captured.
	if _, err := e.Capture(ctx, p.ID, 601, "c2"); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("capture of 601 with 600 left: %v, want invalid", err)
	}
}

// TestFailedCheckLeavesPendingInDoubt: a reconciliation check whose
// provider call failed, whatever the error, says nothing of the payment: a
// pending one becomes unknown, never failed.
func TestFailedCheckLeavesPendingInDoubt(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"unavailable", tender.Errorf(tender.EUnavailable, "no answer")},
		{"provider error", &tender.Error{Code: tender.EProvider, Message: "status refused", ProviderCode: "E1"}},
		{"not found", tender.Errorf(tender.ENotFound, "no such transaction")},
		{"plain error", errors.New("EOF")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			e := w.engine(faultSchedule)
			now := w.clock.Now().UTC()
			p := &tender.Payment{ID: tender.NewID("pay"), Amount: 1000, Currency: "EUR", Status: tender.StatusPending,
				Connector: "script", Account: "acct", Terminal: "till", CaptureMode: tender.CaptureAutomatic,
				NextCheckAt: now.Add(e.guard()), CreatedAt: now, UpdatedAt: now}
			if err := w.store.CreatePayment(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) { return tender.Update{}, tc.err })
			w.clock.Advance(time.Hour)
			if _, err := e.reconcile(context.Background(), p.ID); err != nil {
				t.Fatal(err)
			}
			got := w.get(p.ID)
			if got.Status != tender.StatusUnknown || got.Failure != nil || got.NextCheckAt.IsZero() {
				t.Fatalf("after a failed check the payment is %s (failure %v, next check %v), want unknown with a check due", got.Status, got.Failure, got.NextCheckAt)
			}
			if !has(w.eventTypes(p.ID), EvCheckFailed) {
				t.Error("no check_failed event")
			}
		})
	}
}

// TestStartWithInternalErrorIsInDoubt: a start that failed with an error
// that is not a *tender.Error (a bug, a broken connection) says nothing of
// what the provider did: the payment is unknown, not failed.
func TestStartWithInternalErrorIsInDoubt(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want tender.Status
	}{
		{"plain error", errors.New("unexpected EOF"), tender.StatusUnknown},
		{"wrapped plain error", fmt.Errorf("sepay: start: %w", errors.New("connection reset")), tender.StatusUnknown},
		{"internal", tender.Errorf(tender.EInternal, "bug"), tender.StatusUnknown},
		{"unavailable", tender.Errorf(tender.EUnavailable, "timeout"), tender.StatusUnknown},
		{"declined", tender.Errorf(tender.EDeclined, "declined"), tender.StatusFailed},
		{"provider", tender.Errorf(tender.EProvider, "refused"), tender.StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			e := w.engine(faultSchedule)
			w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) { return tender.Update{}, tc.err })
			p, err := e.CreatePayment(context.Background(), terminalPayment, randomOperationID())
			if p == nil {
				t.Fatalf("create: %v", err)
			}
			got := w.get(p.ID)
			if got.Status != tc.want {
				t.Fatalf("a start that failed with %v left the payment %s, want %s", tc.err, got.Status, tc.want)
			}
			if tc.want == tender.StatusUnknown {
				if err != nil || got.Failure != nil || got.NextCheckAt.IsZero() {
					t.Fatalf("in doubt: create error %v, failure %v, next check %v; want no error, no failure, a check due", err, got.Failure, got.NextCheckAt)
				}
			} else if err == nil {
				t.Fatal("a refused start answered no error")
			} else if want := map[tender.ErrorCode]string{tender.EDeclined: tender.FailDeclined, tender.EProvider: tender.FailProvider}[tender.ErrorCodeOf(tc.err)]; got.Failure == nil || got.Failure.Code != want {
				t.Fatalf("a refused start's failure is %+v, want code %s", got.Failure, want)
			}
		})
	}
}

// TestOperationInDoubtUntilItsDeadline: a capture the provider cannot yet
// say anything about (pending, or the question failed) keeps its
// reservation and is asked about again on the schedule; at the payment's
// deadline it becomes a discrepancy for a person, still reserved.
func TestOperationInDoubtUntilItsDeadline(t *testing.T) {
	w := newWorld(t)
	s := faultSchedule
	s.Unknown = []time.Duration{time.Minute}
	e := w.engine(s)
	ctx := context.Background()
	p := w.authorized(e)
	w.conn.capture.Set(unanswered)
	if _, err := e.Capture(ctx, p.ID, 600, "cap"); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("capture in doubt: %v", err)
	}
	checkFailed := func() int {
		n := 0
		for _, typ := range w.eventTypes(p.ID) {
			if typ == EvCheckFailed {
				n++
			}
		}
		return n
	}
	var answer func() (tender.OpOutcome, error)
	w.conn.checkOp.Set(func(context.Context, tender.OpKind, *tender.Op) (tender.OpOutcome, tender.Update, error) {
		o, err := answer()
		return o, tender.Update{}, err
	})
	for i, tc := range []struct {
		name   string
		f      func() (tender.OpOutcome, error)
		failed int // check_failed events after it
	}{
		{"pending", func() (tender.OpOutcome, error) { return tender.OpPending, nil }, 0},
		{"question failed", func() (tender.OpOutcome, error) {
			return tender.OpSucceeded, tender.Errorf(tender.EUnavailable, "no answer")
		}, 1},
	} {
		answer = tc.f
		w.clock.Advance(2 * time.Minute) // past the check that was due
		before := w.clock.Now()
		if _, err := e.reconcile(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		got := w.get(p.ID)
		if open := w.openOps(p.ID); len(open) != 1 || open[0].id != "cap" || got.CapturedAmount != 0 {
			t.Fatalf("%s: open %+v, captured %d; want the capture still reserved", tc.name, open, got.CapturedAmount)
		}
		if got.CheckCount != i+1 || !got.NextCheckAt.After(before) || got.Discrepancy != "" {
			t.Fatalf("%s: check count %d, next check %v (now %v), discrepancy %q", tc.name, got.CheckCount, got.NextCheckAt, before, got.Discrepancy)
		}
		if n := checkFailed(); n != tc.failed {
			t.Fatalf("%s: %d check_failed events, want %d", tc.name, n, tc.failed)
		}
	}
	evs, _ := w.store.ListEvents(ctx, p.ID)
	if last := evs[len(evs)-1]; last.Type != EvCheckFailed || eventData(t, last)["op_id"] != "cap" {
		t.Fatalf("a failed question about the capture is not recorded: %s %s", last.Type, last.Data)
	}

	// At the deadline: a discrepancy, and the reservation stays.
	answer = func() (tender.OpOutcome, error) { return tender.OpPending, nil }
	w.clock.Advance(s.MaxOpen)
	if _, err := e.reconcile(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	got := w.get(p.ID)
	if got.Discrepancy != "capture cap of 6.00 EUR is still in doubt: check it with the provider" {
		t.Fatalf("discrepancy %q at the deadline", got.Discrepancy)
	}
	if open := w.openOps(p.ID); len(open) != 1 {
		t.Fatalf("the capture in doubt was released at its deadline: %+v", open)
	}
}

// TestCapturingTheRestClosesTheAuthorization: captures that together reach
// the authorized amount make the payment captured, and then nothing is
// left: a capture of "all that is left" is refused before the provider is
// asked.
func TestCapturingTheRestClosesTheAuthorization(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.authorized(e)
	if q, err := e.Capture(ctx, p.ID, 400, "c1"); err != nil || q.Status != tender.StatusPartiallyCaptured {
		t.Fatalf("first capture: %v, %v", q, err)
	}
	q, err := e.Capture(ctx, p.ID, 600, "c2")
	if err != nil || q.Status != tender.StatusCaptured || q.CapturedAmount != 1000 {
		t.Fatalf("capture of the rest: %v, %v; want captured 1000", q, err)
	}
	n := w.conn.count("capture")
	if _, err := e.Capture(ctx, p.ID, 0, "c3"); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("capture with nothing left: %v, want conflict", err)
	}
	// Captured 400 of 1000 and refunded 400: the payment still allows
	// refunds (partially_captured), but nothing is left to refund.
	q2 := w.captured(e, 400)
	if _, err := e.Refund(ctx, q2.ID, 0, "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Refund(ctx, q2.ID, 0, "r2"); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("refund with nothing left: %v, want conflict", err)
	}
	if w.conn.count("capture") != n+1 || w.conn.count("refund") != 1 {
		t.Fatalf("the provider was asked for %d captures and %d refunds after nothing was left", w.conn.count("capture")-n-1, w.conn.count("refund")-1)
	}
}
