package engine

// Long-poll parking (park.go) as the mutation run found it unpinned (see
// ENGINE_SURVIVORS2.md).

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// b2staleOnce is a store whose next read of a payment returns stale, a
// copy read before a change: the change then lands between WatchPayment's
// read and its registration. It has no change feed either.
type b2staleOnce struct {
	tender.Store
	stale atomic.Pointer[tender.Payment]
}

func (s *b2staleOnce) GetPayment(ctx context.Context, id string) (*tender.Payment, error) {
	if p := s.stale.Swap(nil); p != nil && p.ID == id {
		return p, nil
	}
	return s.Store.GetPayment(ctx, id)
}

// b2park parks a waiter on payment id and returns its answers and stop.
func b2park(t *testing.T, e *Engine, id string, wait time.Duration) (<-chan *tender.Payment, func() bool) {
	t.Helper()
	got := make(chan *tender.Payment, 1)
	_, stop, err := e.WatchPayment(context.Background(), id, wait, func(p *tender.Payment) { got <- p })
	if err != nil || stop == nil {
		t.Fatalf("watch: parked %v, %v", stop != nil, err)
	}
	return got, stop
}

// b2answered is the waiter's answer within the time given.
func b2answered(t *testing.T, got <-chan *tender.Payment, within time.Duration, what string) *tender.Payment {
	t.Helper()
	select {
	case p := <-got:
		return p
	case <-time.After(within):
		t.Fatalf("%s: no answer within %v", what, within)
		return nil
	}
}

// b2silent checks that the waiter is not answered for d.
func b2silent(t *testing.T, got <-chan *tender.Payment, d time.Duration, what string) {
	t.Helper()
	select {
	case p := <-got:
		t.Fatalf("%s: answered with %s %s", what, p.ID, p.Status)
	case <-time.After(d):
	}
}

// TestWatchWithoutWaitParksNothing: a wait of zero answers at once with
// the payment; nothing is parked and done is never called.
func TestWatchWithoutWaitParksNothing(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	p := b2awaitingShopper(w, e)
	called := make(chan *tender.Payment, 1)
	q, stop, err := e.WatchPayment(context.Background(), p.ID, 0, func(p *tender.Payment) { called <- p })
	if err != nil || stop != nil || q.Status != tender.StatusRequiresAction {
		t.Fatalf("wait 0: %v parked %v, %v", q, stop != nil, err)
	}
	b2silent(t, called, 300*time.Millisecond, "wait 0")
	if len(e.watch.parked) != 0 || len(e.watch.deadlines) != 0 {
		t.Fatalf("%d payments and %d deadlines parked", len(e.watch.parked), len(e.watch.deadlines))
	}
}

// TestLoneWaiterAnsweredAtItsDeadline: the first and only waiter of an
// instance is answered at its deadline with the payment as it is, and
// leaves nothing parked.
func TestLoneWaiterAnsweredAtItsDeadline(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	p := b2awaitingShopper(w, e)
	got, _ := b2park(t, e, p.ID, 200*time.Millisecond)
	if x := b2answered(t, got, 3*time.Second, "deadline"); x == nil || x.ID != p.ID || x.Status != tender.StatusRequiresAction {
		t.Fatalf("answered at the deadline with %v", x)
	}
	time.Sleep(50 * time.Millisecond)
	e.watch.mu.Lock()
	defer e.watch.mu.Unlock()
	if len(e.watch.parked) != 0 || len(e.watch.deadlines) != 0 {
		t.Fatalf("%d payments and %d deadlines parked", len(e.watch.parked), len(e.watch.deadlines))
	}
}

// TestWithdrawnWaiterLeavesTheOthers: one of two waiters of a payment is
// withdrawn; the other is still answered by the next change, the
// withdrawn one never.
func TestWithdrawnWaiterLeavesTheOthers(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	p := b2awaitingShopper(w, e)
	gone, stop := b2park(t, e, p.ID, time.Minute)
	stays, _ := b2park(t, e, p.ID, time.Minute)
	time.Sleep(50 * time.Millisecond) // the looks after registering are done
	if !stop() {
		t.Fatal("stop did not withdraw the waiter")
	}
	b2update(t, e, p.ID, tender.Update{Status: tender.StatusProcessing})
	if x := b2answered(t, stays, 3*time.Second, "the waiter left parked"); x.Status != tender.StatusProcessing {
		t.Fatalf("answered with %s, want processing", x.Status)
	}
	b2silent(t, gone, 200*time.Millisecond, "the withdrawn waiter")
}

// TestChangeBeforeRegistrationIsSeen: a change committed after
// WatchPayment read the payment but before its waiter was parked woke
// nobody; the look after registering answers it.
func TestChangeBeforeRegistrationIsSeen(t *testing.T) {
	w := newWorld(t)
	st := &b2staleOnce{Store: w.store}
	e := b2engineOn(w, st)
	p := b2awaitingShopper(w, e)
	old := w.get(p.ID)
	b2update(t, e, p.ID, tender.Update{Status: tender.StatusProcessing})
	st.stale.Store(old)
	got, _ := b2park(t, e, p.ID, time.Minute)
	if x := b2answered(t, got, 3*time.Second, "a change before registering"); x == nil || x.Status != tender.StatusProcessing {
		t.Fatalf("answered with %v, want processing", x)
	}
}

// TestParkedWaiterIgnoresChangesThatKeepTheStatus: a change that keeps the
// status (a note) is no news to a parked waiter; a move to another open
// status is.
func TestParkedWaiterIgnoresChangesThatKeepTheStatus(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	p := b2awaitingShopper(w, e)
	got, _ := b2park(t, e, p.ID, time.Minute)
	b2update(t, e, p.ID, tender.Update{Note: "the shopper opened the page"})
	b2silent(t, got, 300*time.Millisecond, "a change that kept the status")
	b2update(t, e, p.ID, tender.Update{Status: tender.StatusProcessing})
	if x := b2answered(t, got, 3*time.Second, "a status change"); x.Status != tender.StatusProcessing {
		t.Fatalf("answered with %s, want processing", x.Status)
	}
}
