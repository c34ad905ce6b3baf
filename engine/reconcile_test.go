package engine

// Tests of the reconciler's own rules: how much it claims, how often it
// re-asks a provider, which operations one check resolves and when a
// payment open too long is handed to a person. Each pins a mutant that
// survived scripts/mutation.sh (MUTANTS.md).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/seal"
)

// TestCheckReasksAtMostThreeTimes: a status answer is about the copy the
// provider was asked about; while the payment keeps changing under the
// check, the provider is asked again about the new copy, three times over,
// and the fourth answer is applied without its provider state, so what
// changed meanwhile is kept.
func TestCheckReasksAtMostThreeTimes(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusRequiresAction, State: json.RawMessage(`{"n":0}`),
			NextAction: &tender.NextAction{Type: "redirect", URL: "https://bank.test"}}, nil
	})
	p, err := e.CreatePayment(ctx, onlinePayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int64
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		n := asked.Add(1)
		if n > 10 {
			return tender.Update{}, fmt.Errorf("asked %d times", n)
		}
		// Something else changes the payment while the provider answers.
		if _, err := e.mutate(ctx, p.ID, func(q *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
			q.State = json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))
			return nil, true, nil
		}); err != nil {
			return tender.Update{}, err
		}
		return tender.Update{State: json.RawMessage(`{"answer":true}`), Note: "still open"}, nil
	})
	if _, err := e.Check(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if n := asked.Load(); n != 4 {
		t.Fatalf("the provider was asked %d times about a payment changing under every check, want 4 (once and three times over)", n)
	}
	got := w.get(p.ID)
	if string(got.State) != `{"n":4}` {
		t.Fatalf("provider state after the fourth answer is %s, want the change made meanwhile ({\"n\":4})", got.State)
	}
	if got.CheckCount != 1 {
		t.Fatalf("check count %d, want 1 (one answer applied)", got.CheckCount)
	}
}

