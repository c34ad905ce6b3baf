package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// The report's request bounds, the merchant's zone name, today in that
// zone, and the net of one currency over rows of several (mutation
// survivors).
func TestReportBounds(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	for _, tc := range []struct {
		days int
		ok   bool
		want int
	}{{0, true, 1}, {1, true, 1}, {31, true, 31}, {32, false, 0}, {-1, false, 0}} {
		got, err := e.Reports(ctx, ReportRequest{Date: "2026-12-01", Days: tc.days})
		if tc.ok != (err == nil) || tc.ok && len(got) != tc.want {
			t.Errorf("days %d: %d reports, %v; want %d", tc.days, len(got), err, tc.want)
		}
		if !tc.ok && tender.ErrorCodeOf(err) != tender.EInvalid {
			t.Errorf("days %d: %v, want invalid", tc.days, err)
		}
	}
	for name, ok := range map[string]bool{"": true, "UTC": true, "Europe/Athens": true, "Local": false,
		strings.Repeat("A", 64): false, "America/Argentina/ComodRivadavia": true} {
		if _, err := timeZone(name); (err == nil) != ok {
			t.Errorf("timeZone(%q): %v, want ok=%v", name, err, ok)
		}
	}
	// 64 characters is looked up (and not found); 65 is refused before
	// the zone database is asked.
	if _, err := timeZone(strings.Repeat("A", 64)); err == nil || !strings.Contains(err.Error(), "is not an IANA time zone name") {
		t.Errorf("a 64-character zone: %v", err)
	}
	if _, err := timeZone(strings.Repeat("A", 65)); err == nil || !strings.Contains(err.Error(), "IANA time zone name such as") {
		t.Errorf("a 65-character zone: %v", err)
	}
	if TimeZoneName("") != "UTC" || TimeZoneName("Europe/Athens") != "Europe/Athens" {
		t.Error("TimeZoneName")
	}

	if _, err := e.UpdateMerchant(ctx, tender.DefaultMerchant, MerchantRequest{TimeZone: str("Pacific/Kiritimati")}); err != nil {
		t.Fatal(err)
	}
	w.at(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)) // 2 December in Kiritimati (UTC+14)
	if d, err := e.Today(ctx); err != nil || d != "2026-12-02" {
		t.Fatalf("Today = %q, %v; want the merchant's 2026-12-02", d, err)
	}
	if _, err := e.Today(tender.WithMerchant(ctx, "mer_missing")); err == nil {
		t.Fatal("Today of a merchant that does not exist")
	}

	r := DailyReport{Rows: []ReportRow{{Currency: "EUR", Net: 1000}, {Currency: "GBP", Net: 700}, {Currency: "EUR", Net: -200}}}
	if r.Net("EUR") != 800 || r.Net("GBP") != 700 || r.Net("USD") != 0 {
		t.Fatalf("Net: EUR %d GBP %d USD %d", r.Net("EUR"), r.Net("GBP"), r.Net("USD"))
	}
}

// The event of a payment becoming captured carries what was taken (the
// end of day counts it; the event log shows it), and only that event.
func TestCapturedEventCarriesTheAmount(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusProcessing}, nil
	})
	p, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, Captured: 1150}, nil
	})
	if _, err := e.check(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	evs, err := w.store.ListEvents(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, ev := range evs {
		has := strings.Contains(string(ev.Data), `"captured_amount"`)
		switch ev.Type {
		case EvCaptured:
			seen = true
			if !strings.Contains(string(ev.Data), `"captured_amount":1150`) {
				t.Errorf("%s %s: want captured_amount 1150", ev.Type, ev.Data)
			}
		default:
			if has {
				t.Errorf("%s carries a captured_amount: %s", ev.Type, ev.Data)
			}
		}
	}
	if !seen {
		t.Fatalf("no %s event: %v", EvCaptured, w.eventTypes(p.ID))
	}
}
