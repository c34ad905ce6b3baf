package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

func TestDueTimes(t *testing.T) {
	d := newDueTimes()
	now := time.Now()
	if got := d.next(now, time.Second); got != time.Second {
		t.Fatalf("nothing due: %v, want the poll", got)
	}
	d.add(now.Add(500 * time.Millisecond))
	d.add(now.Add(200 * time.Millisecond))
	d.add(time.Time{}) // no check: ignored
	select {
	case <-d.kick:
	default:
		t.Fatal("an earlier check time did not wake the reconciler")
	}
	got := d.next(now, time.Second)
	if got < 200*time.Millisecond || got > 200*time.Millisecond+dueGrain {
		t.Fatalf("next %v, want 200 ms (never early, at most a grain late)", got)
	}
	// Once passed, a time is dropped and the next one counts.
	got = d.next(now.Add(300*time.Millisecond), time.Second)
	if got < 200*time.Millisecond || got > 200*time.Millisecond+dueGrain {
		t.Fatalf("after the first: %v, want about 200 ms more", got)
	}
	if got := d.next(now.Add(2*time.Second), time.Second); got != time.Second {
		t.Fatalf("all passed: %v, want the poll", got)
	}
}

// The reconciler checks a payment when its connector asked (CheckIn), not
// at its next poll.
func TestReconcilerHonoursAskedCheckTime(t *testing.T) {
	w := newWorld(t)
	s := faultSchedule
	s.Poll = 10 * time.Second // a poll would come far too late
	e := w.engine(s)
	var mu sync.Mutex
	var checks []time.Time
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusProcessing, CheckIn: 300 * time.Millisecond}, nil
	})
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		mu.Lock()
		defer mu.Unlock()
		checks = append(checks, time.Now())
		if len(checks) < 3 {
			return tender.Update{CheckIn: 300 * time.Millisecond}, nil
		}
		return tender.Update{Status: tender.StatusCaptured}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	began := time.Now()
	p, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(8 * time.Second)
	for w.get(p.ID).Status != tender.StatusCaptured {
		if time.Now().After(deadline) {
			t.Fatalf("not captured after 8 s (checks at %v): the asked check times were not honoured", checks)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(checks) != 3 {
		t.Fatalf("%d checks, want 3", len(checks))
	}
	prev := began
	for i, at := range checks {
		if gap := at.Sub(prev); gap < 300*time.Millisecond {
			t.Errorf("check %d came %v after the one before: earlier than asked", i+1, gap)
		}
		prev = at
	}
}

// Two instances with many workers each check every due payment once: a
// claim is one instance's, so no check (which may send a payment again)
// runs twice at once, and none is repeated after the payment settled.
func TestTwoInstancesCheckEachPaymentOnce(t *testing.T) {
	w := newWorld(t)
	s := faultSchedule
	s.Workers = 64
	a, b := w.engine(s), w.engine(s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu       sync.Mutex
		inFlight = map[string]int{}
		calls    = map[string]int{}
		overlap  bool
	)
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusRequiresAction, CheckIn: 150 * time.Millisecond}, nil
	})
	w.conn.status.Set(func(_ context.Context, op *tender.Op) (tender.Update, error) {
		id := op.Payment.ID
		mu.Lock()
		inFlight[id]++
		calls[id]++
		if inFlight[id] > 1 {
			overlap = true
		}
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		inFlight[id]--
		mu.Unlock()
		return tender.Update{Status: tender.StatusCaptured}, nil
	})
	const n = 40
	var ids []string
	for i := range n {
		e := a
		if i%2 == 1 {
			e = b // each instance made half of them (and knows their check times)
		}
		req := onlinePayment
		req.Capture = tender.CaptureAutomatic
		p, err := e.CreatePayment(ctx, req, randomOperationID())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	var wg sync.WaitGroup
	for _, e := range []*Engine{a, b} {
		wg.Go(func() { e.Run(ctx) })
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, id := range ids {
		for w.get(id).Status != tender.StatusCaptured {
			if time.Now().After(deadline) {
				t.Fatalf("payment %s not captured in time", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond) // any second check would come now
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if overlap {
		t.Fatal("two checks of one payment ran at once")
	}
	for _, id := range ids {
		if calls[id] != 1 {
			t.Errorf("payment %s checked %d times, want once", id, calls[id])
		}
	}
}