// TestOneCheckResolvesEveryOperationInDoubt: a check settles all the
// operations whose answers were lost, not only the first.
func TestOneCheckResolvesEveryOperationInDoubt(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.captured(e, 1000)
	w.conn.refund.Set(unanswered)
	for _, id := range []string{"r1", "r2"} {
		if _, err := e.Refund(ctx, p.ID, 300, id); tender.ErrorCodeOf(err) != tender.EUnavailable {
			t.Fatalf("refund %s in doubt: %v, want unavailable", id, err)
		}
	}
	w.conn.checkOp.Set(func(context.Context, tender.OpKind, *tender.Op) (tender.OpOutcome, tender.Update, error) {
		return tender.OpSucceeded, tender.Update{}, nil
	})
	q, err := e.Check(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if q.RefundedAmount != 600 || len(w.openOps(p.ID)) != 0 {
		t.Fatalf("after one check: refunded %d, %d operations open; want 600 and none", q.RefundedAmount, len(w.openOps(p.ID)))
	}
	if n := w.conn.count("check_refund"); n != 2 {
		t.Fatalf("the provider was asked about %d refunds, want 2", n)
	}
	// Nothing is open any more: no check is scheduled for a settled payment.
	if got := w.get(p.ID); !got.NextCheckAt.IsZero() {
		t.Fatalf("a settled payment with nothing open is due for a check at %s", got.NextCheckAt)
	}
}

// TestRunOnceClaimsOnlyFreeWorkers: the reconciler leases no more due
// payments than it has free workers, so the others stay free for another
// instance instead of waiting here under a lease.
func TestRunOnceClaimsOnlyFreeWorkers(t *testing.T) {
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
	}
	w.clock.Advance(2 * time.Hour) // all three due
	release := make(chan struct{})
	w.conn.status.Set(func(ctx context.Context, _ *tender.Op) (tender.Update, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return tender.Update{}, nil
	})
	// Two workers, one of them busy.
	sem := make(chan struct{}, 2)
	sem <- struct{}{}
	var wg sync.WaitGroup
	freed := make(chan struct{}, 1)
	type result struct {
		n    int
		full bool
		err  error
	}
	done := make(chan result, 1)
	go func() {
		n, full, err := e.runOnce(ctx, sem, &wg, freed)
		done <- result{n, full, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("runOnce claimed more payments than it had free workers and waits for a worker")
	}
	close(release)
	wg.Wait()
	if r.err != nil || r.n != 1 || !r.full {
		t.Fatalf("runOnce with one free worker = %d, full %v, %v; want 1, true", r.n, r.full, r.err)
	}
	// The two not claimed are still due for anyone.
	left, err := w.store.ClaimDue(ctx, w.clock.Now().UTC(), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 {
		t.Fatalf("%d payments left due, want 2 of %v", len(left), ids)
	}
	sem <- struct{}{} // both workers busy now
	if n, full, err := e.runOnce(ctx, sem, &wg, freed); n != 0 || !full || err != nil {
		t.Fatalf("runOnce with no free worker = %d, %v, %v; want 0, true", n, full, err)
	}
}

// TestOverdueBoundaries: only a payment still undecided (processing,
// unknown, pending), open for MaxOpen or longer, with no discrepancy yet
// and a cancel already tried is handed to a person.
func TestOverdueBoundaries(t *testing.T) {
	e := unitEngine(t)
	now := e.clock.Now().UTC()
	maxOpen := e.sched.MaxOpen
	canceled := []tender.Event{{Type: EvCancelRequest}}
	for _, tc := range []struct {
		name        string
		status      tender.Status
		age         time.Duration
		discrepancy string
		events      []tender.Event
		want        bool
	}{
		{"processing at MaxOpen", tender.StatusProcessing, maxOpen, "", canceled, true},
		{"unknown past MaxOpen", tender.StatusUnknown, maxOpen + time.Second, "", canceled, true},
		{"pending past MaxOpen", tender.StatusPending, maxOpen + time.Second, "", canceled, true},
		{"just under MaxOpen", tender.StatusProcessing, maxOpen - time.Nanosecond, "", canceled, false},
		{"no cancel tried", tender.StatusProcessing, maxOpen + time.Second, "", nil, false},
		{"already flagged", tender.StatusUnknown, maxOpen + time.Second, "earlier", canceled, false},
		{"requires action", tender.StatusRequiresAction, maxOpen + time.Second, "", canceled, false},
		{"authorized", tender.StatusAuthorized, maxOpen + time.Second, "", canceled, false},
		{"failed", tender.StatusFailed, maxOpen + time.Second, "", canceled, false},
	} {
		p := &tender.Payment{ID: "pay_x", Status: tc.status, Amount: 1000, Currency: "EUR",
			CreatedAt: now.Add(-tc.age), Discrepancy: tc.discrepancy}
		got := len(e.overdue(p, tc.events, now)) > 0
		if got != tc.want {
			t.Errorf("%s: handed to a person %v, want %v", tc.name, got, tc.want)
		}
		if got && p.Discrepancy == "" {
			t.Errorf("%s: discrepancy event without the payment's discrepancy set", tc.name)
		}
	}
}

// claimCountingStore counts the claims of due payments made on a real store.
type claimCountingStore struct {
	tender.Store
	claims atomic.Int64
}

func (s *claimCountingStore) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*tender.Payment, error) {
	s.claims.Add(1)
	return s.Store.ClaimDue(ctx, now, lease, limit)
}

// runFor runs e's reconciler until cond holds or max passes, then stops
// it, and reports whether cond held.
func runFor(t *testing.T, e *Engine, max time.Duration, cond func() bool) bool {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	deadline := time.Now().Add(max)
	for !cond() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	ok := cond()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestRunClaimsAgainWhenAWorkerIsFree: with every worker busy the
// reconciler claims again as soon as one is free, not a poll later; and
// with nothing due it waits a poll between claims instead of spinning on
// the store.
func TestRunClaimsAgainWhenAWorkerIsFree(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	setup := w.engine(faultSchedule)
	for range 2 {
		if _, err := setup.CreatePayment(ctx, onlinePayment, randomOperationID()); err != nil {
			t.Fatal(err)
		}
	}
	w.clock.Advance(2 * time.Hour) // both due
	var mu sync.Mutex
	checked := map[string]bool{}
	w.conn.status.Set(func(_ context.Context, op *tender.Op) (tender.Update, error) {
		mu.Lock()
		checked[op.Payment.ID] = true
		mu.Unlock()
		return tender.Update{}, nil
	})
	both := func() bool { mu.Lock(); defer mu.Unlock(); return len(checked) == 2 }
	s := faultSchedule
	s.Workers = 1
	s.Poll = time.Hour         // a claim a poll later never comes in this test
	s.MaxOpen = 24 * time.Hour // no automatic cancel
	cs := &claimCountingStore{Store: w.store}
	e, err := New(Options{Store: cs, Connectors: []tender.Connector{w.conn}, Sealer: setup.sealer, Clock: w.clock, Schedule: s, PublicURL: "http://tender.test"})
	if err != nil {
		t.Fatal(err)
	}
	if !runFor(t, e, 10*time.Second, both) {
		t.Fatal("one worker checked one of two due payments: the second was left for the next poll")
	}
	// Nothing is due now: the first claim finds nothing, and the next one
	// is a poll (an hour) away.
	cs.claims.Store(0)
	runFor(t, e, 300*time.Millisecond, func() bool { return false })
	if n := cs.claims.Load(); n != 1 {
		t.Fatalf("with nothing due the reconciler claimed %d times in 300 ms, want once (then wait the poll)", n)
	}
}

// TestCheckWaitsForAnOperationStillInFlight: a check on another instance
// leaves a refund whose call may still be running to that call until its
// guard has passed, and comes back then, not on the slower in-doubt
// schedule.
func TestCheckWaitsForAnOperationStillInFlight(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.captured(e, 1000)
	entered, release := make(chan struct{}), make(chan struct{})
	w.conn.refund.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		close(entered)
		<-release
		return tender.Update{}, nil
	})
	done := make(chan error, 1)
	go func() { _, err := e.Refund(ctx, p.ID, 300, "r1"); done <- err }()
	<-entered
	other := w.engine(faultSchedule)
	_, err := other.Check(ctx, p.ID)
	next := w.get(p.ID).NextCheckAt
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := w.conn.count("check_refund"); n != 0 {
		t.Fatalf("the provider was asked %d times about a refund still in flight", n)
	}
	// The check comes back when the refund's guard has passed (20 s here),
	// not on the in-doubt schedule (an hour).
	guard := faultSchedule.ProviderTimeout + 15*time.Second
	if d := next.Sub(w.clock.Now()); d <= 0 || d > guard {
		t.Fatalf("next check of a payment with a refund in flight in %s, want within its guard (%s)", d, guard)
	}
}

