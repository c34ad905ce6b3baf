package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

func TestFilterMatch(t *testing.T) {
	p := &tender.Payment{ID: "pay_1", Reference: "Order-77", Amount: 1050, Currency: "EUR",
		CreatedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		f    paymentFilter
		want bool
	}{
		{paymentFilter{}, true},
		{paymentFilter{Q: "order-77"}, true},
		{paymentFilter{Q: "order-78"}, false},
		{paymentFilter{From: "2026-12-01", To: "2026-12-01"}, true},
		{paymentFilter{From: "2026-12-02"}, false},
		{paymentFilter{To: "2026-11-30"}, false},
		{paymentFilter{Min: "10.50", Max: "10.50"}, true},
		{paymentFilter{Min: "10.51"}, false},
		{paymentFilter{Max: "10"}, false},
	} {
		if got := tc.f.match(p); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.f, got, tc.want)
		}
	}
}

func TestOpenInDoubt(t *testing.T) {
	ev := func(typ string, data any) tender.Event {
		b, _ := json.Marshal(data)
		return tender.Event{Type: typ, Data: b}
	}
	doubt := ev("payment.operation_in_doubt", map[string]any{"kind": "refund", "op_id": "x"})
	if got := openInDoubt([]tender.Event{ev("payment.captured", nil), doubt}); got != "refund" {
		t.Errorf("open refund in doubt: %q", got)
	}
	if got := openInDoubt([]tender.Event{doubt, ev("payment.refund_succeeded", nil)}); got != "" {
		t.Errorf("settled refund: %q", got)
	}
}

// TestMerchantUserCannotSwitch: only platform users switch merchants.
func TestMerchantUserCannotSwitch(t *testing.T) {
	e := newEnv(t, false)
	u, _ := NewUser("shop@example.com", tender.DefaultMerchant, testPassword)
	if err := e.store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "shop@example.com", testPassword)
	_, page := e.get(c, "/dashboard/payments")
	resp, _ := e.post(c, "/dashboard/merchant", url.Values{"csrf": {field(t, page, "csrf")}, "merchant": {tender.DefaultMerchant}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a merchant user switching: %d, want 403", resp.StatusCode)
	}
}

// TestPagesRender: every page renders for a signed-in user on an empty
// store, and the report downloads as CSV.
func TestPagesRender(t *testing.T) {
	e := newEnv(t, false)
	c := e.client()
	e.signIn(c, "ann@example.com", testPassword)
	for _, p := range []string{"/dashboard/payments", "/dashboard/payments/rows", "/dashboard/attention", "/dashboard/terminals", "/dashboard/webhooks", "/dashboard/reports", "/dashboard/static/live.js", "/dashboard/static/dashboard.css"} {
		if resp, body := e.get(c, p); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
	resp, body := e.get(c, "/dashboard/reports?day=2026-12-01&format=csv")
	if resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || body != "date,time_zone,terminal,connector,currency,count,gross,refund_count,refunds,net\n" {
		t.Errorf("CSV: %s %q", resp.Header.Get("Content-Type"), body)
	}
	if resp, _ := e.get(c, "/dashboard/payments/pay_nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a missing payment: %d", resp.StatusCode)
	}
}

func TestChart(t *testing.T) {
	days := make([]engine.DailyReport, 30)
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range days {
		days[i].Date = day.AddDate(0, 0, i-29).Format(time.DateOnly)
	}
	days[29].Rows = []engine.ReportRow{{Currency: "EUR", Net: 1000}, {Currency: "GBP", Net: 100}}
	days[28].Rows = []engine.ReportRow{{Currency: "EUR", Net: 700}, {Currency: "EUR", Net: -200}}
	cur, bars := chart(days)
	if cur != "EUR" || len(bars) != 30 {
		t.Fatalf("chart in %s with %d bars", cur, len(bars))
	}
	if last := bars[29]; last.Day != "2026-12-01" || last.Net != 1000 || last.H != 110 {
		t.Errorf("last bar %+v", last)
	}
	if b := bars[28]; b.Net != 500 || b.H != 55 {
		t.Errorf("the day before %+v", b)
	}
}

