package main

import (
	"fmt"
	"testing"
	"time"
)

// TestSepayThroughAPI takes Dutch terminal payments through Tender's HTTP
// API against the Sepay simulator over HTTP (signed SOAP both ways).
func TestSepayThroughAPI(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	created := p.mustCall("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","terminal":"sepay-term-1"}`, 201)
	id := created["id"].(string)
	if created["status"] != "processing" {
		t.Fatalf("terminal payment starts %v, want processing", created["status"])
	}
	// The terminal is busy until the first payment ends.
	if status, m := p.call("POST", "/v1/payments", `{"amount":500,"currency":"EUR","terminal":"sepay-term-1"}`); status != 409 {
		t.Fatalf("second payment on a busy terminal: %d %v", status, m)
	}
	got := p.waitFor(id, 60*time.Second, "captured")
	if got["receipt"] == nil || got["details"].(map[string]any)["brand"] == nil {
		t.Errorf("captured payment lacks receipt or brand: %v", got)
	}
	if status, m := p.call("POST", "/v1/payments/"+id+"/refunds", `{}`); status != 422 || m["error"].(map[string]any)["code"] != "not_supported" {
		t.Errorf("refund: %d %v, want 422 not_supported", status, m)
	}
	for _, tt := range []struct {
		amount int64
		want   string
	}{{5151, "failed"}, {5154, "canceled"}, {5155, "captured"}} {
		created := p.mustCall("POST", "/v1/payments", fmt.Sprintf(`{"amount":%d,"currency":"EUR","terminal":"sepay-term-2"}`, tt.amount), 201)
		got := p.waitFor(created["id"].(string), 90*time.Second, tt.want)
		if tt.want == "failed" && got["failure"] == nil {
			t.Errorf("%d: failed without a failure: %v", tt.amount, got)
		}
		// Every outcome the terminal worked on returns its ticket.
		if r, _ := got["receipt"].(map[string]any); r == nil || r["raw"] == "" || len(r["lines"].([]any)) < 4 {
			t.Errorf("%d (%s): no terminal receipt: %v", tt.amount, tt.want, got["receipt"])
		}
	}
	// Currencies other than EUR are refused before anything is sent.
	if status, m := p.call("POST", "/v1/payments", `{"amount":1000,"currency":"GBP","terminal":"sepay-term-1"}`); status != 400 {
		t.Fatalf("GBP on Sepay: %d %v", status, m)
	}
}
