package engine

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// A request whose handler panics after its payment and key were stored
// frees the key: its retry is answered at once with the payment the
// first try made, not held up as in flight, and nothing more is sent.
func TestCreateKeyFreedWhenTheHandlerPanics(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	fn, render := createOnce(e, terminalPayment)
	first := createPanicking(t, e, render)
	if first == nil {
		t.Fatal("the first try stored no payment")
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	resp, err := e.IdempotentCreate(rctx, "key", "k1", "h", fn, render)
	if err != nil || resp.Status != 201 {
		t.Fatalf("retry after the panic = %d %s, %v; want the payment", resp.Status, resp.Body, err)
	}
	if id, _ := paymentOf(t, resp); id != first.ID {
		t.Fatalf("retry answered payment %s, want %s", id, first.ID)
	}
	if n := w.conn.count("start"); n != 1 {
		t.Errorf("the provider was asked to start %d times, want 1", n)
	}
}

// A response given without any payment stored (input refused before the
// create) is kept under the key when the handler asks to keep it: a
// retry replays it without running the handler again.
func TestCreateKeyKeepsAResponseWithoutPayment(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	_, render := createOnce(e, terminalPayment)
	var runs atomic.Int64
	refuse := func(context.Context, string) Response {
		runs.Add(1)
		return Response{Status: 400, Body: []byte(`{"error":"amount must be positive"}`), Keep: true}
	}
	resp, err := e.IdempotentCreate(ctx, "key", "bad", "h", refuse, render)
	if err != nil || resp.Status != 400 || resp.Replayed {
		t.Fatalf("refused create = %+v, %v", resp, err)
	}
	again, err := e.IdempotentCreate(ctx, "key", "bad", "h", refuse, render)
	if err != nil || again.Status != 400 || !again.Replayed || string(again.Body) != string(resp.Body) || runs.Load() != 1 {
		t.Fatalf("retry = %+v, %v after %d runs; want the kept 400 replayed, one run", again, err, runs.Load())
	}
	if n := w.conn.count("start"); n != 0 {
		t.Errorf("%d starts for a refused request", n)
	}
}

// A duplicate waits for the first request for at least 10 s beyond twice
// the provider's timeout: one whose provider is slower than its timeout
// (here 50 ms, the start takes 300 ms) is answered with its payment, not
// told the key is in flight.
func TestCreateKeyDuplicateWaitsForTheFirst(t *testing.T) {
	w := newWorld(t)
	s := faultSchedule
	s.ProviderTimeout = 50 * time.Millisecond
	e := w.engine(s)
	ctx := context.Background()
	started := make(chan struct{})
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		return tender.Update{Status: tender.StatusCaptured, ProviderReference: "R1"}, nil
	})
	fn, render := createOnce(e, terminalPayment)
	firstDone := make(chan Response, 1)
	go func() {
		resp, _ := e.IdempotentCreate(ctx, "key", "slow", "h", fn, render)
		firstDone <- resp
	}()
	<-started
	dup, err := e.IdempotentCreate(ctx, "key", "slow", "h", fn, render)
	first := <-firstDone
	if err != nil || dup.Status != 201 || string(dup.Body) != string(first.Body) {
		t.Fatalf("duplicate = %d %s, %v; want the first's response %s", dup.Status, dup.Body, err, first.Body)
	}
	if n := w.conn.count("start"); n != 1 {
		t.Errorf("the provider was asked to start %d times, want 1", n)
	}
}

// With memory kept (PostgreSQL's path: the key reserved with the payment
// without a read first), a new key's create is answered as the first
// answer, not as a replay of itself.
func TestCreateKeyFirstAnswerIsNoReplay(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	f := &fakeFeed{}
	e.memo = newMemo(f)
	f.live(true)
	fn, render := createOnce(e, terminalPayment)
	resp, err := e.IdempotentCreate(context.Background(), "key", "k1", "h", fn, render)
	if err != nil || resp.Status != 201 || resp.Replayed {
		t.Fatalf("first create = %+v, %v; want 201, not replayed", resp, err)
	}
	again, err := e.IdempotentCreate(context.Background(), "key", "k1", "h", fn, render)
	if err != nil || !again.Replayed || string(again.Body) != string(resp.Body) {
		t.Fatalf("retry = %+v, %v; want the replayed response", again, err)
	}
	if n := w.conn.count("start"); n != 1 {
		t.Errorf("the provider was asked to start %d times, want 1", n)
	}
}

// slowAnswerStore takes its time storing a start's answer with the
// create's response.
type slowAnswerStore struct {
	tender.Store
	delay time.Duration
}

