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
	var first *tender.Payment
	panicking := func(ctx context.Context, opID string) Response {
		first, _ = e.CreatePayment(ctx, terminalPayment, opID)
		panic("rendering the response failed")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the handler's panic did not reach the caller")
			}
		}()
		e.IdempotentCreate(ctx, "key", "k1", "h", panicking, render)
	}()
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
