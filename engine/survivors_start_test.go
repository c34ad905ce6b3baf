package engine

// The start's answer as the mutation run of payments.go found it unpinned
// (see ENGINE_SURVIVORS2.md).

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// b2startBehind creates a terminal payment whose start answers answer
// only after change has been applied to the stored payment (a callback
// or a check that came first); it returns the create's result.
func b2startBehind(t *testing.T, w *world, e *Engine, answer func() (tender.Update, error),
	change func(q *tender.Payment) []tender.Event) (*tender.Payment, error) {
	t.Helper()
	opID := randomOperationID()
	release := make(chan struct{})
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		<-release
		return answer()
	})
	type res struct {
		p   *tender.Payment
		err error
	}
	done := make(chan res, 1)
	go func() { p, err := e.CreatePayment(context.Background(), terminalPayment, opID); done <- res{p, err} }()
	var p *tender.Payment
	for p == nil {
		p, _ = w.store.PaymentByOperation(context.Background(), opID)
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := e.mutate(context.Background(), p.ID, func(q *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		return change(q), true, nil
	}); err != nil {
		t.Fatal(err)
	}
	close(release)
	r := <-done
	return r.p, r.err
}

// TestStartRefusalAfterACallbackIsNoError: the terminal's callback said
// the sale was captured before the start's call came back refused; the
// create answers with the captured payment and no error (the
// contradiction is a discrepancy for a person, not a failed create).
func TestStartRefusalAfterACallbackIsNoError(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	p, err := b2startBehind(t, w, e,
		func() (tender.Update, error) {
			return tender.Update{}, &tender.Error{Code: tender.EProvider, Message: "declined"}
		},
		func(q *tender.Payment) []tender.Event {
			return e.applyVerified(q, tender.Update{Status: tender.StatusCaptured}, "callback")
		})
	if err != nil || p == nil || p.Status != tender.StatusCaptured {
		t.Fatalf("create refused after the callback captured it = %v, %v; want the captured payment, no error", p, err)
	}
	if got := w.get(p.ID); got.Status != tender.StatusCaptured || got.CapturedAmount != 1000 {
		t.Fatalf("stored: %s captured %d", got.Status, got.CapturedAmount)
	}
}

// TestStartStateKeptWhenTheEarlierChangeHadNone: a check that failed
// during the start changed the payment's version but learned no provider
// state; the start's answer then brings the state, which is kept (the
// provider is asked by it later).
func TestStartStateKeptWhenTheEarlierChangeHadNone(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	p, err := b2startBehind(t, w, e,
		func() (tender.Update, error) {
			return tender.Update{Status: tender.StatusProcessing, State: json.RawMessage(`{"from":"start"}`)}, nil
		},
		func(q *tender.Payment) []tender.Event {
			return []tender.Event{e.newEvent(EvCheckFailed, map[string]any{"error": "timeout", "source": "check"})}
		})
	if err != nil || p.Status != tender.StatusProcessing {
		t.Fatalf("create: %v, %v", p, err)
	}
	if got := w.get(p.ID); string(got.State) != `{"from":"start"}` {
		t.Fatalf("state %q, want the start's", got.State)
	}
}

// TestStartInDoubtIsAskedOnTheUnknownSchedule: a start whose outcome is
// unknown is asked about on the schedule of unknown payments (here an
// hour), not at the guard set before the call (seconds): the provider
// gets time to finish what it may be doing.
func TestStartInDoubtIsAskedOnTheUnknownSchedule(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	w.conn.start.Set(unanswered)
	before := w.clock.Now()
	p, err := e.CreatePayment(context.Background(), terminalPayment, randomOperationID())
	if err != nil || p.Status != tender.StatusUnknown {
		t.Fatalf("create in doubt: %v, %v", p, err)
	}
	got := w.get(p.ID).NextCheckAt
	want := before.Add(faultSchedule.Unknown[0])
	if got.Before(want) || got.After(w.clock.Now().Add(faultSchedule.Unknown[0])) {
		t.Fatalf("next check at %v, want %v after the create (%v)", got, faultSchedule.Unknown[0], want)
	}
}

// b2withNotices is the world's store as a store with notices (as
// PostgreSQL's): the engine then keeps accounts in memory and folds a
// create's checks into its insert when it holds an Idempotency-Key claim.
// No notice is ever sent: nothing changes behind the test's back.
type b2withNotices struct{ tender.Store }

func (b2withNotices) WatchNotices(live func(bool), _ func(kind, id string)) { live(true) }

// TestRetryWithoutKeyClaimFindsItsPayment: on a store with notices, a
// create without an Idempotency-Key claim (an engine caller other than the
// API) that repeats an operation id answers with the operation's payment;
// the provider is asked to start it once, never twice.
func TestRetryWithoutKeyClaimFindsItsPayment(t *testing.T) {
	w := newWorld(t)
	e := b2engineOn(w, b2withNotices{w.store})
	if e.memo == nil {
		t.Fatal("setup: the engine keeps nothing in memory on a store with notices")
	}
	ctx := context.Background()
	opID := randomOperationID()
	p, err := e.CreatePayment(ctx, onlinePayment, opID)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.CreatePayment(ctx, onlinePayment, opID)
	if err != nil || again.ID != p.ID {
		t.Fatalf("retry of operation %s: %v, %v; want payment %s", opID, again, err, p.ID)
	}
	if n := w.conn.count("start"); n != 1 {
		t.Fatalf("%d starts, want 1", n)
	}
}

// TestStartAnsweredPendingIsAskedAtTheGuard: a start whose answer says the
// payment is still pending (taken, nothing known yet) keeps the check set
// before the call, at the guard (seconds), rather than waiting the unknown
// schedule (an hour) as a start in doubt does.
func TestStartAnsweredPendingIsAskedAtTheGuard(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusPending}, nil
	})
	before := w.clock.Now()
	p, err := e.CreatePayment(context.Background(), terminalPayment, randomOperationID())
	if err != nil || p.Status != tender.StatusPending {
		t.Fatalf("create: %v, %v", p, err)
	}
	got := w.get(p.ID).NextCheckAt
	if got.Before(before.Add(e.guard())) || got.After(w.clock.Now().Add(e.guard())) {
		t.Fatalf("next check at %v, want %v after the create (%v)", got, e.guard(), before.Add(e.guard()))
	}
}
