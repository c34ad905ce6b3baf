package engine

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tenderpay/tender"
)

// at sets the world's clock to t.
func (w *world) at(t time.Time) {
	w.clock.mu.Lock()
	w.clock.off = time.Until(t)
	w.clock.mu.Unlock()
}

func str(s string) *string { return &s }

// TestDailyReport pins what the end of day counts: a one-step sale at its
// capture with the tip the terminal added, each partial capture of an
// authorization, refunds on the day they were confirmed, nothing for a
// declined payment or an authorization alone; days run midnight to
// midnight in the merchant's time zone.
func TestDailyReport(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	if _, err := e.UpdateMerchant(ctx, tender.DefaultMerchant, MerchantRequest{TimeZone: str("Europe/Athens")}); err != nil {
		t.Fatal(err)
	}
	athens, _ := time.LoadLocation("Europe/Athens")

	// 1 December, 10:00 in Athens: a terminal sale of 10.00 taken as 12.00
	// (a tip on the terminal) and a declined one.
	w.at(time.Date(2026, 12, 1, 10, 0, 0, 0, athens))
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, Captured: 1200}, nil
	})
	sale, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil || sale.Status != tender.StatusCaptured {
		t.Fatalf("sale: %v %v", sale, err)
	}
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusFailed, Failure: &tender.Failure{Code: tender.FailDeclined}}, nil
	})
	if p, err := e.CreatePayment(ctx, terminalPayment, randomOperationID()); err != nil || p.Status != tender.StatusFailed {
		t.Fatalf("declined: %v %v", p, err)
	}
	// An authorization of 10.00 captured in three parts (the last one
	// makes it captured), and one left alone.
	auth := w.authorized(e)
	w.authorized(e)
	for _, amount := range []int64{300, 200, 500} {
		if _, err := e.Capture(ctx, auth.ID, amount, randomOperationID()); err != nil {
			t.Fatal(err)
		}
	}
	// 23:59 a refund of the sale; 2 December 00:30 in Athens (22:30 UTC on
	// 1 December) another.
	w.at(time.Date(2026, 12, 1, 23, 59, 0, 0, athens))
	if _, err := e.Refund(ctx, sale.ID, 400, randomOperationID()); err != nil {
		t.Fatal(err)
	}
	w.at(time.Date(2026, 12, 2, 0, 30, 0, 0, athens))
	if _, err := e.Refund(ctx, sale.ID, 100, randomOperationID()); err != nil {
		t.Fatal(err)
	}

	d, err := e.DailyReport(ctx, ReportRequest{Date: "2026-12-01"})
	if err != nil {
		t.Fatal(err)
	}
	want := &DailyReport{Date: "2026-12-01", TimeZone: "Europe/Athens",
		From: time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC),
		Rows: []ReportRow{
			{Connector: "script", Currency: "EUR", Count: 3, Gross: 1000, Net: 1000},
			{Terminal: "till", Connector: "script", Currency: "EUR", Count: 1, Gross: 1200, RefundCount: 1, Refunds: 400, Net: 800},
		}}
	if diff := cmp.Diff(want, d, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("1 December in Athens (-want +got):\n%s", diff)
	}
	d, _ = e.DailyReport(ctx, ReportRequest{Date: "2026-12-02"})
	if len(d.Rows) != 1 || d.Rows[0] != (ReportRow{Terminal: "till", Connector: "script", Currency: "EUR", RefundCount: 1, Refunds: 100, Net: -100}) {
		t.Errorf("2 December in Athens: %+v", d.Rows)
	}
	// The same money in UTC: the refund at 00:30 Athens is 1 December.
	if _, err := e.UpdateMerchant(ctx, tender.DefaultMerchant, MerchantRequest{TimeZone: str("")}); err != nil {
		t.Fatal(err)
	}
	d, _ = e.DailyReport(ctx, ReportRequest{Date: "2026-12-01", Terminals: []string{"till"}})
	if d.TimeZone != "UTC" || len(d.Rows) != 1 || d.Rows[0].Refunds != 500 || d.Rows[0].RefundCount != 2 {
		t.Errorf("1 December in UTC, till only: %+v", d)
	}
	if d, _ := e.DailyReport(ctx, ReportRequest{Date: "2026-12-01", Terminals: []string{"other"}}); len(d.Rows) != 0 {
		t.Errorf("another terminal: %+v", d.Rows)
	}

	for _, bad := range []ReportRequest{{Date: ""}, {Date: "2026-12-32"}, {Date: "1.12.2026"}, {Date: "2026-12-01", Connector: "nope"}} {
		if _, err := e.DailyReport(ctx, bad); tender.ErrorCodeOf(err) != tender.EInvalid {
			t.Errorf("%+v: %v, want invalid", bad, err)
		}
	}
	for _, tz := range []string{"Mars/Olympus", "Local", "+02:00"} {
		_, err := e.UpdateMerchant(ctx, tender.DefaultMerchant, MerchantRequest{TimeZone: str(tz)})
		if te := tender.AsError(err); te == nil || te.Code != tender.EInvalid || te.Param != "time_zone" {
			t.Errorf("time zone %q: %v, want invalid time_zone", tz, err)
		}
	}
}