// TestNoNewsFollowsTheSchedule: a check that learns nothing moves the next
// one to the schedule's wait from now, even when the payment was due
// sooner (the claim's lease), so an open payment is not asked every lease.
func TestNoNewsFollowsTheSchedule(t *testing.T) {
	e := unitEngine(t)
	p := &tender.Payment{ID: "pay_x", Status: tender.StatusProcessing, Amount: 1000, Currency: "EUR",
		CreatedAt: stillNow, NextCheckAt: stillNow.Add(30 * time.Second)}
	e.applyCheck(p, nil, tender.Update{Note: "still open"}, nil)
	if want := stillNow.Add(unitSchedule.Processing); !p.NextCheckAt.Equal(want) {
		t.Fatalf("next check after no news at %s, want %s (the processing wait from now)", p.NextCheckAt, want)
	}
	if p.CheckCount != 1 {
		t.Fatalf("check count %d, want 1", p.CheckCount)
	}
}

// TestResolveOverdueCancelsOnlyUndecided: a payment still undecided at
// MaxOpen (to the instant) is canceled by Tender; one the provider decided
// (an authorization) is never canceled for its age.
func TestResolveOverdueCancelsOnlyUndecided(t *testing.T) {
	w := newWorld(t)
	e := w.engine(unitSchedule)
	e.clock = stillClock{stillNow}
	ctx := context.Background()
	open, err := e.CreatePayment(ctx, onlinePayment, randomOperationID())
	if err != nil || open.Status != tender.StatusProcessing {
		t.Fatalf("open payment: %v, %v", open, err)
	}
	decided := w.authorized(e)
	e.clock = stillClock{stillNow.Add(unitSchedule.MaxOpen - time.Nanosecond)}
	if _, err := e.resolveOverdue(ctx, w.get(open.ID)); err != nil || w.conn.count("cancel") != 0 {
		t.Fatalf("a payment open just under MaxOpen: %v, %d cancels; want none", err, w.conn.count("cancel"))
	}
	e.clock = stillClock{stillNow.Add(unitSchedule.MaxOpen)}
	if _, err := e.resolveOverdue(ctx, w.get(decided.ID)); err != nil || w.conn.count("cancel") != 0 {
		t.Fatalf("an authorization at MaxOpen: %v, %d cancels; want none", err, w.conn.count("cancel"))
	}
	if _, err := e.resolveOverdue(ctx, w.get(open.ID)); err != nil || w.conn.count("cancel") != 1 {
		t.Fatalf("a payment open for MaxOpen: %v, %d cancels; want one", err, w.conn.count("cancel"))
	}
}