func (s *slowAnswerStore) UpdatePaymentAnswering(ctx context.Context, p *tender.Payment, a tender.IdempotencyAnswer, events ...tender.Event) (bool, error) {
	time.Sleep(s.delay)
	return s.Store.UpdatePaymentAnswering(ctx, p, a, events...)
}

// A start whose answer is being stored when StartTimeout runs out is as
// good as answered: the create answers with it (and so does the key),
// not with "unknown".
func TestCreateKeyAnswerBeingStoredAtTheTimeout(t *testing.T) {
	w := newWorld(t)
	s := faultSchedule
	s.StartTimeout = 100 * time.Millisecond
	e := w.engine(s)
	e.store = &slowAnswerStore{Store: w.store, delay: 400 * time.Millisecond}
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, ProviderReference: "R1"}, nil
	})
	fn, render := createOnce(e, terminalPayment)
	resp, err := e.IdempotentCreate(context.Background(), "key", "k1", "h", fn, render)
	if err != nil || resp.Status != 201 {
		t.Fatalf("create = %d %s, %v", resp.Status, resp.Body, err)
	}
	if id, status := paymentOf(t, resp); status != tender.StatusCaptured || w.get(id).Status != tender.StatusCaptured {
		t.Fatalf("answered %s (stored %s) while the start's answer was being stored; want captured", status, w.get(id).Status)
	}
	rec, err := w.store.GetIdempotency(context.Background(), "key", "k1")
	if err != nil || !rec.Done || string(rec.Body) != string(resp.Body) {
		t.Fatalf("stored key %+v, %v; want the response given", rec, err)
	}
}

// A handler that panics after the create answered ahead of its provider
// (StartTimeout) frees the key all the same: its retry is answered at
// once with the payment, not held up for the key's lease.
func TestCreateKeyFreedWhenTheHandlerPanicsLate(t *testing.T) {
	w := newWorld(t)
	s := faultSchedule
	s.StartTimeout = 50 * time.Millisecond
	s.IdempotencyLease = time.Hour // a key not freed is held for the whole test
	e := w.engine(s)
	ctx := context.Background()
	release := make(chan struct{})
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		<-release
		return tender.Update{Status: tender.StatusCaptured, ProviderReference: "R1"}, nil
	})
	defer close(release)
	_, render := createOnce(e, terminalPayment)
	first := createPanicking(t, e, render)
	if first == nil || first.Status != tender.StatusUnknown {
		t.Fatalf("the first try: %+v; want a payment answered unknown", first)
	}
	fn, render := createOnce(e, terminalPayment)
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	resp, err := e.IdempotentCreate(rctx, "key", "k1", "h", fn, render)
	if err != nil || resp.Status != 201 {
		t.Fatalf("retry after the panic = %d %s, %v; want the payment", resp.Status, resp.Body, err)
	}
	if id, _ := paymentOf(t, resp); id != first.ID {
		t.Fatalf("retry answered payment %s, want %s", id, first.ID)
	}
	if n := w.conn.count("start"); n != 1 {
		t.Errorf("the provider was asked to start %d times, want 1", n)
	}
}

// downStore cannot read idempotency keys.
type downStore struct{ tender.Store }

func (downStore) GetIdempotency(context.Context, string, string) (*tender.IdempotencyRecord, error) {
	return nil, tender.Errorf(tender.EUnavailable, "the database is down")
}

// A key that cannot be read (the store is down) answers the store's
// error: nothing is created, nothing sent.
func TestCreateKeyStoreDown(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	e.store = downStore{w.store}
	fn, render := createOnce(e, terminalPayment)
	resp, err := e.IdempotentCreate(context.Background(), "key", "k1", "h", fn, render)
	if tender.ErrorCodeOf(err) != tender.EUnavailable || resp.Status != 0 {
		t.Fatalf("create with the store down = %+v, %v; want the store's error", resp, err)
	}
	if n := w.conn.count("start"); n != 0 {
		t.Errorf("%d starts with the store down", n)
	}
}

// createPanicking runs a create on key k1 whose handler stores the
// payment and then panics (rendering its answer failed), checks that the
// panic reaches the caller, and returns the payment it stored.
func createPanicking(t *testing.T, e *Engine, render func(*tender.Payment, error) Response) (first *tender.Payment) {
	t.Helper()
	panicking := func(ctx context.Context, opID string) Response {
		first, _ = e.CreatePayment(ctx, terminalPayment, opID)
		panic("rendering the response failed")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("the handler's panic did not reach the caller")
		}
	}()
	e.IdempotentCreate(context.Background(), "key", "k1", "h", panicking, render)
	return first
}
