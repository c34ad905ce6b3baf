package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
)

// SetSubscriptionPaused makes testpay a provider that pauses the
// subscriptions it runs: for a first payment of reference "pause-timeout"
// the call times out, for "pause-refused" it is refused.
func (c *testConnector) SetSubscriptionPaused(ctx context.Context, op *tender.Op, paused bool) error {
	switch op.Payment.Reference {
	case "pause-timeout":
		return tender.Errorf(tender.EUnavailable, "timed out")
	case "pause-refused":
		return &tender.Error{Code: tender.EProvider, Message: "refused", ProviderCode: "X99"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paused == nil {
		c.paused = map[string]bool{}
	}
	c.paused[op.Payment.ID] = paused
	return nil
}

func (c *testConnector) pausedAt(id string) (paused, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	paused, ok = c.paused[id]
	return paused, ok
}

// subscribed makes a captured payment the first payment of a subscription
// Tender follows (testpay runs no checkout of its own).
func (e *env) subscribed(reference string) string {
	e.t.Helper()
	id := e.mustDo("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","connector":"testpay","reference":"`+reference+`"}`, 201)["id"].(string)
	p, err := e.store.GetPayment(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	p.Status, p.CapturedAmount = tender.StatusCaptured, p.Amount
	p.Subscription = &tender.Subscription{Type: "recurring", Unit: "month", Frequency: 1, Number: 1, Active: true}
	if err := e.store.UpdatePayment(context.Background(), p); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// TestPauseSubscription: pause and resume answer the payment with
// subscription.paused; the provider gets the state; the events and a key
// replayed say so; wrong payments are refused with the status that tells
// why.
func TestPauseSubscription(t *testing.T) {
	e := newEnv(t)
	id := e.subscribed("ok")
	p := e.mustDo("POST", "/v1/payments/"+id+"/subscription/pause", `{}`, 200, "Idempotency-Key", "pause-1")
	if sub, _ := p["subscription"].(map[string]any); sub["paused"] != true || p["id"] != id {
		t.Fatalf("pause: %v", p)
	}
	if paused, ok := e.conn.pausedAt(id); !ok || !paused {
		t.Fatalf("the provider holds paused=%v (asked %v)", paused, ok)
	}
	if r := e.do("POST", "/v1/payments/"+id+"/subscription/pause", `{}`, "Idempotency-Key", "pause-1"); r.status != 200 || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v %s", r.status, r.header, r.body)
	}
	p = e.mustDo("POST", "/v1/payments/"+id+"/subscription/resume", "", 200)
	if sub, _ := p["subscription"].(map[string]any); sub["paused"] != nil {
		t.Fatalf("resume: %v", p)
	}
	if paused, _ := e.conn.pausedAt(id); paused {
		t.Fatal("the provider is still paused after the resume")
	}
	var types []string
	for _, ev := range e.mustDo("GET", "/v1/payments/"+id+"/events", "", 200)["data"].([]any) {
		if typ := ev.(map[string]any)["type"].(string); strings.HasPrefix(typ, "payment.subscription_") {
			types = append(types, typ)
		}
	}
	if strings.Join(types, " ") != "payment.subscription_pause_requested payment.subscription_paused payment.subscription_pause_requested payment.subscription_resumed" {
		t.Errorf("events %v", types)
	}

	plain := e.mustDo("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","connector":"testpay"}`, 201)["id"].(string)
	for _, c := range []struct {
		path, body string
		status     int
		says       string
	}{
		{"/v1/payments/" + plain + "/subscription/pause", `{}`, 409, "no subscription"},
		{"/v1/payments/nope/subscription/pause", `{}`, 404, ""},
		{"/v1/payments/" + id + "/subscription/resume", `{"paused":true}`, 400, ""},
		{"/v1/payments/" + e.subscribed("pause-timeout") + "/subscription/pause", `{}`, 504, "sends it again"},
		{"/v1/payments/" + e.subscribed("pause-refused") + "/subscription/pause", `{}`, 502, "sends it again"},
	} {
		r := e.do("POST", c.path, c.body)
		if r.status != c.status || !strings.Contains(string(r.body), c.says) {
			t.Errorf("POST %s %s: %d %s, want %d saying %q", c.path, c.body, r.status, r.body, c.status, c.says)
		}
	}
}
