package engine

// Unit tests of how a provider's answer is merged into a payment
// (applyUpdate, applyVerified) and of the check schedule, on an engine
// with a clock that stands still.

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

type stillClock struct{ t time.Time }

func (c stillClock) Now() time.Time { return c.t }

var stillNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

var unitSchedule = func() Schedule {
	s := faultSchedule
	s.Processing = 2 * time.Minute
	s.RequiresAction = 3 * time.Minute
	s.Unknown = []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute}
	return s
}()

func unitEngine(t *testing.T) *Engine {
	t.Helper()
	w := newWorld(t)
	e := w.engine(unitSchedule)
	e.clock = stillClock{stillNow}
	return e
}

func eventData(t *testing.T, ev tender.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestApplyUpdateMergesWhatTheProviderSaid(t *testing.T) {
	e := unitEngine(t)
	p := &tender.Payment{ID: "pay1", Amount: 1000, Currency: "EUR", Status: tender.StatusProcessing,
		ProviderReference: "R0", Details: map[string]string{"brand": "VISA"}, State: json.RawMessage(`{"a":1}`),
		NextCheckAt: stillNow.Add(time.Minute)}

	// Nothing new: nothing changes and no event is written.
	evs, changed, err := e.applyUpdate(p, tender.Update{Status: tender.StatusProcessing, ProviderReference: "R0",
		Details: map[string]string{"brand": "VISA"}, State: json.RawMessage(`{"a":1}`)}, "status")
	if err != nil || changed || evs != nil {
		t.Fatalf("an update with no news: %v, %v, %v", evs, changed, err)
	}

	// Provider data without a status change: payment.updated.
	na := &tender.NextAction{Type: "redirect", URL: "https://x.test"}
	rc := &tender.Receipt{Raw: "r"}
	f := &tender.Failure{Code: tender.FailProvider, Message: "m"}
	evs, changed, err = e.applyUpdate(p, tender.Update{ProviderReference: "R1", NextAction: na, Receipt: rc, Failure: f,
		Details: map[string]string{"last4": "1111", "brand": "VISA"}, State: json.RawMessage(`{"a":2}`), Note: "n"}, "callback")
	if err != nil || !changed || len(evs) != 1 || evs[0].Type != EvUpdated {
		t.Fatalf("provider data: %v, %v, %v", evs, changed, err)
	}
	if p.ProviderReference != "R1" || p.NextAction != na || p.Receipt != rc || p.Failure != f ||
		!reflect.DeepEqual(p.Details, map[string]string{"brand": "VISA", "last4": "1111"}) || string(p.State) != `{"a":2}` {
		t.Fatalf("merged payment: %+v", p)
	}
	d := eventData(t, evs[0])
	if d["source"] != "callback" || d["note"] != "n" || d["provider_reference"] != "R1" || d["failure"] == nil ||
		d["details"] == nil || d["status"] != "processing" || d["previous_status"] != nil {
		t.Fatalf("event data %v", d)
	}
	if p.Status != tender.StatusProcessing {
		t.Fatalf("status changed to %s", p.Status)
	}

	// Each field alone is news.
	for name, u := range map[string]tender.Update{
		"reference": {ProviderReference: "R2"},
		"action":    {NextAction: &tender.NextAction{Type: "redirect"}},
		"failure":   {Failure: &tender.Failure{Code: tender.FailDeclined}},
		"receipt":   {Receipt: &tender.Receipt{Raw: "x"}},
		"details":   {Details: map[string]string{"brand": "MC"}},
		"state":     {State: json.RawMessage(`{"a":3}`)},
	} {
		if _, changed, _ := e.applyUpdate(p, u, "status"); !changed {
			t.Errorf("an update of %s alone changed nothing", name)
		}
	}
	q := &tender.Payment{ID: "pay2", Status: tender.StatusProcessing}
	if _, changed, _ := e.applyUpdate(q, tender.Update{Details: map[string]string{"k": "v"}}, "status"); !changed || q.Details["k"] != "v" {
		t.Fatalf("details on a payment with none: %v %v", changed, q.Details)
	}
	if evs, changed, _ := e.applyUpdate(q, tender.Update{Note: "only a note"}, "status"); changed || evs != nil {
		t.Fatal("a note alone is not news")
	}
}

func TestApplyUpdateStatusChange(t *testing.T) {
	e := unitEngine(t)
	p := &tender.Payment{ID: "pay1", Amount: 1000, Currency: "EUR", Status: tender.StatusRequiresAction,
		NextAction: &tender.NextAction{Type: "redirect"}, CheckCount: 3}
	evs, changed, err := e.applyUpdate(p, tender.Update{Status: tender.StatusCaptured}, "callback")
	if err != nil || !changed || len(evs) != 1 || evs[0].Type != "payment.captured" {
		t.Fatalf("capture: %v %v %v", evs, changed, err)
	}
	if d := eventData(t, evs[0]); d["previous_status"] != "requires_action" || d["status"] != "captured" {
		t.Fatalf("event data %v", d)
	}
	if p.Status != tender.StatusCaptured || p.NextAction != nil || p.CapturedAmount != 1000 || p.CheckCount != 3 {
		t.Fatalf("after the capture: %+v", p)
	}
	if _, ok := eventData(t, evs[0])["details"]; ok || p.Details != nil {
		t.Fatalf("an update without details added some: event %s, payment %v", evs[0].Data, p.Details)
	}

	// A sale that took another amount captures what it took.
	q := &tender.Payment{ID: "pay2", Amount: 1000, Status: tender.StatusProcessing}
	e.applyUpdate(q, tender.Update{Status: tender.StatusCaptured, Captured: 900}, "status")
	if q.CapturedAmount != 900 {
		t.Fatalf("captured %d, want 900", q.CapturedAmount)
	}
	// Capture amounts already booked are not overwritten.
	r := &tender.Payment{ID: "pay3", Amount: 1000, Status: tender.StatusPartiallyCaptured, CapturedAmount: 400}
	e.applyUpdate(r, tender.Update{Status: tender.StatusCaptured}, "status")
	if r.CapturedAmount != 400 {
		t.Fatalf("captured %d, want 400 kept", r.CapturedAmount)
	}
	// Only a capture captures.
	s := &tender.Payment{ID: "pay4", Amount: 1000, Status: tender.StatusProcessing}
	e.applyUpdate(s, tender.Update{Status: tender.StatusAuthorized}, "status")
	if s.CapturedAmount != 0 {
		t.Fatalf("an authorization captured %d", s.CapturedAmount)
	}

	// A payment that asks the shopper keeps its next action.
	a := &tender.Payment{ID: "pay5", Status: tender.StatusPending}
	na := &tender.NextAction{Type: "redirect", URL: "https://x.test"}
	e.applyUpdate(a, tender.Update{Status: tender.StatusRequiresAction, NextAction: na}, "start")
	if a.NextAction != na {
		t.Fatal("requires_action lost its next action")
	}

	// Entering or leaving unknown starts its check count anew.
	for _, tc := range []struct{ from, to tender.Status }{
		{tender.StatusProcessing, tender.StatusUnknown}, {tender.StatusUnknown, tender.StatusProcessing},
	} {
		u := &tender.Payment{ID: "pay6", Status: tc.from, CheckCount: 4}
		e.applyUpdate(u, tender.Update{Status: tc.to}, "status")
		if u.CheckCount != 0 {
			t.Errorf("%s → %s kept check count %d", tc.from, tc.to, u.CheckCount)
		}
	}

	// An illegal transition is refused and changes nothing.
	c := &tender.Payment{ID: "pay7", Amount: 1000, Status: tender.StatusCaptured, CapturedAmount: 1000, ProviderReference: "R"}
	evs, changed, err = e.applyUpdate(c, tender.Update{Status: tender.StatusFailed, ProviderReference: "X"}, "status")
	if err == nil || changed || evs != nil || c.Status != tender.StatusCaptured || c.ProviderReference != "R" {
		t.Fatalf("captured → failed: %v %v %v, payment %+v", evs, changed, err, c)
	}
}

func TestSchedule(t *testing.T) {
	e := unitEngine(t)
	now := stillNow
	for _, tc := range []struct {
		name    string
		status  tender.Status
		count   int
		next    time.Time
		checkIn time.Duration
		changed bool
		want    time.Time
	}{
		{"processing, status changed", tender.StatusProcessing, 0, now.Add(time.Second), 0, true, now.Add(2 * time.Minute)},
		{"requires_action, none due", tender.StatusRequiresAction, 0, time.Time{}, 0, false, now.Add(3 * time.Minute)},
		{"unknown, first check", tender.StatusUnknown, 0, time.Time{}, 0, false, now.Add(10 * time.Second)},
		{"pending, second check", tender.StatusPending, 1, time.Time{}, 0, false, now.Add(time.Minute)},
		{"unknown, past the schedule's end", tender.StatusUnknown, 9, time.Time{}, 0, false, now.Add(5 * time.Minute)},
		{"a sooner check is kept", tender.StatusProcessing, 0, now.Add(time.Minute), 0, false, now.Add(time.Minute)},
		{"one exactly on the schedule is kept", tender.StatusProcessing, 0, now.Add(2 * time.Minute), 0, false, now.Add(2 * time.Minute)},
		{"a later check is brought forward", tender.StatusProcessing, 0, now.Add(time.Hour), 0, false, now.Add(2 * time.Minute)},
		{"a check in the past is set anew", tender.StatusProcessing, 0, now.Add(-time.Second), 0, false, now.Add(2 * time.Minute)},
		{"a check due now is kept", tender.StatusProcessing, 0, now, 0, false, now},
		{"the connector's time wins", tender.StatusProcessing, 0, now.Add(time.Second), 7 * time.Second, false, now.Add(7 * time.Second)},
		{"settled: left alone", tender.StatusCaptured, 0, now.Add(time.Hour), 7 * time.Second, true, now.Add(time.Hour)},
	} {
		p := &tender.Payment{Status: tc.status, CheckCount: tc.count, NextCheckAt: tc.next}
		e.schedule(p, tc.checkIn, tc.changed)
		if !p.NextCheckAt.Equal(tc.want) {
			t.Errorf("%s: next check %v, want %v", tc.name, p.NextCheckAt.Sub(now), tc.want.Sub(now))
		}
	}
}

func TestSettleSchedule(t *testing.T) {
	e := unitEngine(t)
	now := stillNow
	open := []tender.Event{e.newEvent(EvRefundRequest, opEvent{OpID: "r1", Amount: 5})}
	ended := append(open, e.newEvent(EvRefundDone, opEvent{OpID: "r1", Amount: 5}))
	for _, tc := range []struct {
		name   string
		status tender.Status
		count  int
		next   time.Time
		events []tender.Event
		want   time.Time
	}{
		{"open payment, none due", tender.StatusProcessing, 0, time.Time{}, nil, now.Add(2 * time.Minute)},
		{"open payment, one due", tender.StatusProcessing, 0, now.Add(time.Hour), nil, now.Add(time.Hour)},
		{"settled, nothing open", tender.StatusCaptured, 0, now.Add(time.Hour), ended, time.Time{}},
		{"settled, a refund open, none due", tender.StatusCaptured, 1, time.Time{}, open, now.Add(time.Minute)},
		{"settled, a refund open, past the schedule's end", tender.StatusCaptured, 7, time.Time{}, open, now.Add(5 * time.Minute)},
		{"settled, a refund open, one due", tender.StatusCaptured, 0, now.Add(time.Hour), open, now.Add(time.Hour)},
	} {
		p := &tender.Payment{Status: tc.status, CheckCount: tc.count, NextCheckAt: tc.next}
		e.settleSchedule(p, tc.events)
		if !p.NextCheckAt.Equal(tc.want) {
			t.Errorf("%s: next check %v, want %v", tc.name, p.NextCheckAt, tc.want)
		}
	}
}

func TestDueBy(t *testing.T) {
	e := unitEngine(t)
	t1, t2 := stillNow.Add(time.Minute), stillNow.Add(time.Hour)
	p := &tender.Payment{}
	e.dueBy(p, t2)
	if !p.NextCheckAt.Equal(t2) {
		t.Fatal("none due: not set")
	}
	e.dueBy(p, t1)
	if !p.NextCheckAt.Equal(t1) {
		t.Fatal("a sooner time was not taken")
	}
	e.dueBy(p, t2)
	if !p.NextCheckAt.Equal(t1) {
		t.Fatal("a later time replaced a sooner one")
	}
}

func TestContradicts(t *testing.T) {
	for _, tc := range []struct {
		recorded, reported tender.Status
		want               bool
	}{
		{tender.StatusCaptured, tender.StatusFailed, true},
		{tender.StatusAuthorized, tender.StatusCanceled, true},
		{tender.StatusRefunded, tender.StatusFailed, true},
		{tender.StatusFailed, tender.StatusCaptured, true},
		{tender.StatusCanceled, tender.StatusAuthorized, true},
		{tender.StatusCaptured, tender.StatusProcessing, false},
		{tender.StatusFailed, tender.StatusProcessing, false},
		{tender.StatusCanceled, tender.StatusFailed, false},
		{tender.StatusCaptured, tender.StatusAuthorized, false},
	} {
		if got := contradicts(tc.recorded, tc.reported); got != tc.want {
			t.Errorf("contradicts(%s, %s) = %v", tc.recorded, tc.reported, got)
		}
	}
}

func TestApplyVerified(t *testing.T) {
	e := unitEngine(t)
	types := func(evs []tender.Event) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Type)
		}
		return out
	}

	// The opposite of the record: a discrepancy, and the status stays.
	p := &tender.Payment{ID: "p1", Amount: 1000, Currency: "EUR", Status: tender.StatusCaptured, CapturedAmount: 1000}
	evs := e.applyVerified(p, tender.Update{Status: tender.StatusFailed, Failure: &tender.Failure{Code: tender.FailDeclined}, ProviderReference: "R9"}, "status")
	if p.Status != tender.StatusCaptured || p.Discrepancy == "" || p.Failure != nil || p.ProviderReference != "R9" || !has(types(evs), EvDiscrepancy) {
		t.Fatalf("failed for a captured payment: %+v, events %v", p, types(evs))
	}
	// The same discrepancy again is not raised twice.
	if evs := e.applyVerified(p, tender.Update{Status: tender.StatusFailed}, "status"); has(types(evs), EvDiscrepancy) {
		t.Fatal("the same discrepancy raised twice")
	}

	// A stale answer: noted, no discrepancy.
	q := &tender.Payment{ID: "p2", Amount: 1000, Currency: "EUR", Status: tender.StatusCaptured, CapturedAmount: 1000}
	evs = e.applyVerified(q, tender.Update{Status: tender.StatusProcessing}, "status")
	if q.Discrepancy != "" || q.Status != tender.StatusCaptured || !reflect.DeepEqual(types(evs), []string{EvTransitionDenied}) {
		t.Fatalf("stale answer: %+v, events %v", q, types(evs))
	}

	// The connector's own discrepancy is raised.
	r := &tender.Payment{ID: "p3", Amount: 1000, Currency: "EUR", Status: tender.StatusProcessing}
	evs = e.applyVerified(r, tender.Update{Status: tender.StatusCaptured, Captured: 900, Discrepancy: "took 9.00"}, "status")
	if r.Discrepancy != "took 9.00" || r.CapturedAmount != 900 || !has(types(evs), EvDiscrepancy) {
		t.Fatalf("connector's discrepancy: %+v %v", r, types(evs))
	}

	// Another amount taken is raised even when the connector said nothing,
	// lower or higher.
	for _, took := range []int64{900, 1100} {
		s := &tender.Payment{ID: "p4", Amount: 1000, Currency: "EUR", Status: tender.StatusProcessing}
		evs = e.applyVerified(s, tender.Update{Status: tender.StatusCaptured, Captured: took}, "status")
		if s.Discrepancy == "" || s.CapturedAmount != took || !has(types(evs), EvDiscrepancy) {
			t.Fatalf("took %d: %+v %v", took, s, types(evs))
		}
	}
	// The whole amount, or one already captured, is no discrepancy.
	for _, tc := range []struct {
		from tender.Status
		took int64
	}{{tender.StatusProcessing, 1000}, {tender.StatusProcessing, 0}, {tender.StatusCaptured, 900}} {
		s := &tender.Payment{ID: "p5", Amount: 1000, Currency: "EUR", Status: tc.from, CapturedAmount: 1000}
		if tc.from != tender.StatusCaptured {
			s.CapturedAmount = 0
		}
		e.applyVerified(s, tender.Update{Status: tender.StatusCaptured, Captured: tc.took}, "status")
		if s.Discrepancy != "" {
			t.Errorf("%s, took %d: discrepancy %q", tc.from, tc.took, s.Discrepancy)
		}
	}
	// Authorized for another amount is not "taken": no capture discrepancy.
	a := &tender.Payment{ID: "p6", Amount: 1000, Currency: "EUR", Status: tender.StatusProcessing}
	e.applyVerified(a, tender.Update{Status: tender.StatusAuthorized, Captured: 900}, "status")
	if a.Discrepancy != "" {
		t.Errorf("authorized: discrepancy %q", a.Discrepancy)
	}
}

// TestMutateRetriesVersionConflicts: writers that race on one payment are
// each applied once, none lost and none refused.
func TestMutateRetriesVersionConflicts(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	f := w.engine(faultSchedule)
	p := w.authorized(e)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		eng := e
		if i%2 == 1 {
			eng = f
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := eng.mutate(context.Background(), p.ID, func(q *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
				time.Sleep(time.Millisecond) // widen the window between read and write
				return []tender.Event{eng.newEvent(EvUpdated, map[string]any{"n": 1})}, true, nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a racing writer failed: %v", err)
		}
	}
	n := 0
	for _, typ := range w.eventTypes(p.ID) {
		if typ == EvUpdated {
			n++
		}
	}
	if n != 20 {
		t.Fatalf("%d of 20 racing writes were stored", n)
	}
	// A function's error is returned with the payment as stored.
	got, err := e.mutate(context.Background(), p.ID, func(*tender.Payment, []tender.Event) ([]tender.Event, bool, error) {
		return nil, false, errors.New("no")
	})
	if err == nil || got == nil || got.ID != p.ID {
		t.Fatalf("fn's error: %v, %v", got, err)
	}
}