// TestEditTerminal: a terminal's label changes and a credential is
// rotated from the dashboard; its value is never in a page.
func TestEditTerminal(t *testing.T) {
	e := newEnv(t, false)
	ctx := tender.WithMerchant(context.Background(), tender.DefaultMerchant)
	if _, err := e.eng.CreateAccount(ctx, &tender.Account{ID: "acct_1", Connector: "fake", Environment: tender.EnvSandbox}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.CreateTerminal(ctx, &tender.Terminal{ID: "till-1", Connector: "fake", Account: "acct_1", ProviderID: "T1", Label: "Old",
		Credentials: map[string]string{"api_key": "first-secret"}}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "ann@example.com", testPassword)
	resp, page := e.get(c, "/dashboard/terminals/till-1/edit")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="cred.api_key"`) || strings.Contains(page, "first-secret") {
		t.Fatalf("edit page: %d %s", resp.StatusCode, page)
	}
	resp, _ = e.post(c, "/dashboard/terminals/till-1", url.Values{"csrf": {field(t, page, "csrf")}, "label": {"Front desk"}, "cred.api_key": {"second-secret"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	got, err := e.eng.GetTerminal(ctx, "till-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Label != "Front desk" {
		t.Errorf("label %q", got.Label)
	}
	if _, page := e.get(c, "/dashboard/terminals"); !strings.Contains(page, "Front desk") || strings.Contains(page, "second-secret") || !strings.Contains(page, `">idle</span>`) {
		t.Errorf("terminals page: %s", page)
	}
}

