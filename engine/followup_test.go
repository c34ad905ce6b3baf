package engine

// Tests of follow-ups (tender.Update.FollowUp): one more Status call about
// a settled payment, after its time, exactly once, across a restart and
// two instances, again after a failed call, and only once no operation
// is in doubt.

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

const followUpAfter = 10 * time.Minute

// settledWithFollowUp makes a payment captured by its start, whose answer
// asks for a follow-up.
func (w *world) settledWithFollowUp(e *Engine) *tender.Payment {
	w.t.Helper()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, ProviderReference: "R1", FollowUp: followUpAfter}, nil
	})
	p, err := e.CreatePayment(context.Background(), PaymentRequest{Amount: 1000, Currency: "EUR", Connector: "script"}, randomOperationID())
	if err != nil || p.Status != tender.StatusCaptured {
		w.t.Fatalf("create: %v, %v", p, err)
	}
	return p
}

// runReconcilers runs engines' reconcilers until stop is called.
func runReconcilers(engines ...*Engine) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.Run(ctx)
		}()
	}
	return func() { cancel(); wg.Wait() }
}

// waitUntil waits for ok, at most d.
func waitUntil(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("waited %v for %s", d, what)
		}
	}
}

func countEvents(types []string, typ string) int {
	n := 0
	for _, t := range types {
		if t == typ {
			n++
		}
	}
	return n
}

// TestFollowUpAsksOnceAfterItsTime: a settled payment whose update asked
// for a follow-up is due for a check at that time, not before; a restart
// keeps it (it is in the store); with two instances running, the provider
// is asked exactly once, its answer (the same status) changes nothing, and
// no check is due afterwards.
func TestFollowUpAsksOnceAfterItsTime(t *testing.T) {
	w := newWorld(t)
	a := w.engine(faultSchedule)
	created := w.clock.Now()
	p := w.settledWithFollowUp(a)
	got := w.get(p.ID)
	if d := got.NextCheckAt.Sub(created); d < followUpAfter || d > followUpAfter+5*time.Second {
		t.Fatalf("a captured payment with a follow-up is due at %s, %v after its creation; want %v", got.NextCheckAt, d, followUpAfter)
	}
	if !has(w.eventTypes(p.ID), EvFollowUpAsked) {
		t.Fatalf("no %s event: %v", EvFollowUpAsked, w.eventTypes(p.ID))
	}
	var seen []tender.Status
	var mu sync.Mutex
	w.conn.status.Set(func(_ context.Context, op *tender.Op) (tender.Update, error) {
		mu.Lock()
		seen = append(seen, op.Payment.Status)
		mu.Unlock()
		return tender.Update{Status: tender.StatusCaptured, ProviderReference: "R1"}, nil
	})

	// Before its time nothing is asked.
	stop := runReconcilers(a)
	w.clock.Advance(followUpAfter - time.Minute)
	time.Sleep(150 * time.Millisecond)
	stop()
	if n := w.conn.count("status"); n != 0 {
		t.Fatalf("the provider was asked %d times before the follow-up's time", n)
	}

	// A restart: two new instances on the same store, after the time.
	b, c := w.engine(faultSchedule), w.engine(faultSchedule)
	w.clock.Advance(2 * time.Minute)
	stop = runReconcilers(b, c)
	defer stop()
	waitUntil(t, 5*time.Second, "the follow-up", func() bool { return has(w.eventTypes(p.ID), EvFollowUpDone) })
	time.Sleep(150 * time.Millisecond)
	w.clock.Advance(2 * time.Hour)
	time.Sleep(150 * time.Millisecond)
	if n := w.conn.count("status"); n != 1 {
		t.Fatalf("the provider was asked %d times, want once", n)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0] != tender.StatusCaptured {
		t.Fatalf("asked about a payment %v, want captured", seen)
	}
	mu.Unlock()
	got = w.get(p.ID)
	evs := w.eventTypes(p.ID)
	if got.Status != tender.StatusCaptured || got.ProviderReference != "R1" || got.CapturedAmount != 1000 || !got.NextCheckAt.IsZero() {
		t.Fatalf("after the follow-up: %s ref %s captured %d next check %s; want captured R1 1000, none due", got.Status, got.ProviderReference, got.CapturedAmount, got.NextCheckAt)
	}
	if countEvents(evs, EvFollowUpDone) != 1 || has(evs, EvUpdated) || has(evs, EvTransitionDenied) || has(evs, EvCheckFailed) {
		t.Fatalf("events %v: want one follow-up done and nothing else changed", evs)
	}
}

