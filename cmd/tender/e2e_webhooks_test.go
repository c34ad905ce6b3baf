package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tenderpay/tender/webhook"
)

// TestWebhooksThroughAPI registers a merchant's endpoint through the API
// of a real `tender serve` (sandbox, no configuration), takes a sandbox
// terminal payment, and receives the signed payment.captured webhook.
func TestWebhooksThroughAPI(t *testing.T) {
	p := startTender(t)
	type delivery struct {
		ev     *webhook.Event
		header http.Header
		body   []byte
		err    error
	}
	got := make(chan delivery, 16)
	var secret string
	secretSet := make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-secretSet
		body, _ := io.ReadAll(r.Body)
		ev, err := webhook.ParseStandard(secret, r.Header, body, webhook.DefaultTolerance, time.Now())
		if err == nil {
			//lint:ignore SA1019 the deprecated header is still sent
			_, err = webhook.Parse(secret, r.Header.Get(webhook.SignatureHeader), body, webhook.DefaultTolerance, time.Now())
		}
		got <- delivery{ev, r.Header, body, err}
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	ep := p.mustCall("POST", "/v1/webhook_endpoints", `{"url":"`+rcv.URL+`/tender","events":["payment.captured"]}`, 201,
		"Idempotency-Key", "e2e-webhook-1")
	secret = ep["secret"].(string)
	close(secretSet)
	if got := p.mustCall("GET", "/v1/webhook_endpoints/"+ep["id"].(string), "", 200); got["secret"] != nil {
		t.Fatalf("GET returns the secret: %v", got)
	}

	created := p.mustCall("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","terminal":"sepay-term-1","reference":"till-7"}`, 201)
	id := created["id"].(string)
	p.waitFor(id, 60*time.Second, "captured")

	select {
	case d := <-got:
		if d.err != nil {
			t.Fatalf("the webhook does not verify: %v", d.err)
		}
		if d.ev.Type != "payment.captured" || d.header.Get(webhook.IDHeader) != d.ev.ID || d.header.Get("Tender-Event-Id") != d.ev.ID {
			t.Errorf("webhook %+v, headers %v", d.ev, d.header)
		}
		var obj map[string]any
		if err := json.Unmarshal(d.ev.Data.Object, &obj); err != nil {
			t.Fatal(err)
		}
		if obj["id"] != id || obj["object"] != "payment" || obj["status"] != "captured" || obj["captured_amount"] != 1000.0 || obj["reference"] != "till-7" {
			t.Errorf("data.object = %v", obj)
		}
		events := p.mustCall("GET", "/v1/payments/"+id+"/events", "", 200)["data"].([]any)
		found := false
		for _, e := range events {
			e := e.(map[string]any)
			if e["type"] == "payment.captured" && e["id"] == d.ev.ID {
				found = true
			}
		}
		if !found {
			t.Errorf("webhook event %s is not the payment's payment.captured event: %v", d.ev.ID, events)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook within 30s of the capture")
	}

	// The delivery is recorded; only the subscribed event was sent.
	var ds []any
	for range 100 {
		ds = p.mustCall("GET", "/v1/webhook_endpoints/"+ep["id"].(string)+"/deliveries", "", 200)["data"].([]any)
		if len(ds) == 1 && ds[0].(map[string]any)["status"] == "succeeded" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(ds) != 1 || ds[0].(map[string]any)["status"] != "succeeded" || ds[0].(map[string]any)["last_status_code"] != 204.0 {
		t.Errorf("deliveries %v, want one succeeded with 204", ds)
	}
	select {
	case d := <-got:
		t.Errorf("an unsubscribed event was delivered: %+v", d.ev)
	default:
	}
}