// TestRedeliver: a failed webhook delivery is queued again from the
// webhooks page.
func TestRedeliver(t *testing.T) {
	e := newEnv(t, false)
	ctx := tender.WithMerchant(context.Background(), tender.DefaultMerchant)
	ep, err := e.eng.CreateWebhookEndpoint(ctx, engine.WebhookEndpointRequest{URL: "https://shop.example/hook", Events: []string{"payment.created"}})
	if err != nil {
		t.Fatal(err)
	}
	p := &tender.Payment{ID: "pay_1", Merchant: tender.DefaultMerchant, Amount: 100, Currency: "EUR", Status: tender.StatusPending, Connector: "fake", Account: "a"}
	if err := e.store.CreatePayment(ctx, p, tender.Event{Type: "payment.created", CreatedAt: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	ds, err := e.store.ClaimWebhookDeliveries(ctx, e.clock.Now().Add(time.Minute), time.Minute, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %v %v", ds, err)
	}
	d := ds[0]
	d.Status = tender.DeliveryFailed
	if err := e.store.RecordWebhookAttempt(ctx, d, tender.WebhookAttempt{Attempt: d.Attempts, At: e.clock.Now(), StatusCode: 500}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "ann@example.com", testPassword)
	_, page := e.get(c, "/dashboard/webhooks")
	action := "/dashboard/webhooks/" + ep.ID + "/deliveries/" + strconv.FormatInt(d.ID, 10) + "/redeliver"
	if !strings.Contains(page, `action="`+action+`"`) {
		t.Fatalf("no redeliver button for %s:\n%s", action, page)
	}
	resp, _ := e.post(c, action, url.Values{"csrf": {field(t, page, "csrf")}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("redeliver: %d", resp.StatusCode)
	}
	list, _, _ := e.store.ListWebhookDeliveries(ctx, tender.DeliveryFilter{EndpointID: ep.ID})
	if len(list) != 1 || list[0].Status != tender.DeliveryPending {
		t.Errorf("after redeliver: %+v", list)
	}
	if resp, _ := e.post(c, "/dashboard/webhooks/we_nope/deliveries/1/redeliver", url.Values{"csrf": {field(t, page, "csrf")}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another endpoint: %d, want 404", resp.StatusCode)
	}
}

// TestRefundRefusedTwice: a refund the provider answers "not supported"
// shows why, and the same form sent again (the same key) shows it again
// without asking the provider twice.
func TestRefundRefusedTwice(t *testing.T) {
	e := newEnv(t, false)
	ctx := tender.WithMerchant(context.Background(), tender.DefaultMerchant)
	if _, err := e.eng.CreateAccount(ctx, &tender.Account{ID: "acct_1", Connector: "fake", Environment: tender.EnvSandbox}); err != nil {
		t.Fatal(err)
	}
	p := &tender.Payment{ID: "pay_1", Merchant: tender.DefaultMerchant, Amount: 1000, CapturedAmount: 1000, Currency: "EUR",
		Status: tender.StatusCaptured, Connector: "fake", Account: "acct_1"}
	if err := e.store.CreatePayment(ctx, p, tender.Event{Type: "payment.created"}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "ann@example.com", testPassword)
	_, page := e.get(c, "/dashboard/payments/pay_1")
	form := url.Values{"csrf": {field(t, page, "csrf")}, "key": {"0123456789abcdef0123456789abcdefr"}, "amount": {"9.99"}}
	resp, confirm := e.post(c, "/dashboard/payments/pay_1/refund", form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(confirm, "Refund 9.99 EUR of payment pay_1?") {
		t.Fatalf("confirmation: %d %s", resp.StatusCode, confirm)
	}
	form.Set("confirm", "yes")
	for i := range 2 {
		resp, body := e.post(c, "/dashboard/payments/pay_1/refund", form)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "fake has no refunds of 9.99") {
			t.Errorf("send %d: %d %s", i, resp.StatusCode, body)
		}
	}
	events, _ := e.eng.ListEvents(ctx, "pay_1")
	n := 0
	for _, ev := range events {
		if ev.Type == "payment.refund_requested" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d refunds requested, want 1: %+v", n, events)
	}
}

// TestRefundSentTwice: the same confirmed form sent twice (a double
// click, a reload) refunds once: the form's key is an idempotency key.
func TestRefundSentTwice(t *testing.T) {
	e := newEnv(t, false)
	ctx := tender.WithMerchant(context.Background(), tender.DefaultMerchant)
	if _, err := e.eng.CreateAccount(ctx, &tender.Account{ID: "acct_1", Connector: "fake", Environment: tender.EnvSandbox}); err != nil {
		t.Fatal(err)
	}
	p := &tender.Payment{ID: "pay_1", Merchant: tender.DefaultMerchant, Amount: 1000, CapturedAmount: 1000, Currency: "EUR",
		Status: tender.StatusCaptured, Connector: "fake", Account: "acct_1"}
	if err := e.store.CreatePayment(ctx, p, tender.Event{Type: "payment.created"}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "ann@example.com", testPassword)
	_, page := e.get(c, "/dashboard/payments/pay_1")
	form := url.Values{"csrf": {field(t, page, "csrf")}, "key": {"0123456789abcdef0123456789abcdefr"}, "amount": {"2.50"}}
	resp, confirm := e.post(c, "/dashboard/payments/pay_1/refund", form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(confirm, "Refund 2.50 EUR of payment pay_1?") {
		t.Fatalf("confirmation: %d %s", resp.StatusCode, confirm)
	}
	form.Set("confirm", "yes")
	for i := range 2 {
		resp, _ := e.post(c, "/dashboard/payments/pay_1/refund", form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("send %d: %d", i, resp.StatusCode)
		}
	}
	events, _ := e.eng.ListEvents(ctx, "pay_1")
	n := 0
	for _, ev := range events {
		if ev.Type == "payment.refund_requested" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d refunds requested, want 1: %+v", n, events)
	}
}

// TestResolveDiscrepancy: a settled payment's discrepancy has a form that
// clears it with a note; the note lands in the timeline and the money is
// unchanged.
func TestResolveDiscrepancy(t *testing.T) {
	e := newEnv(t, false)
	ctx := tender.WithMerchant(context.Background(), tender.DefaultMerchant)
	if _, err := e.eng.CreateAccount(ctx, &tender.Account{ID: "acct_1", Connector: "fake", Environment: tender.EnvSandbox}); err != nil {
		t.Fatal(err)
	}
	p := &tender.Payment{ID: "pay_1", Merchant: tender.DefaultMerchant, Amount: 1000, CapturedAmount: 1150, Currency: "EUR",
		Status: tender.StatusCaptured, Connector: "fake", Account: "acct_1", Discrepancy: "the provider took 11.50 EUR"}
	if err := e.store.CreatePayment(ctx, p, tender.Event{Type: "payment.created"}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "ann@example.com", testPassword)
	_, page := e.get(c, "/dashboard/payments/pay_1")
	if !strings.Contains(page, `action="/dashboard/payments/pay_1/resolve"`) || !strings.Contains(page, `<label for="resolve-note">`) {
		t.Fatalf("no resolve form on a settled payment with a discrepancy:\n%s", page)
	}
	csrf := field(t, page, "csrf")
	if resp, body := e.post(c, "/dashboard/payments/pay_1/resolve", url.Values{"csrf": {csrf}, "note": {""}}); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "note is required") {
		t.Fatalf("empty note: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.post(c, "/dashboard/payments/pay_1/resolve", url.Values{"csrf": {csrf}, "note": {"guest agreed the tip"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve: %d", resp.StatusCode)
	}
	got, err := e.eng.GetPayment(ctx, "pay_1")
	if err != nil || got.Discrepancy != "" || got.CapturedAmount != 1150 {
		t.Fatalf("after resolving: %+v, %v", got, err)
	}
	_, page = e.get(c, "/dashboard/payments/pay_1")
	if !strings.Contains(page, "payment.discrepancy_resolved") || !strings.Contains(page, "guest agreed the tip") || strings.Contains(page, `/resolve"`) {
		t.Fatalf("timeline after resolving:\n%s", page)
	}
}

// TestSettleInDoubtFromDashboard: a payment stuck unknown with a
// discrepancy has a form that asks what the provider shows; settling it
// fails it through the state machine, and the form is gone after.
func TestSettleInDoubtFromDashboard(t *testing.T) {
	e := newEnv(t, false)
	ctx := tender.WithMerchant(context.Background(), tender.DefaultMerchant)
	if _, err := e.eng.CreateAccount(ctx, &tender.Account{ID: "acct_1", Connector: "fake", Environment: tender.EnvSandbox}); err != nil {
		t.Fatal(err)
	}
	p := &tender.Payment{ID: "pay_1", Merchant: tender.DefaultMerchant, Amount: 1000, Currency: "EUR",
		Status: tender.StatusUnknown, Connector: "fake", Account: "acct_1", Discrepancy: "the provider could not cancel it"}
	if err := e.store.CreatePayment(ctx, p, tender.Event{Type: "payment.created"}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "ann@example.com", testPassword)
	_, page := e.get(c, "/dashboard/payments/pay_1")
	if !strings.Contains(page, `<select id="resolve-status" name="status" required>`) || !strings.Contains(page, "Settle by hand") {
		t.Fatalf("no settle form on a payment in doubt with a discrepancy:\n%s", page)
	}
	csrf := field(t, page, "csrf")
	if resp, body := e.post(c, "/dashboard/payments/pay_1/resolve", url.Values{"csrf": {csrf}, "note": {"looked"}}); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "failed or captured") {
		t.Fatalf("no status: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.post(c, "/dashboard/payments/pay_1/resolve", url.Values{"csrf": {csrf}, "note": {"no sale in the terminal's journal"}, "status": {"failed"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("settle: %d", resp.StatusCode)
	}
	got, err := e.eng.GetPayment(ctx, "pay_1")
	if err != nil || got.Status != tender.StatusFailed || got.Discrepancy != "" {
		t.Fatalf("after settling: %+v, %v", got, err)
	}
	_, page = e.get(c, "/dashboard/payments/pay_1")
	if !strings.Contains(page, "payment.failed") || strings.Contains(page, `/resolve"`) {
		t.Fatalf("timeline after settling:\n%s", page)
	}
}