// TestDailyReportOlderEvents: a sale whose captured event was written
// before events carried their amount counts what the payment holds.
func TestDailyReportOlderEvents(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	p := &tender.Payment{ID: "pay_old", Amount: 1000, Currency: "EUR", Status: tender.StatusCaptured, Connector: "script", Account: "acct",
		CapturedAmount: 1000, CreatedAt: now}
	data, _ := json.Marshal(map[string]any{"status": "captured", "source": "status", "previous_status": "processing"})
	if err := w.store.CreatePayment(ctx, p, tender.Event{Type: "payment.created", CreatedAt: now},
		tender.Event{Type: EvCaptured, Data: data, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	d, err := e.DailyReport(ctx, ReportRequest{Date: "2026-12-01"})
	if err != nil || len(d.Rows) != 1 || d.Rows[0].Gross != 1000 || d.Rows[0].Count != 1 {
		t.Fatalf("report: %+v %v", d, err)
	}
}

// TestTerminalState: a terminal is busy with its open payment, unknown
// while that payment is in doubt, idle after; a long-poll answers at once
// when the state changes in this process; last_seen_at follows the
// provider's answers, not a timeout.
func TestTerminalState(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	_, st, err := e.GetTerminalState(ctx, "till")
	if err != nil || st.State != tender.TerminalIdle || st.Payment != "" || !st.LastSeenAt.IsZero() {
		t.Fatalf("a new terminal: %+v %v", st, err)
	}
	p, err := e.CreatePayment(ctx, terminalPayment, randomOperationID()) // processing
	if err != nil {
		t.Fatal(err)
	}
	_, st, _ = e.GetTerminalState(ctx, "till")
	if st.State != tender.TerminalInUse || st.Payment != p.ID || st.LastSeenAt.IsZero() {
		t.Fatalf("with a processing payment: %+v", st)
	}
	seen := st.LastSeenAt

	// The terminal times out: in doubt; the last answer stays the start's.
	w.clock.Advance(time.Minute)
	w.conn.status.Set(unanswered)
	if _, err := e.Check(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusUnknown}, nil
	})
	e.Check(ctx, p.ID)
	w.conn.status.Set(nil)
	_, st, _ = e.GetTerminalState(ctx, "till")
	if w.get(p.ID).Status == tender.StatusUnknown && (st.State != tender.TerminalUnknown || st.Payment != p.ID) {
		t.Errorf("with a payment in doubt: %+v", st)
	}

	// A long-poll returns as soon as the payment ends.
	done := make(chan TerminalState, 1)
	go func() {
		_, st, _ := e.WaitTerminal(ctx, "till", 20*time.Second)
		done <- st
	}()
	time.Sleep(200 * time.Millisecond)
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured}, nil
	})
	began := time.Now()
	if _, err := e.Check(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case st = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the long-poll did not return when the payment ended")
	}
	if st.State != tender.TerminalIdle || st.Payment != "" || time.Since(began) > 900*time.Millisecond {
		t.Errorf("after the payment ended (%v): %+v", time.Since(began), st)
	}
	if !st.LastSeenAt.After(seen) {
		t.Errorf("last seen %v, not after the start's %v", st.LastSeenAt, seen)
	}

	// A long-poll on an idle terminal returns as soon as a payment starts
	// on it (woken by the create, not by the once-a-second re-read).
	go func() {
		_, st, _ := e.WaitTerminal(ctx, "till", 20*time.Second)
		done <- st
	}()
	time.Sleep(1100 * time.Millisecond)
	began = time.Now()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		time.Sleep(2 * time.Second) // the terminal takes its time to accept
		return tender.Update{Status: tender.StatusProcessing}, nil
	})
	go e.CreatePayment(ctx, terminalPayment, randomOperationID())
	select {
	case st = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the long-poll did not return when a payment started")
	}
	if st.State != tender.TerminalInUse || st.Payment == "" || time.Since(began) > 500*time.Millisecond {
		t.Errorf("after a payment started (%v): %+v", time.Since(began), st)
	}

	// A start the provider refused because the terminal is busy with
	// something else: Tender's record alone says idle (script is no
	// TerminalReader); and another merchant does not see the terminal.
	other := tender.WithMerchant(ctx, "mer_x")
	if _, err := e.CreateMerchant(ctx, MerchantRequest{ID: "mer_x", Name: str("X")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.GetTerminalState(other, "till"); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Errorf("another merchant's terminal: %v, want not found", err)
	}
	if _, _, err := e.WaitTerminal(other, "till", time.Second); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Errorf("another merchant's terminal, waiting: %v, want not found", err)
	}
}
