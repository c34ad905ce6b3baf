package engine

// Tests of the engine under faults: hang-ups, crashes between two lines, a
// second instance on the same store, answers lost or late. Each scenario
// drives real engines on a real SQLite file through a scripted connector
// (a test double of one provider, inside this package's unit tests only).

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/seal"
	"github.com/tenderpay/tender/sqlite"
)

// script is a connector whose every call is a function the test sets.
type script struct {
	start, status, cancel, capture, refund hook[func(ctx context.Context, op *tender.Op) (tender.Update, error)]
	checkOp                                hook[func(ctx context.Context, kind tender.OpKind, op *tender.Op) (tender.OpOutcome, tender.Update, error)]
	calls                                  sync.Map    // name → *atomic.Int64
	canceled                               atomic.Bool // a Status call carried CancelRequested
}

// hook is a function a test sets while engines call it.
type hook[F any] struct {
	mu sync.Mutex
	f  F
}

// Set replaces the function (nil: the script's default).
func (h *hook[F]) Set(f F) {
	h.mu.Lock()
	h.f = f
	h.mu.Unlock()
}

// Get returns the function, and false when none is set.
func (h *hook[F]) Get() (F, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.f, !reflect.ValueOf(&h.f).Elem().IsNil()
}

func (s *script) count(name string) int64 {
	v, _ := s.calls.LoadOrStore(name, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

func (s *script) inc(name string) {
	v, _ := s.calls.LoadOrStore(name, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (s *script) Name() string                                             { return "script" }
func (s *script) ValidateAccount(*tender.Account) error                    { return nil }
func (s *script) ValidateTerminal(*tender.Terminal, *tender.Account) error { return nil }
func (s *script) ValidatePayment(*tender.Payment, *tender.Account, *tender.Terminal) error {
	return nil
}

func (s *script) Start(ctx context.Context, op *tender.Op) (tender.Update, error) {
	s.inc("start")
	f, ok := s.start.Get()
	if !ok {
		return tender.Update{Status: tender.StatusProcessing}, nil
	}
	return f(ctx, op)
}

func (s *script) Status(ctx context.Context, op *tender.Op) (tender.Update, error) {
	s.inc("status")
	if op.CancelRequested {
		s.canceled.Store(true)
	}
	f, ok := s.status.Get()
	if !ok {
		return tender.Update{}, nil
	}
	return f(ctx, op)
}

func (s *script) Cancel(ctx context.Context, op *tender.Op) (tender.Update, error) {
	s.inc("cancel")
	f, ok := s.cancel.Get()
	if !ok {
		return tender.Update{Status: tender.StatusCanceled}, nil
	}
	return f(ctx, op)
}

func (s *script) Capture(ctx context.Context, op *tender.Op) (tender.Update, error) {
	s.inc("capture")
	f, ok := s.capture.Get()
	if !ok {
		return tender.Update{Status: tender.StatusPartiallyCaptured}, nil
	}
	return f(ctx, op)
}

func (s *script) Refund(ctx context.Context, op *tender.Op) (tender.Update, error) {
	s.inc("refund")
	f, ok := s.refund.Get()
	if !ok {
		return tender.Update{}, nil
	}
	return f(ctx, op)
}

func (s *script) CheckOperation(ctx context.Context, kind tender.OpKind, op *tender.Op) (tender.OpOutcome, tender.Update, error) {
	s.inc("check_" + string(kind))
	f, ok := s.checkOp.Get()
	if !ok {
		return tender.OpPending, tender.Update{}, nil
	}
	return f(ctx, kind, op)
}

func (s *script) Callback(context.Context, *tender.Callback) (*tender.CallbackResult, error) {
	return nil, tender.Errorf(tender.ENotFound, "no callbacks")
}

// fakeClock is real time plus an offset the test moves on.
type fakeClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

var faultSchedule = Schedule{
	Processing:       time.Hour, // checks happen when a test asks for them
	RequiresAction:   time.Hour,
	Unknown:          []time.Duration{time.Hour},
	Lease:            time.Minute,
	Poll:             20 * time.Millisecond,
	Workers:          2,
	ProviderTimeout:  5 * time.Second,
	StartTimeout:     5 * time.Second,
	MaxOpen:          30 * time.Minute,
	IdempotencyLease: 3 * time.Second,
}

// world is one store with any number of engines (instances) on it.
type world struct {
	t     *testing.T
	store *sqlite.DB
	clock *fakeClock
	conn  *script
}

func newWorld(t *testing.T) *world {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tender.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &world{t: t, store: st, clock: &fakeClock{}, conn: &script{}}
	e := w.engine(faultSchedule)
	ctx := context.Background()
	if _, err := e.CreateAccount(ctx, &tender.Account{ID: "acct", Connector: "script", Environment: tender.EnvSandbox, Default: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateTerminal(ctx, &tender.Terminal{ID: "till", Connector: "script", Account: "acct", ProviderID: "T1"}); err != nil {
		t.Fatal(err)
	}
	return w
}

// engine is another instance on the world's store.
func (w *world) engine(s Schedule) *Engine {
	w.t.Helper()
	sealer, err := seal.New(bytes.Repeat([]byte{9}, seal.KeySize))
	if err != nil {
		w.t.Fatal(err)
	}
	e, err := New(Options{Store: w.store, Connectors: []tender.Connector{w.conn}, Sealer: sealer, Clock: w.clock, Schedule: s, PublicURL: "http://tender.test"})
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

func (w *world) get(id string) *tender.Payment {
	w.t.Helper()
	p, err := w.store.GetPayment(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) eventTypes(id string) []string {
	w.t.Helper()
	evs, err := w.store.ListEvents(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var terminalPayment = PaymentRequest{Amount: 1000, Currency: "EUR", Terminal: "till"}
var onlinePayment = PaymentRequest{Amount: 1000, Currency: "EUR", Connector: "script", Capture: tender.CaptureManual}

// authorized makes a payment authorized for 1000.
func (w *world) authorized(e *Engine) *tender.Payment {
	w.t.Helper()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusAuthorized, ProviderReference: "ref"}, nil
	})
	p, err := e.CreatePayment(context.Background(), onlinePayment, randomOperationID())
	if err != nil || p.Status != tender.StatusAuthorized {
		w.t.Fatalf("authorize: %v, %v", p, err)
	}
	return p
}

// Scenario 1: a POS that hangs up during the provider call changes nothing
// of the payment, and a retry of its request answers with the same payment.
func TestHangUpDuringStart(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	release := make(chan struct{})
	w.conn.start.Set(func(ctx context.Context, op *tender.Op) (tender.Update, error) {
		<-release
		if ctx.Err() != nil {
			return tender.Update{}, tender.Errorf(tender.EUnavailable, "the caller's hang-up reached the provider call")
		}
		return tender.Update{Status: tender.StatusCaptured, ProviderReference: "R1"}, nil
	})
	ctx, hangUp := context.WithCancel(context.Background())
	opID := OperationID("key", "till-1")
	errc := make(chan error, 1)
	go func() { _, err := e.CreatePayment(ctx, terminalPayment, opID); errc <- err }()
	var p *tender.Payment
	for p == nil {
		p, _ = w.store.PaymentByOperation(context.Background(), opID)
		time.Sleep(5 * time.Millisecond)
	}
	hangUp()
	close(release)
	<-errc
	deadline := time.Now().Add(5 * time.Second)
	for w.get(p.ID).Status != tender.StatusCaptured && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := w.get(p.ID); got.Status != tender.StatusCaptured || got.CapturedAmount != 1000 || !got.NextCheckAt.IsZero() {
		t.Fatalf("after the hang-up the payment is %s (captured %d, next check %v), want captured 1000 with no check due", got.Status, got.CapturedAmount, got.NextCheckAt)
	}
	again, err := e.CreatePayment(context.Background(), terminalPayment, opID)
	if err != nil || again.ID != p.ID {
		t.Fatalf("retry with the same key = %v, %v; want payment %s", again, err, p.ID)
	}
	if n := w.conn.count("start"); n != 1 {
		t.Errorf("the provider was asked to start %d times, want 1", n)
	}
}

// Scenario 1: a process that dies during the start leaves a payment that
// another instance finds after the guard, asks the provider about, and
// settles; its terminal is free again.
func TestCrashDuringStartIsReconciled(t *testing.T) {
	w := newWorld(t)
	w.conn.start.Set(func(ctx context.Context, op *tender.Op) (tender.Update, error) {
		<-ctx.Done() // the process dies: the answer is never stored
		return tender.Update{}, ctx.Err()
	})
	s := faultSchedule
	s.StartTimeout = 50 * time.Millisecond
	s.ProviderTimeout = 200 * time.Millisecond
	dying := w.engine(s)
	p, err := dying.CreatePayment(context.Background(), terminalPayment, OperationID("key", "crash"))
	if err != nil {
		t.Fatal(err)
	}
	if p.NextCheckAt.IsZero() {
		t.Fatalf("a payment whose start is under way has no check due: a crash would strand it")
	}
	// The other instance: the start never got an answer.
	w.conn.start.Set(nil)
	w.conn.status.Set(func(ctx context.Context, op *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, ProviderReference: "R1"}, nil
	})
	// Wait for the dying process's start to time out and be stored as in
	// doubt, then move on past the guard.
	time.Sleep(400 * time.Millisecond)
	w.clock.Advance(time.Hour)
	other := w.engine(faultSchedule)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go other.Run(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for w.get(p.ID).Status != tender.StatusCaptured && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := w.get(p.ID); got.Status != tender.StatusCaptured {
		t.Fatalf("the stranded payment is %s, want captured by reconciliation", got.Status)
	}
	if open, _ := w.store.OpenPaymentOnTerminal(context.Background(), "till"); open != nil {
		t.Errorf("the terminal is still busy with %s", open.ID)
	}
}

// Scenario 1 (the line before the call): a payment stored pending whose
// process died before Start is found by the reconciler; a failed check
// leaves it in doubt, never failed.
func TestPendingWithoutStartIsInDoubt(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	now := w.clock.Now().UTC()
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 1000, Currency: "EUR", Status: tender.StatusPending,
		Connector: "script", Account: "acct", Terminal: "till", CaptureMode: tender.CaptureAutomatic,
		NextCheckAt: now.Add(e.guard()), CreatedAt: now, UpdatedAt: now}
	if err := w.store.CreatePayment(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, tender.Errorf(tender.EUnavailable, "no answer")
	})
	w.clock.Advance(time.Hour)
	if _, err := e.reconcile(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	got := w.get(p.ID)
	if got.Status != tender.StatusUnknown || got.NextCheckAt.IsZero() {
		t.Fatalf("a pending payment whose check failed is %s (next check %v), want unknown with a check due", got.Status, got.NextCheckAt)
	}
}

// Scenario 2: a capture on one instance and a cancel on another never both
// reach the provider; the one that loses is refused before anything is sent.
func TestCaptureRacingCancelAcrossInstances(t *testing.T) {
	w := newWorld(t)
	a, b := w.engine(faultSchedule), w.engine(faultSchedule)
	p := w.authorized(a)
	inCapture := make(chan struct{})
	release := make(chan struct{})
	w.conn.capture.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		close(inCapture)
		<-release
		return tender.Update{Status: tender.StatusCaptured}, nil
	})
	done := make(chan error, 1)
	go func() { _, err := a.Capture(context.Background(), p.ID, 0, "cap-1"); done <- err }()
	<-inCapture
	_, err := b.Cancel(context.Background(), p.ID, "cancel-1")
	if tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("cancel during a capture on another instance: %v, want conflict", err)
	}
	if n := w.conn.count("cancel"); n != 0 {
		t.Fatalf("the cancel reached the provider %d times during the capture", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("capture: %v", err)
	}
	if got := w.get(p.ID); got.Status != tender.StatusCaptured || got.CapturedAmount != 1000 {
		t.Fatalf("after the race the payment is %s with %d captured, want captured 1000", got.Status, got.CapturedAmount)
	}

	// And the other way round: a cancel in flight refuses a capture.
	q := w.authorized(a)
	inCancel := make(chan struct{})
	release2 := make(chan struct{})
	w.conn.cancel.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		close(inCancel)
		<-release2
		return tender.Update{Status: tender.StatusCanceled}, nil
	})
	go func() { _, err := b.Cancel(context.Background(), q.ID, "cancel-2"); done <- err }()
	<-inCancel
	before := w.conn.count("capture")
	if _, err := a.Capture(context.Background(), q.ID, 0, "cap-2"); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("capture during a cancel on another instance: %v, want conflict", err)
	}
	if w.conn.count("capture") != before {
		t.Fatal("the capture reached the provider during the cancel")
	}
	close(release2)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := w.get(q.ID); got.Status != tender.StatusCanceled || got.CapturedAmount != 0 {
		t.Fatalf("after the cancel the payment is %s with %d captured", got.Status, got.CapturedAmount)
	}
}

// Scenario 3: a capture whose answer was lost, sent without an
// Idempotency-Key, is asked about by the reconciler and booked; a refund
// the provider never carried out is released. Both keep their reservation
// until then.
func TestOperationsInDoubtAreReconciled(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	p := w.authorized(e)
	w.conn.capture.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, tender.Errorf(tender.EUnavailable, "no answer")
	})
	if _, err := e.Capture(context.Background(), p.ID, 600, randomOperationID()); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("capture in doubt: %v", err)
	}
	// The reservation stays: only 400 can still be captured.
	w.conn.capture.Set(nil)
	if _, err := e.Capture(context.Background(), p.ID, 401, randomOperationID()); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("capture beyond what a capture in doubt leaves: %v, want invalid", err)
	}
	got := w.get(p.ID)
	if got.NextCheckAt.IsZero() {
		t.Fatal("a capture in doubt left no check due")
	}
	w.conn.checkOp.Set(func(_ context.Context, kind tender.OpKind, op *tender.Op) (tender.OpOutcome, tender.Update, error) {
		if kind != tender.OpCapture || op.Amount != 600 {
			t.Errorf("asked about %s of %d, want capture of 600", kind, op.Amount)
		}
		return tender.OpSucceeded, tender.Update{}, nil
	})
	if _, err := e.reconcile(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	got = w.get(p.ID)
	if got.CapturedAmount != 600 || got.Status != tender.StatusPartiallyCaptured || !got.NextCheckAt.IsZero() {
		t.Fatalf("after reconciliation: %s, captured %d, next check %v; want partially_captured 600, no check due", got.Status, got.CapturedAmount, got.NextCheckAt)
	}
	if !has(w.eventTypes(p.ID), EvCaptureDone) {
		t.Errorf("no %s event (and webhook) for the reconciled capture", EvCaptureDone)
	}

	// A refund in doubt that the provider says never happened is released.
	w.conn.refund.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, tender.Errorf(tender.EUnavailable, "no answer")
	})
	if _, err := e.Refund(context.Background(), p.ID, 600, randomOperationID()); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("refund in doubt: %v", err)
	}
	w.conn.refund.Set(nil)
	if _, err := e.Refund(context.Background(), p.ID, 1, randomOperationID()); tender.ErrorCodeOf(err) != tender.EConflict && tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("a refund while the whole capture is reserved by one in doubt: %v, want refused", err)
	}
	w.conn.checkOp.Set(func(context.Context, tender.OpKind, *tender.Op) (tender.OpOutcome, tender.Update, error) {
		return tender.OpFailed, tender.Update{}, nil
	})
	if _, err := e.reconcile(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Refund(context.Background(), p.ID, 600, randomOperationID()); err != nil {
		t.Fatalf("refund after the one in doubt was released: %v", err)
	}
	if got := w.get(p.ID); got.RefundedAmount != 600 {
		t.Fatalf("refunded %d, want 600", got.RefundedAmount)
	}
}

