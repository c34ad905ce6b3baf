package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// TestResolveDiscrepancy: a person clears a settled payment's discrepancy
// with a note; the money stays as the provider reported it, the event
// records what was cleared and why, and an open payment, a payment without
// a discrepancy, an empty note and another merchant's payment are refused.
func TestResolveDiscrepancy(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, Captured: 1150}, nil
	})
	p, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	p = w.get(p.ID)
	if p.Discrepancy == "" {
		t.Fatal("a tip the payment did not ask for raised no discrepancy")
	}
	code := func(err error) tender.ErrorCode {
		var te *tender.Error
		if errors.As(err, &te) {
			return te.Code
		}
		return ""
	}
	if _, err := e.ResolveDiscrepancy(ctx, p.ID, "  ", ""); code(err) != tender.EInvalid || !strings.Contains(err.Error(), "note") {
		t.Fatalf("empty note: %v", err)
	}
	if _, err := e.ResolveDiscrepancy(ctx, p.ID, strings.Repeat("x", maxResolveNote+1), ""); code(err) != tender.EInvalid {
		t.Fatalf("long note: %v", err)
	}
	other := tender.WithMerchant(ctx, "mer_other")
	if _, err := e.ResolveDiscrepancy(other, p.ID, "looked", ""); code(err) != tender.ENotFound {
		t.Fatalf("another merchant resolving: %v", err)
	}
	if got := w.get(p.ID); got.Discrepancy == "" {
		t.Fatal("a refused resolution cleared the discrepancy")
	}
	got, err := e.ResolveDiscrepancy(ctx, p.ID, "tip agreed with the guest", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Discrepancy != "" || got.Status != tender.StatusCaptured || got.CapturedAmount != 1150 {
		t.Fatalf("after resolving: %s captured %d discrepancy %q", got.Status, got.CapturedAmount, got.Discrepancy)
	}
	stored := w.get(p.ID)
	if stored.Discrepancy != "" || stored.CapturedAmount != 1150 {
		t.Fatalf("stored after resolving: captured %d discrepancy %q", stored.CapturedAmount, stored.Discrepancy)
	}
	evs, err := w.store.ListEvents(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Type != EvDiscrepancyResolved || !strings.Contains(string(last.Data), "tip agreed with the guest") || !strings.Contains(string(last.Data), p.Discrepancy) {
		t.Fatalf("last event %s %s", last.Type, last.Data)
	}
	if _, err := e.ResolveDiscrepancy(ctx, p.ID, "again", ""); code(err) != tender.EConflict {
		t.Fatalf("resolving twice: %v", err)
	}

	// An open payment keeps its discrepancy until it settles.
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusProcessing}, nil
	})
	q, err := e.CreatePayment(ctx, onlinePayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.mutate(ctx, q.ID, func(x *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		return e.discrepancy(x, "stuck"), true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ResolveDiscrepancy(ctx, q.ID, "looked", ""); code(err) != tender.EConflict {
		t.Fatalf("resolving an open payment: %v", err)
	}
	if got := w.get(q.ID); got.Discrepancy != "stuck" {
		t.Fatalf("an open payment's discrepancy was cleared: %q", got.Discrepancy)
	}
}

// stuckInDoubt makes a terminal payment that the provider can neither tell
// about nor cancel, open past MaxOpen: the reconciler hands it to a person
// with a discrepancy while it stays unknown.
func stuckInDoubt(t *testing.T, w *world, e *Engine) *tender.Payment {
	t.Helper()
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, tender.Errorf(tender.EUnavailable, "lost")
	})
	p, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, tender.Errorf(tender.EUnavailable, "the provider does not answer")
	})
	w.conn.cancel.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{}, tender.Errorf(tender.EConflict, "the provider cannot cancel it")
	})
	w.clock.Advance(2 * time.Hour)
	for range 2 {
		if _, err := e.reconcile(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	got := w.get(p.ID)
	if got.Status != tender.StatusUnknown || got.Discrepancy == "" {
		t.Fatalf("setup: %s with discrepancy %q, want unknown with one", got.Status, got.Discrepancy)
	}
	return got
}

// TestSettleInDoubtByHand: a payment stuck in doubt, its discrepancy
// raised, is settled by the status a person found at the provider: through
// the state machine, with a status event of source "person" and the
// resolution in the same write, the terminal free, the money as they said.
// A wrong status, a status for a settled payment, and a resolution without
// a status for an open one are refused and change nothing; a provider that
// later says otherwise raises a new discrepancy.
func TestSettleInDoubtByHand(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	code := func(err error) tender.ErrorCode {
		var te *tender.Error
		if errors.As(err, &te) {
			return te.Code
		}
		return ""
	}

	p := stuckInDoubt(t, w, e)
	for _, tc := range []struct {
		status tender.Status
		want   tender.ErrorCode
		field  string
	}{
		{tender.StatusRefunded, tender.EInvalid, "status"},
		{tender.StatusAuthorized, tender.EInvalid, "status"},
		{"paid", tender.EInvalid, "status"},
		{"", tender.EConflict, "failed or captured"},
	} {
		if _, err := e.ResolveDiscrepancy(ctx, p.ID, "looked at the terminal", tc.status); code(err) != tc.want || !strings.Contains(err.Error(), tc.field) {
			t.Fatalf("status %q: %v, want %s naming %q", tc.status, err, tc.want, tc.field)
		}
	}
	if got := w.get(p.ID); got.Status != tender.StatusUnknown || got.Discrepancy != p.Discrepancy || got.Version != p.Version {
		t.Fatalf("a refused resolution changed the payment: %s %q v%d", got.Status, got.Discrepancy, got.Version)
	}

	got, err := e.ResolveDiscrepancy(ctx, p.ID, "the terminal's journal shows no sale", tender.StatusFailed)
	if err != nil {
		t.Fatal(err)
	}
	stored := w.get(p.ID)
	for _, q := range []*tender.Payment{got, stored} {
		if q.Status != tender.StatusFailed || q.Discrepancy != "" || q.CapturedAmount != 0 || q.Failure == nil || !q.NextCheckAt.IsZero() {
			t.Fatalf("settled as failed: %s discrepancy %q captured %d failure %+v next check %v", q.Status, q.Discrepancy, q.CapturedAmount, q.Failure, q.NextCheckAt)
		}
	}
	evs, err := w.store.ListEvents(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The last three events, one write: the status, the auto-cancel in
	// doubt ended (it is not asked about again), the resolution.
	last := map[string]string{}
	for _, ev := range evs[len(evs)-3:] {
		last[ev.Type] = string(ev.Data)
	}
	if d := last[statusEvent(tender.StatusFailed)]; !strings.Contains(d, `"source":"person"`) || !strings.Contains(d, `"previous_status":"unknown"`) || !strings.Contains(d, "journal shows no sale") {
		t.Fatalf("status event %q in %v", d, last)
	}
	if d := last[EvCancelFailed]; !strings.Contains(d, autoCancelID(p.ID)) {
		t.Fatalf("the automatic cancel in doubt was not ended: %v", last)
	}
	if d := last[EvDiscrepancyResolved]; !strings.Contains(d, `"previous_status":"unknown"`) || !strings.Contains(d, p.Discrepancy) {
		t.Fatalf("resolution event %q", d)
	}
	if len(readOps(evs).open) != 0 {
		t.Fatalf("operations still open: %v", readOps(evs).open)
	}
	if _, err := e.ResolveDiscrepancy(ctx, p.ID, "again", tender.StatusCaptured); code(err) != tender.EConflict {
		t.Fatalf("settling a settled payment by hand: %v", err)
	}

	// Paid in full: captured, counted as captured; the provider later
	// saying it failed is a new discrepancy, not a silent change.
	q := stuckInDoubt(t, w, e)
	got, err = e.ResolveDiscrepancy(ctx, q.ID, "the acquirer's report shows the sale", tender.StatusCaptured)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != tender.StatusCaptured || got.CapturedAmount != q.Amount || got.Discrepancy != "" || got.Failure != nil {
		t.Fatalf("settled as captured: %s captured %d of %d discrepancy %q", got.Status, got.CapturedAmount, q.Amount, got.Discrepancy)
	}
	if _, err := e.mutate(ctx, q.ID, func(x *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		return e.applyVerified(x, tender.Update{Status: tender.StatusFailed}, "callback"), true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := w.get(q.ID); got.Status != tender.StatusCaptured || got.Discrepancy == "" {
		t.Fatalf("the provider contradicting a status set by hand: %s discrepancy %q", got.Status, got.Discrepancy)
	}

	// The provider answers first: the person's status comes too late.
	r := stuckInDoubt(t, w, e)
	if _, err := e.mutate(ctx, r.ID, func(x *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		return e.applyVerified(x, tender.Update{Status: tender.StatusCaptured}, "callback"), true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ResolveDiscrepancy(ctx, r.ID, "no sale on the journal", tender.StatusFailed); code(err) != tender.EConflict {
		t.Fatalf("settling by hand a payment the provider settled: %v", err)
	}
	if got := w.get(r.ID); got.Status != tender.StatusCaptured || got.Failure != nil {
		t.Fatalf("after the refused resolution: %s %+v", got.Status, got.Failure)
	}
}
