package trustpayments_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	tp "github.com/tenderpay/tender/trustpayments"
)

// subscribed runs a checkout that starts a monthly subscription with no
// end and returns its first payment, with the checkout's details.
func (e *env) subscribed() *tender.Payment {
	e.t.Helper()
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 999, Currency: "GBP", Status: tender.StatusPending, Connector: tp.Name,
		Account: e.acct.ID, CaptureMode: tender.CaptureAutomatic, Customer: "c1", SetupFutureUsage: tender.SetupOffSession, CreatedAt: e.clock.Now(),
		Subscription: &tender.Subscription{Type: "recurring", Unit: "month", Frequency: 1, FinalNumber: 0, Number: 1}}
	u, err := e.conn.Start(context.Background(), e.op(p, 0))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.gateway(u.NextAction.Data["jwt"], map[string]any{"pan": "4111111111111111", "expirydate": "12/30", "securitycode": "123"}); err != nil {
		e.t.Fatal(err)
	}
	if len(e.sim.Approved(p.ID)) != 1 {
		e.t.Fatal("the first payment was not approved")
	}
	return p
}

// subscriptionActive is the SUBSCRIPTION's transactionactive at the
// gateway.
func (e *env) subscriptionActive(p *tender.Payment) string {
	e.t.Helper()
	for _, t := range e.sim.Ledger() {
		if t.Type == "SUBSCRIPTION" && t.OrderReference == p.ID {
			return t.Sub.Active
		}
	}
	e.t.Fatalf("no SUBSCRIPTION for %s", p.ID)
	return ""
}

// TestSubscriptionPauseResume: a paused subscription makes no charge when
// its dates come; pausing it again succeeds and changes nothing; resumed,
// it charges again on its next date (the dates it slept through are not
// caught up), and Instalments finds every charge.
func TestSubscriptionPauseResume(t *testing.T) {
	e := newEnv(t)
	p := e.subscribed()
	ctx := context.Background()
	now := e.clock.Now()
	if n := e.sim.RunSubscriptions(now.AddDate(0, 1, 1), false); n != 1 {
		t.Fatalf("%d charges a month on, want 1", n)
	}
	for range 2 { // pausing twice is fine
		if err := e.conn.SetSubscriptionPaused(ctx, e.op(p, 0), true); err != nil {
			t.Fatalf("pause: %v", err)
		}
		if a := e.subscriptionActive(p); a != "0" {
			t.Fatalf("transactionactive %q after a pause, want 0", a)
		}
	}
	e.clock.Add(95 * 24 * time.Hour) // about three months pass, paused
	if n := e.sim.RunSubscriptions(e.clock.Now(), false); n != 0 {
		t.Fatalf("a paused subscription made %d charges", n)
	}
	if n := e.sim.RunSubscriptions(e.clock.Now(), true); n != 0 {
		t.Fatalf("a paused subscription made %d charges when told to run its next", n)
	}
	if err := e.conn.SetSubscriptionPaused(ctx, e.op(p, 0), false); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if a := e.subscriptionActive(p); a != "1" {
		t.Fatalf("transactionactive %q after a resume, want 1", a)
	}
	if err := e.conn.SetSubscriptionPaused(ctx, e.op(p, 0), false); err != nil {
		t.Fatalf("resume again: %v", err)
	}
	if n := e.sim.RunSubscriptions(e.clock.Now(), false); n != 0 {
		t.Fatalf("resuming caught up %d charges of the months paused", n)
	}
	if n := e.sim.RunSubscriptions(e.clock.Now().AddDate(0, 1, 1), false); n != 1 {
		t.Fatalf("%d charges a month after the resume, want 1", n)
	}
	ch, ended, err := e.conn.Instalments(ctx, e.op(p, 0))
	if err != nil || ended || len(ch) != 2 || ch[0].Number != 2 || ch[1].Number != 3 {
		t.Fatalf("charges found: %+v ended=%v %v", ch, ended, err)
	}
}