// Scenario 4: a check that took long does not write its old copy over a
// change that arrived meanwhile.
func TestCheckDoesNotOverwriteACallback(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusRequiresAction, State: json.RawMessage(`{"notified":false}`),
			NextAction: &tender.NextAction{Type: "redirect", URL: "https://bank.test"}}, nil
	})
	p, err := e.CreatePayment(context.Background(), onlinePayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	inStatus := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	w.conn.status.Set(func(_ context.Context, op *tender.Op) (tender.Update, error) {
		first := false
		once.Do(func() { first = true })
		if first {
			close(inStatus)
			<-release
		}
		// The answer carries the state of the copy it was asked about.
		return tender.Update{State: op.Payment.State, Note: "still open"}, nil
	})
	done := make(chan error, 1)
	go func() { _, err := e.Check(context.Background(), p.ID); done <- err }()
	<-inStatus
	// The notify arrives while the check waits for the provider.
	if _, err := e.mutate(context.Background(), p.ID, func(q *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		ev, _, err := e.applyUpdate(q, tender.Update{Status: tender.StatusAuthorized, State: json.RawMessage(`{"notified":true}`)}, "callback")
		return ev, true, err
	}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := w.get(p.ID); string(got.State) != `{"notified":true}` || got.Status != tender.StatusAuthorized {
		t.Fatalf("after the check the payment is %s with state %s; the callback's change was overwritten", got.Status, got.State)
	}
}

// Scenario 5: a crash while a request is in flight does not lock its key
// for a day: after the lease a retry takes it over and answers with the
// payment the first request made.
func TestIdempotencyKeyOfACrashedRequest(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	now := w.clock.Now().UTC()
	// The dead process's reservation, and the payment it had made.
	if old, err := w.store.ReserveIdempotency(ctx, &tender.IdempotencyRecord{Scope: "key", Key: "k1", RequestHash: "h",
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour), LockedUntil: now.Add(faultSchedule.IdempotencyLease)}); err != nil || old != nil {
		t.Fatal(old, err)
	}
	p, err := e.CreatePayment(ctx, terminalPayment, OperationID("key", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	run := func() (Response, error) {
		return e.Idempotent(ctx, "key", "k1", "h", func(opID string) Response {
			q, err := e.CreatePayment(ctx, terminalPayment, opID)
			if err != nil {
				return Response{Status: 500}
			}
			return Response{Status: 201, Body: []byte(q.ID), Keep: true}
		})
	}
	w.clock.Advance(faultSchedule.IdempotencyLease + time.Second)
	resp, err := run()
	if err != nil || resp.Status != 201 || string(resp.Body) != p.ID {
		t.Fatalf("retry after the lease = %d %s, %v; want 201 with payment %s", resp.Status, resp.Body, err, p.ID)
	}
	if n := w.conn.count("start"); n != 1 {
		t.Errorf("the provider was asked to start %d times, want 1", n)
	}
}

// Scenario 6: refunding everything captured from a partial capture leaves
// the remainder capturable.
func TestRefundOfPartialCaptureKeepsRemainder(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.authorized(e)
	if _, err := e.Capture(ctx, p.ID, 300, "c1"); err != nil {
		t.Fatal(err)
	}
	q, err := e.Refund(ctx, p.ID, 300, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != tender.StatusPartiallyCaptured || q.RefundedAmount != 300 {
		t.Fatalf("after refunding the whole partial capture: %s, refunded %d; want partially_captured with 300 refunded", q.Status, q.RefundedAmount)
	}
	if _, err := e.Refund(ctx, p.ID, 1, "r2"); err == nil {
		t.Fatal("a refund beyond what was captured was accepted")
	}
	w.conn.capture.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured}, nil
	})
	q, err = e.Capture(ctx, p.ID, 700, "c2")
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != tender.StatusPartiallyRefunded || q.CapturedAmount != 1000 || q.RefundedAmount != 300 {
		t.Fatalf("after capturing the remainder: %s, captured %d, refunded %d; want partially_refunded 1000/300", q.Status, q.CapturedAmount, q.RefundedAmount)
	}

	// A provider that closes the authorization with a partial capture
	// (Trust Payments settles once) leaves nothing to capture.
	r := w.authorized(e)
	q, err = e.Capture(ctx, r.ID, 300, "c3")
	if err != nil || q.Status != tender.StatusCaptured || q.CapturedAmount != 300 {
		t.Fatalf("partial capture that closes the authorization: %v, %v; want captured 300", q, err)
	}
	if _, err := e.Capture(ctx, r.ID, 100, "c4"); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("capture after the authorization closed: %v, want conflict", err)
	}
	// And a released remainder: cancel of a partially captured payment.
	s := w.authorized(e)
	w.conn.capture.Set(nil)
	if _, err := e.Capture(ctx, s.ID, 400, "c5"); err != nil {
		t.Fatal(err)
	}
	w.conn.cancel.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCanceled}, nil
	})
	q, err = e.Cancel(ctx, s.ID, "x5")
	if err != nil || q.Status != tender.StatusCaptured || q.CapturedAmount != 400 {
		t.Fatalf("cancel of the remainder of a partial capture: %v, %v; want captured 400", q, err)
	}
}

