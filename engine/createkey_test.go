package engine

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// countingStore counts the key's commits of their own.
type countingStore struct {
	tender.Store
	reserves, completes atomic.Int64
}

func (s *countingStore) ReserveIdempotency(ctx context.Context, rec *tender.IdempotencyRecord) (*tender.IdempotencyRecord, error) {
	s.reserves.Add(1)
	return s.Store.ReserveIdempotency(ctx, rec)
}

func (s *countingStore) CompleteIdempotency(ctx context.Context, scope, key string, status int, body []byte) error {
	s.completes.Add(1)
	return s.Store.CompleteIdempotency(ctx, scope, key, status, body)
}

// createOnce is what the API does under IdempotentCreate.
func createOnce(e *Engine, req PaymentRequest) (func(context.Context, string) Response, func(*tender.Payment, error) Response) {
	render := func(p *tender.Payment, err error) Response {
		if err != nil {
			return Response{Status: 402, Body: []byte(`{"error":"` + tender.ErrorMessageOf(err) + `"}`), Keep: p != nil}
		}
		b, _ := json.Marshal(map[string]any{"id": p.ID, "status": p.Status, "version": p.Version, "updated_at": p.UpdatedAt})
		return Response{Status: 201, Body: b, Keep: true}
	}
	return func(ctx context.Context, opID string) Response { return render(e.CreatePayment(ctx, req, opID)) }, render
}

func paymentOf(t *testing.T, r Response) (id string, status tender.Status) {
	t.Helper()
	var v struct {
		ID     string
		Status tender.Status
	}
	if err := json.Unmarshal(r.Body, &v); err != nil || v.ID == "" {
		t.Fatalf("response %d %s names no payment", r.Status, r.Body)
	}
	return v.ID, v.Status
}

// A create whose provider answers in time stores its key with the payment
// and its response with the answer: no commit of the key's own.
func TestCreateKeyRidesOnThePaymentsCommits(t *testing.T) {
	w := newWorld(t)
	cs := &countingStore{Store: w.store}
	e := w.engine(faultSchedule)
	e.store = cs
	fn, render := createOnce(e, onlinePayment)
	resp, err := e.IdempotentCreate(context.Background(), "key", "k1", "h", fn, render)
	if err != nil || resp.Status != 201 {
		t.Fatalf("create = %d %s, %v", resp.Status, resp.Body, err)
	}
	id, _ := paymentOf(t, resp)
	if n, m := cs.reserves.Load(), cs.completes.Load(); n != 0 || m != 0 {
		t.Errorf("the key took %d reservations and %d completions of its own, want none", n, m)
	}
	rec, err := w.store.GetIdempotency(context.Background(), "key", "k1")
	if err != nil || !rec.Done || rec.Status != 201 || string(rec.Body) != string(resp.Body) {
		t.Fatalf("stored key %+v, %v; want done with the response given", rec, err)
	}
	// The stored response is the payment as stored.
	p := w.get(id)
	want := render(p, nil)
	if string(want.Body) != string(rec.Body) {
		t.Errorf("stored response %s, the payment as stored renders %s", rec.Body, want.Body)
	}
	// A retry replays it and starts nothing.
	again, err := e.IdempotentCreate(context.Background(), "key", "k1", "h", fn, render)
	if err != nil || !again.Replayed || string(again.Body) != string(resp.Body) {
		t.Fatalf("retry = %+v, %v; want the replayed response", again, err)
	}
	if _, err := e.IdempotentCreate(context.Background(), "key", "k1", "other", fn, render); err != ErrIdempotencyMismatch {
		t.Fatalf("the key with another body: %v, want ErrIdempotencyMismatch", err)
	}
	if n := w.conn.count("start"); n != 1 {
		t.Errorf("the provider was asked to start %d times, want 1", n)
	}
}