// TestSubscriptionPauseFaults: an answer lost on the way back is in doubt
// (unavailable), and the pause sent again finds it done; a payment that
// is no subscription's first is refused before anything is sent.
func TestSubscriptionPauseFaults(t *testing.T) {
	e := newEnv(t)
	p := e.subscribed()
	ctx := context.Background()
	// The pause asks first (TRANSACTIONQUERY), then sends the update:
	// the update's answer is lost.
	calls := 0
	e.drop.Store(func(r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/json") {
			return false
		}
		calls++
		return calls == 2
	})
	err := e.conn.SetSubscriptionPaused(ctx, e.op(p, 0), true)
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("pause with its answer lost: %v, want unavailable (in doubt)", err)
	}
	e.drop.Store(func(*http.Request) bool { return false })
	if a := e.subscriptionActive(p); a != "0" {
		t.Fatalf("the lost update did not reach the gateway (transactionactive %q)", a)
	}
	if err := e.conn.SetSubscriptionPaused(ctx, e.op(p, 0), true); err != nil {
		t.Fatalf("pause sent again: %v", err)
	}
	charge := &tender.Payment{ID: tender.NewID("pay"), Connector: tp.Name, Account: e.acct.ID, Currency: "GBP",
		Subscription: &tender.Subscription{Type: "recurring", Unit: "month", Frequency: 1, Parent: p.ID, Number: 2}}
	if err := e.conn.SetSubscriptionPaused(ctx, e.op(charge, 0), true); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Errorf("pause of a charge: %v, want conflict", err)
	}
	plain := &tender.Payment{ID: tender.NewID("pay"), Connector: tp.Name, Account: e.acct.ID, Currency: "GBP",
		Subscription: &tender.Subscription{Type: "recurring", Unit: "month", Frequency: 1, Number: 1}}
	if err := e.conn.SetSubscriptionPaused(ctx, e.op(plain, 0), true); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Errorf("pause of a subscription the gateway never started: %v, want conflict", err)
	}
}

// TestSubscriptionUpdateFields: the simulator's TRANSACTIONUPDATE of a
// SUBSCRIPTION takes transactionactive 0, 1 or 2 only, and refuses other
// fields, naming them; a refused update changes nothing.
func TestSubscriptionUpdateFields(t *testing.T) {
	e := newEnv(t)
	p := e.subscribed()
	cfg, err := tp.ParseConfig(&e.acct)
	if err != nil {
		t.Fatal(err)
	}
	ws := &tp.WSClient{URL: cfg.WebservicesURL, Username: cfg.WSUsername, Password: cfg.WSPassword, HTTP: e.srv.Client()}
	var ref string
	for _, tx := range e.sim.Ledger() {
		if tx.Type == "SUBSCRIPTION" && tx.OrderReference == p.ID {
			ref = tx.Reference
		}
	}
	for _, c := range []struct {
		updates map[string]string
		code    string
		field   string
		active  string
	}{
		{map[string]string{"transactionactive": "5"}, "30000", "transactionactive", "2"},
		{map[string]string{"settlestatus": "3"}, "30000", "settlestatus", "2"},
		{map[string]string{"subscriptionfinalnumber": "4"}, "30000", "subscriptionfinalnumber", "2"},
		{map[string]string{"transactionactive": "0", "settlebaseamount": "1"}, "30000", "settlebaseamount", "2"},
		{map[string]string{"transactionactive": "0"}, "0", "", "0"},
		{map[string]string{"transactionactive": "1"}, "0", "", "1"},
	} {
		r, err := ws.Update(context.Background(), cfg.SiteReference, ref, c.updates)
		if err != nil {
			t.Fatal(err)
		}
		if r.Get("errorcode") != c.code || c.field != "" && (len(r.ErrorData) != 1 || r.ErrorData[0] != c.field) {
			t.Errorf("update %v: errorcode %s errordata %v, want %s %s", c.updates, r.Get("errorcode"), r.ErrorData, c.code, c.field)
		}
		if a := e.subscriptionActive(p); a != c.active {
			t.Errorf("after update %v transactionactive %q, want %q", c.updates, a, c.active)
		}
	}
}