// Scenario 7 and 8: a callback that lands before the start's answer (or
// while the start hangs) wins; the start's late answer is not an error,
// and a retry with the key answers with the same payment.
func TestCallbackBeatsStartAnswer(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	opID := OperationID("key", "race")
	release := make(chan struct{})
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		<-release
		return tender.Update{Status: tender.StatusProcessing, State: json.RawMessage(`{"from":"start"}`)}, nil
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
	// The terminal's approval callback.
	if _, err := e.mutate(context.Background(), p.ID, func(q *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		return []tender.Event{}, true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mutate(context.Background(), p.ID, func(q *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		ev := e.applyVerified(q, tender.Update{Status: tender.StatusCaptured, State: json.RawMessage(`{"from":"callback"}`)}, "callback")
		return ev, true, nil
	}); err != nil {
		t.Fatal(err)
	}
	close(release)
	r := <-done
	if r.err != nil || r.p.Status != tender.StatusCaptured {
		t.Fatalf("create after the callback won = %v, %v; want the captured payment, no error", r.p, r.err)
	}
	if got := w.get(p.ID); string(got.State) != `{"from":"callback"}` || got.Discrepancy != "" {
		t.Errorf("state %s, discrepancy %q: the late start answer overwrote the callback or was flagged", got.State, got.Discrepancy)
	}
	again, err := e.CreatePayment(context.Background(), terminalPayment, opID)
	if err != nil || again.ID != p.ID || again.Status != tender.StatusCaptured {
		t.Fatalf("retry with the key = %v, %v; want the captured payment %s", again, err, p.ID)
	}
	if n := w.conn.count("start"); n != 1 {
		t.Errorf("%d starts, want 1 (no second charge)", n)
	}
}

// Scenario 10: a start that hangs does not hold the POS: the create answers
// after the start timeout with the payment in doubt, and the start's late
// answer still lands.
func TestStartTimeoutAnswersEarly(t *testing.T) {
	w := newWorld(t)
	s := faultSchedule
	s.StartTimeout = 100 * time.Millisecond
	e := w.engine(s)
	release := make(chan struct{})
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		<-release
		return tender.Update{Status: tender.StatusCaptured}, nil
	})
	began := time.Now()
	p, err := e.CreatePayment(context.Background(), terminalPayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 2*time.Second || p.Status != tender.StatusUnknown {
		t.Fatalf("create answered after %s with %s; want about the start timeout, unknown", took, p.Status)
	}
	guard := p.NextCheckAt
	if guard.Before(w.clock.Now().Add(s.ProviderTimeout)) {
		t.Errorf("a payment whose start is still running is due for a check at %v, before the start can have ended", guard)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for w.get(p.ID).Status != tender.StatusCaptured && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := w.get(p.ID); got.Status != tender.StatusCaptured {
		t.Fatalf("the late start answer did not land: %s", got.Status)
	}
}

// Scenario 9: after a cancel, refused or accepted, the provider's status
// decides; a Status after a cancel carries CancelRequested (so the
// connector never re-sends the payment), and a cancel answered OK for a sale
// that already finished does not turn it into canceled.
func TestCancelIsConfirmed(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, tender.Errorf(tender.EUnavailable, "answer lost")
	})
	p, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil || p.Status != tender.StatusUnknown {
		t.Fatalf("%v %v", p, err)
	}
	// The provider never got it: it refuses the cancel; its status, asked
	// with CancelRequested, says canceled (never re-sent).
	w.conn.cancel.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, tender.Errorf(tender.EConflict, "no open transaction")
	})
	w.conn.status.Set(func(_ context.Context, op *tender.Op) (tender.Update, error) {
		if op.CancelRequested {
			return tender.Update{Status: tender.StatusCanceled, Failure: &tender.Failure{Code: tender.FailCanceled, Message: "never reached"}}, nil
		}
		return tender.Update{}, nil
	})
	q, err := e.Cancel(ctx, p.ID, "x1")
	if err != nil || q.Status != tender.StatusCanceled || !w.conn.canceled.Load() {
		t.Fatalf("cancel of a payment the provider never got = %v, %v (status asked with CancelRequested: %v); want canceled", q, err, w.conn.canceled.Load())
	}

	// A cancel answered OK for a sale that had already finished.
	w.conn.start.Set(nil)
	r, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	w.conn.cancel.Set(nil) // answers canceled
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured}, nil
	})
	_, err = e.Cancel(ctx, r.ID, "x2")
	if err != nil && tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatal(err)
	}
	q = w.get(r.ID)
	if q.Status != tender.StatusCaptured || q.CapturedAmount != 1000 {
		t.Fatalf("a finished sale whose cancel was answered OK is %s, want captured", q.Status)
	}
	if ev := w.eventTypes(r.ID); !has(ev, EvCancelFailed) {
		t.Errorf("events %v: the cancel is not recorded as failed", ev)
	}
}

