package engine

// WaitPayment (the long-poll that holds a goroutine) and the list's
// starting_after, which no engine test ran before the mutation run of
// payments.go (see ENGINE_SURVIVORS2.md).

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/seal"
)

// b2noFeed is the world's store without its change feed (and notices): a
// store whose waiters must re-read their payment themselves.
type b2noFeed struct{ tender.Store }

// b2engineOn is another instance of the world on store.
func b2engineOn(w *world, store tender.Store) *Engine {
	w.t.Helper()
	sealer, err := seal.New(bytes.Repeat([]byte{9}, seal.KeySize))
	if err != nil {
		w.t.Fatal(err)
	}
	e, err := New(Options{Store: store, Connectors: []tender.Connector{w.conn}, Sealer: sealer, Clock: w.clock, Schedule: faultSchedule, PublicURL: "http://tender.test"})
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

// b2awaitingShopper makes an online payment waiting for the shopper
// (requires_action).
func b2awaitingShopper(w *world, e *Engine) *tender.Payment {
	w.t.Helper()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusRequiresAction}, nil
	})
	req := onlinePayment
	req.Capture = tender.CaptureAutomatic
	p, err := e.CreatePayment(context.Background(), req, randomOperationID())
	if err != nil || p.Status != tender.StatusRequiresAction {
		w.t.Fatalf("create: %v, %v", p, err)
	}
	return p
}

// b2update stores u on payment id through e, as a callback or check would.
func b2update(t *testing.T, e *Engine, id string, u tender.Update) {
	t.Helper()
	if _, err := e.mutate(context.Background(), id, func(p *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		ev, _, err := e.applyUpdate(p, u, "test")
		return ev, true, err
	}); err != nil {
		t.Fatal(err)
	}
}

type b2waited struct {
	p       *tender.Payment
	err     error
	elapsed time.Duration
}

func b2wait(e *Engine, ctx context.Context, id string, wait time.Duration) <-chan b2waited {
	ch := make(chan b2waited, 1)
	go func() {
		start := time.Now()
		p, err := e.WaitPayment(ctx, id, wait)
		ch <- b2waited{p, err, time.Since(start)}
	}()
	return ch
}

// TestWaitPaymentEndsOnAStatusChange: a waiting POS is answered when the
// payment's status moves on (to another open status too), not by a change
// that leaves the status as it was; without a wait, or for a payment that
// is not the merchant's, it is answered at once.
func TestWaitPaymentEndsOnAStatusChange(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := b2awaitingShopper(w, e)

	if _, err := e.WaitPayment(tender.WithMerchant(ctx, "mer_other"), p.ID, time.Minute); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Fatalf("another merchant's payment: %v, want not found", err)
	}
	start := time.Now()
	if q, err := e.WaitPayment(ctx, p.ID, 0); err != nil || q.Status != tender.StatusRequiresAction || time.Since(start) > time.Second {
		t.Fatalf("no wait: %v, %v after %v", q, err, time.Since(start))
	}

	got := b2wait(e, ctx, p.ID, 10*time.Second)
	time.Sleep(100 * time.Millisecond)
	b2update(t, e, p.ID, tender.Update{Note: "the shopper opened the page"}) // same status
	select {
	case r := <-got:
		t.Fatalf("answered by a change that kept the status: %v, %v", r.p, r.err)
	case <-time.After(300 * time.Millisecond):
	}
	b2update(t, e, p.ID, tender.Update{Status: tender.StatusProcessing})
	select {
	case r := <-got:
		if r.err != nil || r.p.Status != tender.StatusProcessing {
			t.Fatalf("answered with %v, %v; want processing", r.p, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the status change did not end the wait")
	}
}

// TestWaitPaymentWithoutFeedRereads: on a store without a change feed,
// another instance's change ends the wait within seconds (the waiter
// re-reads), and a wait whose deadline comes first answers with the
// payment as it is at the deadline, not as it was when the wait began.
func TestWaitPaymentWithoutFeedRereads(t *testing.T) {
	w := newWorld(t)
	e := b2engineOn(w, b2noFeed{w.store})
	other := w.engine(faultSchedule)
	ctx := context.Background()
	p := b2awaitingShopper(w, other)

	got := b2wait(e, ctx, p.ID, 20*time.Second)
	time.Sleep(100 * time.Millisecond)
	b2update(t, other, p.ID, tender.Update{Status: tender.StatusProcessing})
	select {
	case r := <-got:
		if r.err != nil || r.p.Status != tender.StatusProcessing {
			t.Fatalf("answered with %v, %v; want processing", r.p, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("another instance's change did not end the wait within 5 s")
	}

	got = b2wait(e, ctx, p.ID, 500*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	b2update(t, other, p.ID, tender.Update{Status: tender.StatusCaptured})
	r := <-got
	if r.err != nil || r.p.Status != tender.StatusCaptured {
		t.Fatalf("answered at the deadline with %v, %v; want the captured payment", r.p, r.err)
	}
}

// TestListStartingAfter: a page starts after the payment named, which
// must be one of the merchant's: an unknown one, or another merchant's, is
// the caller's mistake (invalid starting_after), not a missing resource.
func TestListStartingAfter(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	var ids []string
	for range 3 {
		p, err := e.CreatePayment(ctx, onlinePayment, randomOperationID())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
		time.Sleep(2 * time.Millisecond) // distinct creation times
	}
	page, _, err := e.ListPayments(ctx, tender.PaymentFilter{StartingAfter: ids[2]})
	if err != nil || len(page) != 2 || page[0].ID != ids[1] || page[1].ID != ids[0] {
		var got []string
		for _, p := range page {
			got = append(got, p.ID)
		}
		t.Fatalf("page after the newest: %v, %v; want %v", got, err, []string{ids[1], ids[0]})
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		id   string
	}{
		{"unknown", ctx, "pay_nosuch"},
		{"another merchant's", tender.WithMerchant(ctx, "mer_other"), ids[1]},
	} {
		_, _, err := e.ListPayments(tc.ctx, tender.PaymentFilter{StartingAfter: tc.id})
		var te *tender.Error
		if !errors.As(err, &te) || te.Code != tender.EInvalid || te.Param != "starting_after" {
			t.Fatalf("%s starting_after: %v, want invalid starting_after", tc.name, err)
		}
	}
}
