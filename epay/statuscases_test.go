package epay_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
	"github.com/tenderpay/tender/epay/sim"
)

// Status and Cancel cases beyond the conformance suite (mutation
// survivors).
func TestStatusCases(t *testing.T) {
	// Two host records under one reference (the card tried again after a
	// lost answer): the approved one decides, in either order.
	for _, rec := range []sim.Record{sim.DeclinedThenApprovedRecord, sim.ApprovedThenDeclinedRecord} {
		e := newEnv(t)
		p := e.payment(1000)
		if err := e.start(p); err != nil {
			t.Fatal(err)
		}
		if err := e.sim.Complete(p.ID, intRef(epay.ResultUnknown), rec); err != nil {
			t.Fatal(err)
		}
		if u := e.status(p); u.Status != tender.StatusCaptured {
			t.Fatalf("records %d: %+v, want captured by the approved record", rec, u)
		}
	}

	// No intent exactly LostAfter (a minute here) after the start: it never
	// reached ePay; a moment before, it may yet appear.
	e := newEnv(t)
	p := e.payment(1000)
	e.refuse.Store(refusal{"/txninit/", http.StatusBadGateway}) // never reached ePay
	_, _ = e.conn.Start(context.Background(), e.op(p))
	e.refuse.Store(refusal{})
	e.apply(p, tender.Update{Status: tender.StatusUnknown})
	e.clock.Advance(time.Minute - time.Second)
	if u := e.status(p); u.Status != "" || u.CheckIn <= 0 {
		t.Fatalf("before LostAfter: %+v", u)
	}
	e.clock.Advance(time.Second)
	if u := e.status(p); u.Status != tender.StatusFailed {
		t.Fatalf("at LostAfter: %+v, want failed (never reached ePay)", u)
	}

	// A start whose answer was lost: Status finds the intent and keeps its
	// id in the state, which a later cancel or capture needs.
	e = newEnv(t)
	p = e.payment(1200)
	e.drop.Store("/txninit/")
	_, _ = e.conn.Start(context.Background(), e.op(p))
	e.drop.Store("")
	e.apply(p, tender.Update{Status: tender.StatusUnknown})
	u := e.status(p)
	var st map[string]any
	if err := json.Unmarshal(u.State, &st); err != nil || st["intent_id"] == nil || st["intent_id"] != u.ProviderReference {
		t.Fatalf("state after finding the intent: %s %v (reference %s)", u.State, err, u.ProviderReference)
	}
	e.apply(p, u)

	// The terminal has taken it (SENT): asked again soon, the outcome is
	// seconds away.
	e.sim.Press(testTID)
	if u := e.status(p); u.CheckIn != 500*time.Millisecond || !strings.Contains(u.Note, "taking the payment") {
		t.Fatalf("a payment the terminal is taking: %+v", u)
	}
}

// Withdrawing a queued payment: a state without ePay's backend terminal id
// looks it up; a void refused with 400 (the terminal took the payment
// meanwhile) is a conflict, not a cancellation in doubt.
func TestCancelQueuedCases(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1000)
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	e.refuse.Store(refusal{"/txnvoid/", http.StatusBadRequest})
	_, err := e.conn.Cancel(context.Background(), e.op(p))
	e.refuse.Store(refusal{})
	if tender.ErrorCodeOf(err) != tender.EConflict || !strings.Contains(err.Error(), "already taken") {
		t.Fatalf("a void refused with 400: %v", err)
	}
	e.dropState(p, "terminal_id")
	if u, err := e.conn.Cancel(context.Background(), e.op(p)); err != nil || u.Status != tender.StatusCanceled {
		t.Fatalf("cancel without the stored terminal id: %+v %v", u, err)
	}
}

// The intent a payment's state names is the payment's, even when ePay
// holds a newer one under the same reference (a start sent twice): a
// declined second intent does not fail a payment whose own was approved.
func TestStoredIntentDecides(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1000)
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	again := *p
	again.Status, again.State = tender.StatusPending, nil
	if _, err := e.conn.Start(context.Background(), e.op(&again)); err != nil {
		t.Fatalf("a second start: %v", err)
	}
	if err := e.sim.Complete(p.ID, intRef(epay.ResultDeclined), sim.DeclinedRecord); err != nil {
		t.Fatal(err)
	}
	e.sim.Press(testTID)
	e.settle(p)
	if p.Status != tender.StatusCaptured {
		t.Fatalf("%s %+v: want captured by the payment's own intent", p.Status, p.Failure)
	}
}

// Cancelling a payment ePay has no intent for: refused (try again) while
// the intent may still appear, cancelled once LostAfter has passed, to the
// second.
func TestCancelWithoutIntentWaitsLostAfter(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1000)
	e.refuse.Store(refusal{"/txninit/", http.StatusBadGateway}) // never reached ePay
	_, _ = e.conn.Start(context.Background(), e.op(p))
	e.refuse.Store(refusal{})
	e.clock.Advance(time.Minute - time.Second)
	if _, err := e.conn.Cancel(context.Background(), e.op(p)); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("cancel before LostAfter: %v, want a conflict (try again)", err)
	}
	e.clock.Advance(time.Second)
	if u, err := e.conn.Cancel(context.Background(), e.op(p)); err != nil || u.Status != tender.StatusCanceled {
		t.Fatalf("cancel at LostAfter: %+v %v", u, err)
	}
}

// Without an intent id in its state (its start's answer lost), a payment
// is the newest intent under its reference.
func TestNewestIntentWithoutStoredID(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1000)
	first := *p
	if err := e.start(&first); err != nil {
		t.Fatal(err)
	}
	second := *p
	if err := e.start(&second); err != nil {
		t.Fatal(err)
	}
	if first.ProviderReference == second.ProviderReference {
		t.Fatal("one intent for two starts")
	}
	u, err := e.conn.Status(context.Background(), e.op(p))
	if err != nil || u.ProviderReference != second.ProviderReference {
		t.Fatalf("%+v %v: want the newest intent %s", u, err, second.ProviderReference)
	}
}

// A pre-authorization whose intent ended UNKNOWN, its link lost, is
// decided by its host record found by reference: a pre-authorization's
// record is the payment's as a sale's is.
func TestPreAuthDecidedByItsHostRecord(t *testing.T) {
	e := newEnv(t)
	p := e.payment(3000)
	p.CaptureMode = tender.CaptureManual
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Complete(p.ID, intRef(epay.ResultUnknown), sim.ApprovedRecord); err != nil {
		t.Fatal(err)
	}
	u, err := e.conn.Status(context.Background(), e.op(p))
	if err != nil || u.Status != tender.StatusAuthorized {
		t.Fatalf("%+v %v: want authorized by the host record", u, err)
	}
}

// The void of a pre-authorization answered 500 is in doubt (it may have
// released the hold); one refused with a 4xx is a conflict, nothing done.
func TestPreAuthVoidErrors(t *testing.T) {
	e := newEnv(t)
	p := e.preAuth(2000)
	e.refuse.Store(refusal{"/txnvoid/", http.StatusBadRequest})
	_, err := e.conn.Cancel(context.Background(), e.op(p))
	e.refuse.Store(refusal{})
	if tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("a void refused with 400: %v", err)
	}
	e.fail500.Store("/txnvoid/")
	_, err = e.conn.Cancel(context.Background(), e.op(p))
	e.fail500.Store("")
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("a void answered 500: %v, want in doubt", err)
	}
	if u, err := e.conn.Status(context.Background(), e.op(p)); err != nil || u.Status != tender.StatusCanceled {
		t.Fatalf("after the void answered 500: %+v %v", u, err)
	}
}