// A create that answers before its provider does (StartTimeout) stores
// its response apart; the start's answer is stored all the same.
func TestCreateKeyAnsweredBeforeTheProvider(t *testing.T) {
	w := newWorld(t)
	s := faultSchedule
	s.StartTimeout = 50 * time.Millisecond
	e := w.engine(s)
	release := make(chan struct{})
	w.conn.start.Set(func(ctx context.Context, op *tender.Op) (tender.Update, error) {
		<-release
		return tender.Update{Status: tender.StatusRequiresAction, NextAction: &tender.NextAction{Type: "redirect", URL: "https://psp.test/x"}}, nil
	})
	fn, render := createOnce(e, onlinePayment)
	resp, err := e.IdempotentCreate(context.Background(), "key", "k1", "h", fn, render)
	if err != nil || resp.Status != 201 {
		t.Fatalf("create = %d %s, %v", resp.Status, resp.Body, err)
	}
	id, status := paymentOf(t, resp)
	if status != tender.StatusUnknown {
		t.Fatalf("answered %s before the provider, want unknown", status)
	}
	rec, err := w.store.GetIdempotency(context.Background(), "key", "k1")
	if err != nil || !rec.Done || string(rec.Body) != string(resp.Body) {
		t.Fatalf("stored key %+v, %v; want the early response", rec, err)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for w.get(id).Status != tender.StatusRequiresAction && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := w.get(id).Status; got != tender.StatusRequiresAction {
		t.Fatalf("the late answer left the payment %s", got)
	}
	if rec, _ := w.store.GetIdempotency(context.Background(), "key", "k1"); string(rec.Body) != string(resp.Body) {
		t.Errorf("the late answer replaced the key's response: %s", rec.Body)
	}
}

// A process that dies between the two commits (the payment and its key
// stored, the start's answer not): the reconciler finds the payment, and a
// retry after the lease takes the key over and answers with it.
func TestCreateKeyCrashBetweenTheCommits(t *testing.T) {
	w := newWorld(t)
	dyingSched := faultSchedule
	dyingSched.IdempotencyLease = time.Hour // no renewal while the test runs: the process is "dead"
	dying := w.engine(dyingSched)
	dead := make(chan struct{})
	w.conn.start.Set(func(ctx context.Context, op *tender.Op) (tender.Update, error) {
		<-dead // never answers while the test looks
		return tender.Update{}, tender.Errorf(tender.EUnavailable, "the process died")
	})
	fn, render := createOnce(dying, terminalPayment)
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		dying.IdempotentCreate(context.Background(), "key", "k1", "h", fn, render)
	}()
	t.Cleanup(func() { close(dead); <-gone })
	opID := OperationID("key", "k1")
	var p *tender.Payment
	for deadline := time.Now().Add(5 * time.Second); p == nil && time.Now().Before(deadline); {
		p, _ = w.store.PaymentByOperation(context.Background(), opID)
		time.Sleep(5 * time.Millisecond)
	}
	if p == nil {
		t.Fatal("the payment was never stored")
	}
	rec, err := w.store.GetIdempotency(context.Background(), "key", "k1")
	if err != nil || rec.Done {
		t.Fatalf("the key stored with the payment: %+v, %v; want in flight", rec, err)
	}
	if p.NextCheckAt.IsZero() {
		t.Fatal("the payment stored with its key has no check due: a crash would strand it")
	}

	// The provider did take it.
	w.conn.start.Set(nil)
	w.conn.status.Set(func(ctx context.Context, op *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, ProviderReference: "R1"}, nil
	})
	w.clock.Advance(2 * time.Hour) // past the lease and the guard
	other := w.engine(faultSchedule)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go other.Run(ctx)
	for deadline := time.Now().Add(5 * time.Second); w.get(p.ID).Status != tender.StatusCaptured && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := w.get(p.ID).Status; got != tender.StatusCaptured {
		t.Fatalf("the reconciler left the payment %s, want captured", got)
	}

	// The POS retries: it takes the key over and gets its payment.
	fn2, render2 := createOnce(other, terminalPayment)
	resp, err := other.IdempotentCreate(context.Background(), "key", "k1", "h", fn2, render2)
	if err != nil || resp.Status != 201 {
		t.Fatalf("retry = %d %s, %v", resp.Status, resp.Body, err)
	}
	if id, status := paymentOf(t, resp); id != p.ID || status != tender.StatusCaptured {
		t.Fatalf("retry answered %s %s, want %s captured", id, status, p.ID)
	}
	if n := w.conn.count("start"); n != 1 {
		t.Errorf("the provider was asked to start %d times, want 1", n)
	}
	if rec, _ := w.store.GetIdempotency(context.Background(), "key", "k1"); rec == nil || !rec.Done {
		t.Errorf("after the retry the key is %+v, want done", rec)
	}
}

// Concurrent duplicates, in one process and across two, make one provider
// call and all answer with the one payment.
func TestCreateKeyConcurrentDuplicates(t *testing.T) {
	w := newWorld(t)
	engines := []*Engine{w.engine(faultSchedule), w.engine(faultSchedule)}
	w.conn.start.Set(func(ctx context.Context, op *tender.Op) (tender.Update, error) {
		time.Sleep(100 * time.Millisecond)
		return tender.Update{Status: tender.StatusProcessing}, nil
	})
	const n = 12
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			e := engines[i%2]
			fn, render := createOnce(e, terminalPayment)
			resp, err := e.IdempotentCreate(context.Background(), "key", "dup", "h", fn, render)
			if err != nil || resp.Status != 201 {
				t.Errorf("duplicate %d = %d %s, %v", i, resp.Status, resp.Body, err)
				return
			}
			ids[i], _ = paymentOf(t, resp)
		})
	}
	wg.Wait()
	for i := range ids {
		if ids[i] != ids[0] {
			t.Fatalf("duplicates answered with payments %v", ids)
		}
	}
	if c := w.conn.count("start"); c != 1 {
		t.Errorf("the provider was asked to start %d times, want 1", c)
	}
}
