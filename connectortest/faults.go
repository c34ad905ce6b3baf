package connectortest

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// testCrashDuringStart: an instance sends the payment to the provider and
// dies before it stores the answer (its request reached the provider; the
// answer never came back to anyone). Another instance on the same store
// finds the payment after the guard, asks the provider, and settles it
// without charging twice.
func testCrashDuringStart(t *testing.T, env *Env) {
	sched := schedule
	sched.StartTimeout = 200 * time.Millisecond
	// The dying instance reconciles nothing, and every answer of the
	// provider to it is lost (its process is gone).
	dying := env.Instance(t, &Faults{hang: make(chan struct{})}, sched, false)
	dying.Faults().DropAnswers(1 << 20)
	r := env.callAt(t, dying.URL, "POST", "/v1/payments", env.paymentBody(approve, ""), "Idempotency-Key", "crash-1")
	want(t, "create on the dying instance", r, http.StatusCreated)
	p := env.get(t, r.id())
	if p.NextCheckAt.IsZero() && !p.Status.Settled() {
		t.Fatalf("a payment whose start was under way (%s) has no check due: a crash strands it", p.Status)
	}
	env.complete(t, p)
	// Past the guard: the surviving instance's reconciler takes it on.
	advanced := false
	p = env.waitFor(t, p.ID, "settled", 90*time.Second, func(p *tender.Payment) bool { return p.Status.Settled() }, func(p *tender.Payment) {
		if !advanced {
			advanced = true
			env.Clock.Advance(schedule.ProviderTimeout + 20*time.Second)
		}
		if p.Status == tender.StatusUnknown && env.h.InDoubtFor > 0 {
			env.Clock.Advance(env.h.InDoubtFor)
		}
	})
	t.Logf("the payment of the dead instance ended %s", p.Status)
	if p.Status != tender.StatusCaptured && p.Status != tender.StatusFailed && p.Status != tender.StatusCanceled {
		t.Fatalf("payment ended %s", p.Status)
	}
	if p.Terminal != "" {
		if open, err := env.Store.OpenPaymentOnTerminal(context.Background(), p.Terminal); err != nil || open != nil {
			t.Errorf("terminal still busy after reconciliation: %v, %v", open, err)
		}
	}
	env.agree(t)
}

// testSecondInstance: two instances on one store act on one payment at
// once. For an authorization, a capture on one races a cancel on the
// other: at most one of them reaches the provider's money, and Tender
// records exactly what the provider did. For a terminal payment, a cancel
// on the other instance races the terminal.
func testSecondInstance(t *testing.T, env *Env) {
	other := env.Instance(t, nil, schedule, true).Engine
	ctx := context.Background()
	if !env.h.Supports.ManualCapture {
		p := env.create(t, approve, "")
		var wg sync.WaitGroup
		wg.Go(func() { env.complete(t, p) })
		wg.Go(func() { other.Cancel(ctx, p.ID, "cancel-other") })
		wg.Wait()
		p = env.settled(t, p.ID)
		t.Logf("terminal payment raced by a cancel on another instance ended %s", p.Status)
		env.agree(t)
		return
	}
	p := env.create(t, 3000, tender.CaptureManual)
	env.complete(t, p)
	env.status(t, p.ID, tender.StatusAuthorized)
	var wg sync.WaitGroup
	var capErr, cancelErr error
	wg.Go(func() { _, capErr = env.Engine.Capture(ctx, p.ID, 0, "cap-race") })
	wg.Go(func() { _, cancelErr = other.Cancel(ctx, p.ID, "cancel-race") })
	wg.Wait()
	got := env.get(t, p.ID)
	t.Logf("capture: %v; cancel: %v; payment %s captured %d", capErr, cancelErr, got.Status, got.CapturedAmount)
	switch got.Status {
	case tender.StatusCaptured:
		if capErr != nil || got.CapturedAmount != 3000 {
			t.Errorf("captured payment, but the capture answered %v (captured %d)", capErr, got.CapturedAmount)
		}
	case tender.StatusCanceled:
		if cancelErr != nil || got.CapturedAmount != 0 {
			t.Errorf("canceled payment, but the cancel answered %v (captured %d)", cancelErr, got.CapturedAmount)
		}
	default:
		t.Errorf("after the race the payment is %s", got.Status)
	}
	if capErr == nil && cancelErr == nil {
		t.Errorf("both the capture and the cancel succeeded")
	}
	env.agree(t)
}

// testCaptureAnswerLost: the answer to a capture (sent without an
// Idempotency-Key, so nobody can retry it) is lost after the provider
// acted. The reconciler asks the provider about the operation and books it.
func testCaptureAnswerLost(t *testing.T, env *Env) {
	if !env.h.Supports.ManualCapture {
		t.Log("no manual capture, so no capture to lose")
		return
	}
	p := env.create(t, 3000, tender.CaptureManual)
	env.complete(t, p)
	env.status(t, p.ID, tender.StatusAuthorized)
	env.Faults.DropAnswers(1)
	r := env.call(t, "POST", "/v1/payments/"+p.ID+"/capture", map[string]any{})
	if r.status != http.StatusGatewayTimeout && r.status != http.StatusOK {
		t.Fatalf("capture whose answer was lost: HTTP %d %s", r.status, r.raw)
	}
	advanced := false
	got := env.waitFor(t, p.ID, "captured", 60*time.Second, func(p *tender.Payment) bool {
		return p.Status == tender.StatusCaptured
	}, func(*tender.Payment) {
		if !advanced {
			advanced = true
			env.Clock.Advance(schedule.ProviderTimeout + 20*time.Second)
		}
	})
	if got.CapturedAmount != 3000 {
		t.Errorf("captured %d, want 3000", got.CapturedAmount)
	}
	types, _ := env.events(t, p.ID)
	if !slices.Contains(types, "payment.capture_succeeded") {
		t.Errorf("events %v: no capture_succeeded", types)
	}
	env.agree(t)
}
