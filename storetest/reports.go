package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// testMoneyEvents: ListMoneyEvents returns the events of the types asked
// for, of one merchant, written within [From, To), in the order written, with the payment's
// terminal, connector, currency and captured amount, filtered by
// terminals and connector.
func testMoneyEvents(t *testing.T, s tender.Store) {
	ctx := context.Background()
	if err := s.CreateMerchant(ctx, &tender.Merchant{ID: "mer_other", Name: "Other", CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	pay := func(id, merchant, terminal, connector, currency string, captured int64) {
		t.Helper()
		p := &tender.Payment{ID: id, Merchant: merchant, Amount: 1000, Currency: currency, Status: tender.StatusCaptured,
			Connector: connector, Account: "acct", Terminal: terminal, CapturedAmount: captured, CreatedAt: at(0)}
		if err := s.CreatePayment(ctx, p, tender.Event{Type: "payment.created", CreatedAt: at(0)}); err != nil {
			t.Fatal(err)
		}
	}
	pay("pay_a", "", "till-1", "sepay", "EUR", 1000)
	pay("pay_b", "", "", "computop", "EUR", 500)
	pay("pay_c", "mer_other", "till-9", "sepay", "EUR", 700)
	add := func(id, typ string, d time.Duration, data string) {
		t.Helper()
		p, err := s.GetPayment(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.UpdatePayment(ctx, p, tender.Event{Type: typ, Data: json.RawMessage(data), CreatedAt: at(d)}); err != nil {
			t.Fatal(err)
		}
	}
	add("pay_a", "payment.captured", time.Minute, `{"captured_amount":1000}`)
	add("pay_a", "payment.refund_succeeded", time.Hour, `{"amount":300}`)
	add("pay_a", "payment.refund_succeeded", 25*time.Hour, `{"amount":100}`) // the next day
	add("pay_b", "payment.capture_succeeded", 2*time.Minute, `{"amount":500}`)
	add("pay_b", "payment.updated", 3*time.Minute, `{}`) // not a type asked for
	add("pay_c", "payment.captured", time.Minute, `{"captured_amount":700}`)

	types := []string{"payment.captured", "payment.capture_succeeded", "payment.refund_succeeded"}
	f := tender.MoneyFilter{Merchant: tender.DefaultMerchant, Types: types, From: at(0), To: at(24 * time.Hour)}
	got, err := s.ListMoneyEvents(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Payment, Type, Terminal, Connector, Currency string
		Captured                                     int64
		At                                           time.Time
		Data                                         string
	}
	var rows []row
	for _, m := range got {
		if m.Merchant != tender.DefaultMerchant {
			t.Errorf("event of merchant %s", m.Merchant)
		}
		var d any
		json.Unmarshal(m.Data, &d)
		b, _ := json.Marshal(d)
		rows = append(rows, row{m.PaymentID, m.Type, m.Terminal, m.Connector, m.Currency, m.Captured, m.CreatedAt, string(b)})
	}
	diff(t, "ListMoneyEvents", []row{
		{"pay_a", "payment.captured", "till-1", "sepay", "EUR", 1000, at(time.Minute), `{"captured_amount":1000}`},
		{"pay_a", "payment.refund_succeeded", "till-1", "sepay", "EUR", 1000, at(time.Hour), `{"amount":300}`},
		{"pay_b", "payment.capture_succeeded", "", "computop", "EUR", 500, at(2 * time.Minute), `{"amount":500}`},
	}, rows)

	f.Terminals = []string{"till-1"}
	if got, err := s.ListMoneyEvents(ctx, f); err != nil || len(got) != 2 || got[0].PaymentID != "pay_a" || got[1].PaymentID != "pay_a" {
		t.Errorf("terminal till-1: %+v %v", got, err)
	}
	f.Terminals, f.Connector = nil, "computop"
	if got, err := s.ListMoneyEvents(ctx, f); err != nil || len(got) != 1 || got[0].PaymentID != "pay_b" {
		t.Errorf("connector computop: %+v %v", got, err)
	}
	f.Connector, f.From, f.To = "", at(time.Hour), at(time.Hour+time.Microsecond)
	if got, err := s.ListMoneyEvents(ctx, f); err != nil || len(got) != 1 || got[0].Type != "payment.refund_succeeded" {
		t.Errorf("[From, To) of one microsecond: %+v %v", got, err)
	}
	f.To = at(time.Hour)
	if got, err := s.ListMoneyEvents(ctx, f); err != nil || len(got) != 0 {
		t.Errorf("To is exclusive: %+v %v", got, err)
	}
}

// testTouchTerminal: LastSeenAt moves forward at most every `every`.
func testTouchTerminal(t *testing.T, s tender.Store) {
	ctx := context.Background()
	if err := s.CreateTerminal(ctx, &tender.Terminal{ID: "till-1", Connector: "sepay", Account: "a", ProviderID: "1", CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetTerminal(ctx, "till-1"); !got.LastSeenAt.IsZero() {
		t.Fatalf("a new terminal was seen at %v", got.LastSeenAt)
	}
	for _, tc := range []struct {
		touch, want time.Duration
	}{{time.Minute, time.Minute}, {time.Minute + 2*time.Second, time.Minute}, {time.Minute + 6*time.Second, time.Minute + 6*time.Second}} {
		if err := s.TouchTerminal(ctx, "till-1", at(tc.touch), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetTerminal(ctx, "till-1"); !got.LastSeenAt.Equal(at(tc.want)) {
			t.Errorf("after a touch at +%v: seen at %v, want %v", tc.touch, got.LastSeenAt, at(tc.want))
		}
	}
	if err := s.TouchTerminal(ctx, "missing", at(0), time.Second); err != nil {
		t.Errorf("touching a missing terminal: %v", err)
	}
}