// TestFollowUpRetriedAfterFailure: a follow-up call that fails keeps the
// follow-up pending, asked again after the schedule's pause for payments
// in doubt (not at every poll); failing for longer than MaxOpen it is a
// discrepancy (the provider may hold a second charge), and it is still
// asked until it is done.
func TestFollowUpRetriedAfterFailure(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	p := w.settledWithFollowUp(e)
	w.conn.status.Set(unanswered)
	stop := runReconcilers(e)
	defer stop()
	w.clock.Advance(followUpAfter + time.Second)
	waitUntil(t, 5*time.Second, "the first follow-up call", func() bool { return has(w.eventTypes(p.ID), EvCheckFailed) })
	time.Sleep(150 * time.Millisecond)
	if n := w.conn.count("status"); n != 1 {
		t.Fatalf("after a failed follow-up the provider was asked %d times within moments, want once", n)
	}
	got := w.get(p.ID)
	if d := got.NextCheckAt.Sub(w.clock.Now()); d < faultSchedule.Unknown[0]-time.Minute || d > faultSchedule.Unknown[0] {
		t.Fatalf("after a failed follow-up the next check is in %v, want about %v", d, faultSchedule.Unknown[0])
	}
	if evs := w.eventTypes(p.ID); has(evs, EvFollowUpDone) || got.Discrepancy != "" {
		t.Fatalf("after one failed follow-up: events %v, discrepancy %q; want it pending, no discrepancy", evs, got.Discrepancy)
	}
	w.clock.Advance(faultSchedule.Unknown[0])
	waitUntil(t, 5*time.Second, "the second follow-up call", func() bool { return countEvents(w.eventTypes(p.ID), EvCheckFailed) == 2 })
	if got := w.get(p.ID); got.Discrepancy == "" || got.Status != tender.StatusCaptured {
		t.Fatalf("a follow-up failing for more than MaxOpen: %s, discrepancy %q; want captured with one", got.Status, got.Discrepancy)
	}
	w.conn.status.Set(nil) // no news
	w.clock.Advance(faultSchedule.Unknown[0])
	waitUntil(t, 5*time.Second, "the third follow-up call", func() bool { return has(w.eventTypes(p.ID), EvFollowUpDone) })
	time.Sleep(150 * time.Millisecond)
	if n := w.conn.count("status"); n != 3 {
		t.Fatalf("the provider was asked %d times, want three", n)
	}
	if got := w.get(p.ID); got.Status != tender.StatusCaptured || !got.NextCheckAt.IsZero() {
		t.Fatalf("after the follow-up: %s, next check %s; want captured, none due", got.Status, got.NextCheckAt)
	}
}

// TestFollowUpWaitsForOperationsInDoubt: while a capture is in doubt the
// follow-up is not asked (a status answer could book what the capture's
// own check must book); the check that settles the capture then makes it.
func TestFollowUpWaitsForOperationsInDoubt(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusAuthorized, ProviderReference: "R1", FollowUp: followUpAfter}, nil
	})
	p, err := e.CreatePayment(ctx, onlinePayment, randomOperationID())
	if err != nil || p.Status != tender.StatusAuthorized {
		t.Fatalf("create: %v, %v", p, err)
	}
	w.conn.capture.Set(unanswered)
	if _, err := e.Capture(ctx, p.ID, 1000, "cap"); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("capture in doubt: %v", err)
	}
	w.clock.Advance(followUpAfter + time.Second)
	if _, err := e.Check(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if n := w.conn.count("status"); n != 0 || w.conn.count("check_capture") != 1 {
		t.Fatalf("with a capture in doubt: %d status calls, %d capture checks; want 0 and 1", n, w.conn.count("check_capture"))
	}
	if got := w.get(p.ID); got.NextCheckAt.IsZero() {
		t.Fatal("no check is due for a payment with a capture in doubt and a follow-up")
	}
	w.conn.checkOp.Set(func(context.Context, tender.OpKind, *tender.Op) (tender.OpOutcome, tender.Update, error) {
		return tender.OpSucceeded, tender.Update{Status: tender.StatusCaptured}, nil
	})
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, ProviderReference: "R1"}, nil
	})
	got, err := e.Check(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := w.conn.count("status"); n != 1 || got.Status != tender.StatusCaptured || got.CapturedAmount != 1000 || !got.NextCheckAt.IsZero() {
		t.Fatalf("after the capture's check: %d status calls, %s, captured %d, next check %s; want 1, captured, 1000, none due",
			n, got.Status, got.CapturedAmount, got.NextCheckAt)
	}
}

