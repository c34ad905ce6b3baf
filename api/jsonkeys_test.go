package api_test

import (
	"strings"
	"testing"
)

// TestJSONKeysParsersAgree: a body that two JSON parsers can read as two
// different requests (a duplicate key, or a key that encoding/json matches
// to a field only case-insensitively) is refused with a 400 naming the key,
// on every endpoint that reads JSON, before anything is stored.
func TestJSONKeysParsersAgree(t *testing.T) {
	e := newEnv(t)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","terminal":"till-1"}`, 201)
	id := p["id"].(string)
	tests := []struct {
		path, body, param, msg string
	}{
		{"/v1/payments", `{"amount":1050,"amount":1,"currency":"EUR","connector":"testpay"}`, "amount", "more than once"},
		{"/v1/payments", `{"amount":1050,"Amount":1,"currency":"EUR","connector":"testpay"}`, "Amount", "case-sensitive"},
		{"/v1/payments", `{"AMOUNT":1,"currency":"EUR","connector":"testpay"}`, "AMOUNT", "case-sensitive"},
		{"/v1/payments", `{"amount":1,"currency":"EUR","connector":"testpay","metadata":{"k":"a","k":"b"}}`, "metadata.k", "more than once"},
		{"/v1/payments", `{"amount":1,"currency":"EUR","connector":"testpay","trustpayments":{"billingemail":"a@b","billingemail":"c@d"}}`, "trustpayments.billingemail", "more than once"},
		{"/v1/payments/" + id + "/refunds", `{"amount":1,"amount":1050}`, "amount", "more than once"},
		{"/v1/payments/" + id + "/capture", `{"Amount":1}`, "Amount", "case-sensitive"},
		{"/v1/accounts", `{"id":"a2","id":"a3","connector":"testpay","settings":{"site":"x"},"credentials":{"secret":"s"}}`, "id", "more than once"},
		{"/v1/accounts", `{"id":"a2","connector":"testpay","settings":{"site":"x","site":"y"},"credentials":{"secret":"s"}}`, "settings.site", "more than once"},
		{"/v1/terminals", `{"id":"t2","Connector":"testpay","provider_id":"T2"}`, "Connector", "case-sensitive"},
		{"/v1/webhook_endpoints", `{"url":"https://example.com/a","url":"https://127.0.0.1/b"}`, "url", "more than once"},
	}
	for _, tt := range tests {
		r := e.do("POST", tt.path, tt.body)
		if r.status != 400 {
			t.Errorf("%s %s: status %d, want 400: %s", tt.path, tt.body, r.status, r.body)
			continue
		}
		er := r.json(t)["error"].(map[string]any)
		param, _ := er["param"].(string)
		if param != tt.param || !strings.Contains(er["message"].(string), tt.msg) {
			t.Errorf("%s %s: param %q message %q; want param %q and %q", tt.path, tt.body, param, er["message"], tt.param, tt.msg)
		}
	}
	if n := e.countPayments(); n != 1 {
		t.Fatalf("%d payments, want only the first", n)
	}
	// The same key in different objects is fine.
	e.mustDo("POST", "/v1/payments", `{"amount":7,"currency":"EUR","connector":"testpay","metadata":{"amount":"x"}}`, 201)
}
