package engine

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

func followUpEv(t *testing.T, typ string, at time.Time, data map[string]any) tender.Event {
	t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return tender.Event{Type: typ, Data: b, CreatedAt: at}
}

// TestFollowUpBackoff: a follow-up whose calls fail is asked again after
// the schedule's pauses in turn, the first pause after the first failure,
// the last one for every failure beyond the schedule; never before it is
// due, and not at all once done.
func TestFollowUpBackoff(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	due := t0.Add(10 * time.Minute)
	backoff := []time.Duration{time.Minute, time.Hour, 6 * time.Hour}
	events := []tender.Event{followUpEv(t, EvFollowUpAsked, t0, map[string]any{"due": due})}
	if got := followUpDue(events, backoff); !got.Equal(due) {
		t.Fatalf("before any call: due %s, want %s", got, due)
	}
	for i, want := range []time.Duration{time.Minute, time.Hour, 6 * time.Hour, 6 * time.Hour} {
		failed := due.Add(time.Duration(i) * 24 * time.Hour)
		events = append(events, followUpEv(t, EvCheckFailed, failed, map[string]any{"error": "down", "source": followUpSource}))
		if got := followUpDue(events, backoff); !got.Equal(failed.Add(want)) {
			t.Fatalf("after %d failed calls: due %s, want %s (%v after the last)", i+1, got, failed.Add(want), want)
		}
	}
	// A failed check of another source does not put it back.
	other := append(events[:1:1], followUpEv(t, EvCheckFailed, due, map[string]any{"error": "down", "source": "check"}))
	if got := followUpDue(other, backoff); !got.Equal(due) {
		t.Fatalf("after another check failed: due %s, want %s", got, due)
	}
	done := append(events, followUpEv(t, EvFollowUpDone, due.Add(100*24*time.Hour), map[string]any{"asked_at": due.Add(100 * 24 * time.Hour)}))
	if got := followUpDue(done, backoff); !got.IsZero() {
		t.Fatalf("after the follow-up was done: due %s, want none", got)
	}
}

// TestFollowUpDiscrepancyAtMaxOpen: a follow-up that could not be made
// for MaxOpen since it was due is a discrepancy from that instant, not a
// nanosecond later; one failing a nanosecond earlier is not yet.
func TestFollowUpDiscrepancyAtMaxOpen(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.status.Set(unanswered)
	for _, c := range []struct {
		name        string
		after       time.Duration
		discrepancy bool
	}{
		{"a nanosecond before MaxOpen", faultSchedule.MaxOpen - time.Nanosecond, false},
		{"at MaxOpen", faultSchedule.MaxOpen, true},
	} {
		p := w.settledWithFollowUp(e)
		events, err := w.store.ListEvents(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		due := pendingFollowUp(events).due
		if _, ran, err := e.followUp(ctx, w.get(p.ID), nil, due.Add(c.after)); !ran || err != nil {
			t.Fatalf("%s: the follow-up did not run: %v", c.name, err)
		}
		got := w.get(p.ID)
		if !has(w.eventTypes(p.ID), EvCheckFailed) || (got.Discrepancy != "") != c.discrepancy {
			t.Errorf("%s: discrepancy %q, events %v; want a discrepancy: %v", c.name, got.Discrepancy, w.eventTypes(p.ID), c.discrepancy)
		}
	}
}

// TestFollowUpKeepsTheProvidersState: the provider's state in a
// follow-up's answer is stored with the payment (what its next status
// question is asked with).
func TestFollowUpKeepsTheProvidersState(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.settledWithFollowUp(e)
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, State: json.RawMessage(`{"checked":2}`)}, nil
	})
	if _, ran, err := e.followUp(ctx, w.get(p.ID), nil, w.clock.Now().Add(followUpAfter+time.Second)); !ran || err != nil {
		t.Fatalf("the follow-up did not run: %v", err)
	}
	if got := w.get(p.ID); string(got.State) != `{"checked":2}` || !has(w.eventTypes(p.ID), EvFollowUpDone) {
		t.Fatalf("after the follow-up: state %s, events %v; want the provider's state, done", got.State, w.eventTypes(p.ID))
	}
}