// TestCallbackFollowUpRecorded: a verified callback whose update asks for
// a follow-up records it with the change, and the payment it settles
// stays due for that check.
func TestCallbackFollowUpRecorded(t *testing.T) {
	var payment string
	w, e := callbackWorld(t, func(context.Context, *tender.Callback) (*tender.CallbackResult, error) {
		return &tender.CallbackResult{PaymentID: payment, Update: &tender.Update{Status: tender.StatusCaptured, ProviderReference: "R2", FollowUp: followUpAfter}}, nil
	})
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusRequiresAction, NextAction: &tender.NextAction{Type: "redirect", URL: "https://bank.test"}}, nil
	})
	ctx := context.Background()
	p, err := e.CreatePayment(ctx, PaymentRequest{Amount: 1000, Currency: "EUR", Connector: "script"}, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	payment = p.ID
	before := w.clock.Now()
	if _, err := e.HandleCallback(ctx, "script", "acct", "return", httptest.NewRequest("POST", "/", nil), nil); err != nil {
		t.Fatal(err)
	}
	got := w.get(p.ID)
	if d := got.NextCheckAt.Sub(before); got.Status != tender.StatusCaptured || d < followUpAfter || d > followUpAfter+5*time.Second {
		t.Fatalf("after the callback: %s, next check %v from now; want captured, %v", got.Status, d, followUpAfter)
	}
	evs, err := w.store.ListEvents(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	last, prev := evs[len(evs)-1], evs[len(evs)-2]
	if last.Type != EvFollowUpAsked || prev.Type != statusEvent(tender.StatusCaptured) || eventData(t, last)["source"] != "callback" {
		t.Fatalf("last events %s %s (%s); want the capture and its follow-up from the callback", prev.Type, last.Type, last.Data)
	}
}

// TestFollowUpAsksAnother: a follow-up's answer that changes nothing may
// ask for one more (a checkout still usable after the first): it is
// recorded and made at its time, and the last answer ends them.
func TestFollowUpAsksAnother(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.settledWithFollowUp(e)
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		u := tender.Update{Status: tender.StatusCaptured, ProviderReference: "R1"}
		if w.conn.count("status") == 1 {
			u.FollowUp = time.Hour
		}
		return u, nil
	})
	w.clock.Advance(followUpAfter + time.Minute)
	if _, err := e.reconcile(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	got := w.get(p.ID)
	evs := w.eventTypes(p.ID)
	if n := w.conn.count("status"); n != 1 || countEvents(evs, EvFollowUpAsked) != 2 || countEvents(evs, EvFollowUpDone) != 1 {
		t.Fatalf("after the first follow-up: %d calls, events %v", n, evs)
	}
	if d := got.NextCheckAt.Sub(w.clock.Now()); d < time.Hour-time.Second || d > time.Hour+time.Second {
		t.Fatalf("the second follow-up is due in %v, want 1h", d)
	}
	w.clock.Advance(time.Hour + time.Minute)
	if _, err := e.reconcile(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(2 * time.Hour)
	if _, err := e.reconcile(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	got = w.get(p.ID)
	evs = w.eventTypes(p.ID)
	if n := w.conn.count("status"); n != 2 || countEvents(evs, EvFollowUpDone) != 2 || !got.NextCheckAt.IsZero() || got.Status != tender.StatusCaptured {
		t.Fatalf("after the second follow-up: %d calls, %s, next check %v, events %v", n, got.Status, got.NextCheckAt, evs)
	}
}