// TestCheckCarriesNoCancelUnlessAsked: a status question says a cancel was
// requested only when one was; a payment nobody canceled may still be sent
// to its terminal.
func TestCheckCarriesNoCancelUnlessAsked(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p, err := e.CreatePayment(ctx, onlinePayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Check(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if w.conn.count("status") != 1 || w.conn.canceled.Load() {
		t.Fatalf("%d status questions, cancel requested %v; want one, without a cancel", w.conn.count("status"), w.conn.canceled.Load())
	}
}

// TestOperationDeadlineToTheInstant: an operation still in doubt becomes a
// discrepancy for a person at MaxOpen after it was asked for, not later.
func TestOperationDeadlineToTheInstant(t *testing.T) {
	w := newWorld(t)
	e := w.engine(unitSchedule)
	e.clock = stillClock{stillNow}
	ctx := context.Background()
	p := w.authorized(e)
	w.conn.capture.Set(unanswered)
	if _, err := e.Capture(ctx, p.ID, 600, "cap"); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("capture in doubt: %v", err)
	}
	e.clock = stillClock{stillNow.Add(unitSchedule.MaxOpen - time.Nanosecond)}
	if q, err := e.Check(ctx, p.ID); err != nil || q.Discrepancy != "" {
		t.Fatalf("just before the deadline: %v, discrepancy %q; want none", err, q.Discrepancy)
	}
	e.clock = stillClock{stillNow.Add(unitSchedule.MaxOpen)}
	if q, err := e.Check(ctx, p.ID); err != nil || q.Discrepancy == "" {
		t.Fatalf("at the deadline: %v, no discrepancy; want one", err)
	}
}

// readCountingStore counts the payment reads made on a real store.
type readCountingStore struct {
	tender.Store
	reads atomic.Int64
}

func (s *readCountingStore) GetPayment(ctx context.Context, id string) (*tender.Payment, error) {
	s.reads.Add(1)
	return s.Store.GetPayment(ctx, id)
}

// TestQuietCheckWakesNoWaiter: a check that learns nothing new (a terminal
// still at work) is stored, its count and next time, with the payment read
// once for the check and not again for its waiters, who wait for the
// status to change; the check that brings the outcome wakes them with it.
func TestQuietCheckWakesNoWaiter(t *testing.T) {
	w := newWorld(t)
	counting := &readCountingStore{Store: w.store}
	sealer, err := seal.New(bytes.Repeat([]byte{9}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Store: counting, Connectors: []tender.Connector{w.conn}, Sealer: sealer, Clock: w.clock, Schedule: faultSchedule, PublicURL: "http://tender.test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusRequiresAction, NextAction: &tender.NextAction{Type: "redirect", URL: "https://bank.test"}}, nil
	})
	p, err := e.CreatePayment(ctx, onlinePayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *tender.Payment, 1)
	if _, stop, err := e.WatchPayment(ctx, p.ID, time.Minute, func(p *tender.Payment) { got <- p }); err != nil || stop == nil {
		t.Fatalf("watch: %v", err)
	}
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{CheckIn: 3 * time.Second, Note: "still open"}, nil
	})
	time.Sleep(50 * time.Millisecond) // the waiter's first look is over
	before := counting.reads.Load()
	if _, err := e.Check(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // a waiter's reader would have run by now
	if n := counting.reads.Load() - before; n > 2 {
		t.Errorf("a check that learned nothing read the payment %d times, want 2 (the caller's own, the check's)", n)
	}
	q := w.get(p.ID)
	if d := q.NextCheckAt.Sub(w.clock.Now()); q.CheckCount != 1 || d <= 2*time.Second || d > 3*time.Second || q.Version <= p.Version {
		t.Fatalf("quiet check stored count %d, next check in %s, version %d (was %d)", q.CheckCount, d, q.Version, p.Version)
	}
	select {
	case x := <-got:
		t.Fatalf("a waiter was answered though nothing changed: %s", x.Status)
	default:
	}
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured}, nil
	})
	if _, err := e.Check(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case x := <-got:
		if x.Status != tender.StatusCaptured {
			t.Fatalf("waiter woken with %s", x.Status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the outcome woke no waiter")
	}
}