// Scenario 11: the check time a connector asks for is honoured also for a
// payment in doubt, and a payment processing for longer than MaxOpen is
// canceled, then handed to a person, freeing its terminal.
func TestOpenPaymentsHaveADeadline(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, tender.Errorf(tender.EUnavailable, "lost")
	})
	p, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{CheckIn: 3 * time.Second, Note: "the provider has no record yet"}, nil
	})
	w.clock.Advance(2 * time.Hour) // past the guard and MaxOpen
	w.conn.cancel.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, tender.Errorf(tender.EConflict, "the terminal has it")
	})
	if _, err := e.check(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	got := w.get(p.ID)
	if d := got.NextCheckAt.Sub(w.clock.Now()); d > 4*time.Second || d <= 0 {
		t.Fatalf("next check in %s, want the 3s the connector asked for (the engine's back-off is an hour)", d)
	}
	if _, err := e.reconcile(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if n := w.conn.count("cancel"); n != 1 {
		t.Fatalf("an overdue payment was canceled %d times, want once", n)
	}
	if _, err := e.reconcile(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	got = w.get(p.ID)
	if got.Discrepancy == "" || !has(w.eventTypes(p.ID), EvDiscrepancy) {
		t.Fatalf("an overdue payment the provider could not cancel has no discrepancy (status %s)", got.Status)
	}
	if _, err := e.CreatePayment(ctx, terminalPayment, randomOperationID()); err != nil {
		t.Fatalf("the terminal is still blocked after the payment was handed to a person: %v", err)
	}
	list, _, err := e.ListPayments(ctx, tender.PaymentFilter{Discrepancy: true})
	if err != nil || len(list) != 1 || list[0].ID != p.ID {
		t.Fatalf("ListPayments(discrepancy) = %v, %v", list, err)
	}
}

// Scenario 13: a verified answer the state machine refuses is a
// discrepancy when it contradicts the record, and an amount taken other
// than the payment's is stored as taken and flagged.
func TestDiscrepanciesAreLoud(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured}, nil
	})
	p, err := e.CreatePayment(ctx, onlinePayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.mutate(ctx, p.ID, func(q *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		ev := e.applyVerified(q, tender.Update{Status: tender.StatusFailed}, "callback")
		return ev, true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := w.get(p.ID); got.Status != tender.StatusCaptured || got.Discrepancy == "" || !has(w.eventTypes(p.ID), EvDiscrepancy) {
		t.Fatalf("a failed report for a captured payment: %s, discrepancy %q", got.Status, got.Discrepancy)
	}
	// A terminal that took a tip.
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, Captured: 1150}, nil
	})
	q, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	q = w.get(q.ID)
	if q.CapturedAmount != 1150 {
		t.Fatalf("captured %d, want what the terminal took (1150)", q.CapturedAmount)
	}
	// A stale answer is no discrepancy.
	if _, err := e.mutate(ctx, q.ID, func(x *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		x.Discrepancy = ""
		ev := e.applyVerified(x, tender.Update{Status: tender.StatusProcessing}, "callback")
		return ev, true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := w.get(q.ID); got.Discrepancy != "" {
		t.Errorf("a stale processing report was flagged: %q", got.Discrepancy)
	}
}

// Scenario 13: two instances updating one account's settings at once both
// keep their change (neither overwrites the other with an older copy).
func TestConcurrentAccountUpdatesAcrossInstances(t *testing.T) {
	w := newWorld(t)
	a, b := w.engine(faultSchedule), w.engine(faultSchedule)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 10 {
		for j, e := range []*Engine{a, b} {
			wg.Go(func() {
				key := string(rune('a'+j)) + string(rune('0'+i))
				if _, err := e.UpdateAccount(ctx, "acct", AccountChange{Settings: map[string]string{key: "set"}}); err != nil {
					t.Errorf("update %s: %v", key, err)
				}
			})
		}
	}
	wg.Wait()
	got, err := w.store.GetAccount(ctx, "acct")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Settings) != 20 {
		t.Fatalf("after 20 concurrent updates of distinct settings the account has %d: %v", len(got.Settings), got.Settings)
	}
}

