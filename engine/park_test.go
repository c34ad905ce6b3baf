package engine

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

func TestWatchPaymentWithoutGoroutines(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusRequiresAction}, nil
	})
	req := onlinePayment
	req.Capture = tender.CaptureAutomatic
	p, err := e.CreatePayment(ctx, req, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	q, err := e.CreatePayment(ctx, req, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the post-registration checks of earlier tests' waiters end
	before := runtime.NumGoroutine()
	const n = 200
	got := make(chan *tender.Payment, 2*n)
	for range n {
		_, stop, err := e.WatchPayment(ctx, p.ID, time.Minute, func(p *tender.Payment) { got <- p })
		if err != nil || stop == nil {
			t.Fatalf("watch: parked %v, %v", stop != nil, err)
		}
	}
	_, stopQ, _ := e.WatchPayment(ctx, q.ID, time.Minute, func(p *tender.Payment) { got <- p })
	// Goroutines of other work in the process (earlier tests' checks and
	// deliveries winding down, on a loaded machine) come and go: the count
	// must come down to a handful while the waiters, parked for a minute,
	// are all still waiting; one goroutine each would keep it above 200.
	for end := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		extra := runtime.NumGoroutine() - before
		if extra <= 5 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d waiters hold %d goroutines", n+1, extra)
		}
	}
	_, _, _ = e.WatchPayment(ctx, q.ID, 300*time.Millisecond, func(p *tender.Payment) { got <- p })
	select {
	case x := <-got:
		t.Fatalf("answered before anything changed: %v", x.Status)
	default:
	}
	// A change wakes every waiter of that payment with it, and no other.
	if _, err := e.mutate(ctx, p.ID, func(p *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		ev, _, err := e.applyUpdate(p, tender.Update{Status: tender.StatusCaptured}, "test")
		return ev, true, err
	}); err != nil {
		t.Fatal(err)
	}
	for range n {
		select {
		case x := <-got:
			if x.ID != p.ID || x.Status != tender.StatusCaptured {
				t.Fatalf("woken with %s %s", x.ID, x.Status)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a waiter was not woken by the change")
		}
	}
	// The short wait ends at its deadline with the payment as it is.
	select {
	case x := <-got:
		if x.ID != q.ID || x.Status != tender.StatusRequiresAction {
			t.Fatalf("deadline answer %s %s", x.ID, x.Status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiter was not answered at its deadline")
	}
	// A withdrawn waiter is never answered.
	if !stopQ() || stopQ() {
		t.Fatal("stop did not withdraw the waiter exactly once")
	}
	select {
	case x := <-got:
		t.Fatalf("a withdrawn waiter was answered: %s", x.ID)
	case <-time.After(200 * time.Millisecond):
	}
	// A settled payment is answered at once, with no waiter.
	x, stop, err := e.WatchPayment(ctx, p.ID, time.Minute, func(*tender.Payment) { t.Error("a settled payment's waiter was parked") })
	if err != nil || stop != nil || x.Status != tender.StatusCaptured {
		t.Fatalf("settled: %v parked %v, %v", x, stop != nil, err)
	}
	if len(e.watch.parked) != 0 || len(e.watch.deadlines) != 0 {
		t.Fatalf("%d payments and %d deadlines still parked", len(e.watch.parked), len(e.watch.deadlines))
	}
}

// TestParkedAnsweredWithTheStoredPayment: a change this process commits
// answers the parked waiters with the payment as stored, without reading
// it back; a version the waiter has seen already (a change answered
// late) answers nobody.
func TestParkedAnsweredWithTheStoredPayment(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusRequiresAction}, nil
	})
	var reads atomic.Int64
	e.watch.read = func(id string) *tender.Payment { reads.Add(1); return e.readParked(id) }
	p, err := e.CreatePayment(ctx, onlinePayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *tender.Payment, 1)
	if _, stop, err := e.WatchPayment(ctx, p.ID, time.Minute, func(p *tender.Payment) { got <- p }); err != nil || stop == nil {
		t.Fatalf("watch: parked %v, %v", stop != nil, err)
	}
	for deadline := time.Now().Add(5 * time.Second); reads.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no look after registering")
		}
	}
	reads.Store(0) // the look after registering is done

	old := clonePayment(p)
	old.Version--
	old.Status = tender.StatusProcessing
	e.watch.answerParked(p.ID, old)
	select {
	case x := <-got:
		t.Fatalf("answered with a version older than it started from: %d %s", x.Version, x.Status)
	default:
	}

	stored, err := e.mutate(ctx, p.ID, func(p *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		ev, _, err := e.applyUpdate(p, tender.Update{Status: tender.StatusCaptured}, "test")
		return ev, true, err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case x := <-got:
		if x.Status != tender.StatusCaptured || x.Version != stored.Version {
			t.Fatalf("answered with %s version %d, want captured version %d", x.Status, x.Version, stored.Version)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the change did not answer the waiter")
	}
	if n := reads.Load(); n != 0 {
		t.Fatalf("the payment was read back %d times to answer its waiter", n)
	}
}
