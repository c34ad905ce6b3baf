package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	tp "github.com/tenderpay/tender/trustpayments"
)

// TestRefusedCallbackAudited: a Trust Payments return that does not verify
// (forged signature), or that verifies but is about another amount, changes
// nothing and leaves a callback.rejected event on the payment it named,
// saying what was wrong without the token or secret, and counts in
// tender_callback_refusals_total.
func TestRefusedCallbackAudited(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	id, jwt := trustCheckout(t, p, `{"amount":1050,"currency":"GBP","connector":"trustpayments"}`)
	secret, _ := sandboxTrustKeys(t, p)
	claims := func(amount string) []byte {
		b, _ := json.Marshal(map[string]any{"iat": time.Now().Unix(), "payload": map[string]any{
			"requestreference": "W56-forged00", "version": "1.00", "jwt": jwt,
			"response": []any{map[string]any{"requesttypedescription": "AUTH", "errorcode": "0", "customeroutput": "RESULT",
				"transactionreference": "56-9-999999", "baseamount": amount, "currencyiso3a": "GBP", "settlestatus": "0"}}}})
		return b
	}
	forged, _ := tp.Sign(tp.HS256, []byte("not the site's secret"), claims("1050"))
	other, _ := tp.Sign(tp.HS256, []byte(secret), claims("1"))
	for _, form := range []url.Values{
		{"jwt": {forged}, "orderreference": {id}},
		{"jwt": {forged}}, // the payment named only inside the token
		{"jwt": {other}, "orderreference": {id}},
	} {
		res, err := http.PostForm(p.URL+"/callbacks/trustpayments/trustpayments-sandbox/return", form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 {
			t.Fatalf("refused return: HTTP %d, want 400", res.StatusCode)
		}
	}
	if got := p.mustCall("GET", "/v1/payments/"+id, "", 200); got["status"] != "requires_action" {
		t.Fatalf("a refused return moved the payment to %v", got["status"])
	}
	events := p.mustCall("GET", "/v1/payments/"+id+"/events", "", 200)["data"].([]any)
	var reasons []string
	for _, e := range events {
		e := e.(map[string]any)
		if e["type"] == "callback.rejected" {
			b, _ := json.Marshal(e)
			reasons = append(reasons, string(b))
		}
	}
	if len(reasons) != 3 {
		t.Fatalf("%d callback.rejected events, want 3: %v", len(reasons), events)
	}
	all := strings.Join(reasons, "\n")
	for _, want := range []string{"bad signature", "AUTH amount differs", "return"} {
		if !strings.Contains(all, want) {
			t.Errorf("the events do not say %q: %s", want, all)
		}
	}
	for _, secretish := range []string{secret, forged[:40], "not the site"} {
		if strings.Contains(all, secretish) {
			t.Errorf("an event carries secret material %.12q…", secretish)
		}
	}
	res, err := http.Get(p.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !regexp.MustCompile(`tender_callback_refusals_total\{connector="trustpayments",outcome="recorded"\} 3\b`).Match(m) {
		t.Errorf("metric missing or wrong:\n%s", regexp.MustCompile(`(?m)^tender_callback.*$`).FindAll(m, -1))
	}
}
