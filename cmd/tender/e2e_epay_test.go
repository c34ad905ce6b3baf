package main

import (
	"fmt"
	"testing"
	"time"
)

func epayBody(amount int64, number int) string {
	net := amount * 100 / 124
	vat := amount - net
	return fmt.Sprintf(`{"amount":%d,"currency":"EUR","terminal":"epay-term-1","invoice":{"issuer_vat":"EL123456789","date":"2026-11-22","branch":0,"type":"11.1","series":"A","number":"%d","net_amount":%d,"vat_amount":%d,"total_amount":%d}}`,
		amount, number, net, vat, amount)
}

// TestEpayThroughAPI takes Greek terminal payments through Tender's HTTP API
// against the ePay and Impact simulators over HTTP.
func TestEpayThroughAPI(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	tests := []struct {
		amount  int64
		want    string
		failure string
	}{
		{1240, "captured", ""},
		{5151, "failed", "declined"},
		{5154, "canceled", ""},
		{5155, "captured", ""}, // never answered: unknown, then reconciled from the intent
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(tt.amount), func(t *testing.T) {
			created := p.mustCall("POST", "/v1/payments", epayBody(tt.amount, 100+i), 201, "Idempotency-Key", fmt.Sprint("epay-", tt.amount))
			id := created["id"].(string)
			got := p.waitFor(id, 60*time.Second, tt.want)
			if tt.want == "captured" {
				d := got["details"].(map[string]any)
				for _, k := range []string{"mydata_payment_method_type", "mydata_transaction_id", "mydata_tid", "mydata_signature", "mydata_pos_input", "auth_code", "rrn", "masked_pan"} {
					if d[k] == nil || d[k] == "" {
						t.Errorf("captured payment lacks details.%s: %v", k, d)
					}
				}
				if got["captured_amount"].(float64) != float64(tt.amount) {
					t.Errorf("captured_amount %v", got["captured_amount"])
				}
			}
			if tt.failure != "" && got["failure"].(map[string]any)["code"] != tt.failure {
				t.Errorf("failure %v, want %s", got["failure"], tt.failure)
			}
		})
	}
	// An invoice that does not add up is refused before anything is sent.
	status, m := p.call("POST", "/v1/payments", `{"amount":1240,"currency":"EUR","terminal":"epay-term-1","invoice":{"issuer_vat":"EL123456789","date":"2026-11-22","branch":0,"type":"11.1","series":"A","number":"9","net_amount":1000,"vat_amount":200,"total_amount":1240}}`)
	if status != 400 {
		t.Fatalf("inconsistent invoice: %d %v", status, m)
	}
}
