package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/webhook"
)

// TestWebhookSecretRollAndRetry: after a roll, deliveries carry a
// signature for the new secret and one for the old (both verify); a
// delivery is sent again on request, with the same webhook-id.
func TestWebhookSecretRollAndRetry(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	type delivery struct {
		h    http.Header
		body []byte
	}
	got := make(chan delivery, 16)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), body}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	next := func() delivery {
		t.Helper()
		select {
		case d := <-got:
			return d
		case <-time.After(30 * time.Second):
			t.Fatal("no webhook within 30s")
		}
		return delivery{}
	}
	ep := p.mustCall("POST", "/v1/webhook_endpoints", `{"url":"`+rcv.URL+`","events":["payment.captured"]}`, 201)
	epID, old := ep["id"].(string), ep["secret"].(string)
	pay := func(term string) {
		created := p.mustCall("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","terminal":"`+term+`"}`, 201)
		p.waitFor(created["id"].(string), 60*time.Second, "captured")
	}
	pay("sepay-term-1")
	first := next()
	if _, err := webhook.ParseStandard(old, first.h, first.body, webhook.DefaultTolerance, time.Now()); err != nil {
		t.Fatal(err)
	}

	rolled := p.mustCall("POST", "/v1/webhook_endpoints/"+epID+"/roll_secret", ``, 200, "Idempotency-Key", "roll-1")
	fresh, _ := rolled["secret"].(string)
	if !strings.HasPrefix(fresh, "whsec_") || fresh == old {
		t.Fatalf("roll_secret: %v", rolled)
	}
	pay("sepay-term-2")
	second := next()
	if n := len(strings.Fields(second.h.Get("webhook-signature"))); n != 2 {
		t.Fatalf("after a roll: %d signatures, want the new and the old one: %q", n, second.h.Get("webhook-signature"))
	}
	for _, s := range []string{fresh, old} {
		if _, err := webhook.ParseStandard(s, second.h, second.body, webhook.DefaultTolerance, time.Now()); err != nil {
			t.Errorf("during the overlap a secret does not verify: %v", err)
		}
		//lint:ignore SA1019 the deprecated header is still sent
		if _, err := webhook.Parse(s, second.h.Get(webhook.SignatureHeader), second.body, webhook.DefaultTolerance, time.Now()); err != nil {
			t.Errorf("Tender-Signature during the overlap: %v", err)
		}
	}

	// Redelivery of the first event's delivery, once it is recorded.
	var deliveryID float64
	for range 100 {
		ds := p.mustCall("GET", "/v1/webhook_endpoints/"+epID+"/deliveries", "", 200)["data"].([]any)
		for _, d := range ds {
			d := d.(map[string]any)
			if d["event"] == first.h.Get("webhook-id") && d["status"] == "succeeded" {
				deliveryID = d["id"].(float64)
			}
		}
		if deliveryID != 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if deliveryID == 0 {
		t.Fatal("the first delivery is not recorded as succeeded")
	}
	path := fmt.Sprintf("/v1/webhook_endpoints/%s/deliveries/%d/retry", epID, int64(deliveryID))
	retried := p.mustCall("POST", path, ``, 200)
	if retried["status"] != "pending" {
		t.Fatalf("retry: %v", retried)
	}
	again := next()
	if again.h.Get("webhook-id") != first.h.Get("webhook-id") {
		t.Fatalf("redelivered %q, want %q", again.h.Get("webhook-id"), first.h.Get("webhook-id"))
	}
	if status, m := p.call("POST", fmt.Sprintf("/v1/webhook_endpoints/%s/deliveries/999999/retry", epID), ``); status != 404 {
		t.Fatalf("retry of a missing delivery: %d %v", status, m)
	}
}