// Scenario 9: a status check of a payment whose cancel was asked for (and
// refused) still tells the connector so, so that it never sends the
// payment again.
func TestChecksAfterACancelCarryIt(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, tender.Errorf(tender.EUnavailable, "answer lost")
	})
	p, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	w.conn.cancel.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, tender.Errorf(tender.EConflict, "the terminal has it")
	})
	if _, err := e.Cancel(ctx, p.ID, "x1"); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("cancel: %v", err)
	}
	var asked, withCancel atomic.Int64
	w.conn.status.Set(func(_ context.Context, op *tender.Op) (tender.Update, error) {
		asked.Add(1)
		if op.CancelRequested {
			withCancel.Add(1)
		}
		return tender.Update{}, nil
	})
	w.clock.Advance(time.Hour)
	if _, err := e.Check(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if asked.Load() == 0 || withCancel.Load() != asked.Load() {
		t.Fatalf("%d status checks after a cancel, %d of them with CancelRequested", asked.Load(), withCancel.Load())
	}
}

// Scenario 1 and 8: a retry that finds its payment still pending (the
// process that started it died before storing the answer) asks the
// provider at once and answers with what the payment became.
func TestRetryOfADeadStartAsksAtOnce(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	opID := OperationID("key", "dead-start")
	now := w.clock.Now().UTC()
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 1000, Currency: "EUR", Status: tender.StatusPending,
		Connector: "script", Account: "acct", CaptureMode: tender.CaptureManual, OperationID: opID,
		NextCheckAt: now.Add(e.guard()), CreatedAt: now, UpdatedAt: now}
	if err := w.store.CreatePayment(ctx, p); err != nil {
		t.Fatal(err)
	}
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusRequiresAction, NextAction: &tender.NextAction{Type: "redirect", URL: "https://bank.test"}}, nil
	})
	got, err := e.CreatePayment(ctx, onlinePayment, opID)
	if err != nil || got.ID != p.ID || got.Status != tender.StatusRequiresAction || got.NextAction == nil {
		t.Fatalf("retry = %+v, %v; want payment %s requires_action with its next_action", got, err, p.ID)
	}
	if n := w.conn.count("start"); n != 0 {
		t.Errorf("the retry started the payment again (%d starts)", n)
	}
}
