package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestTryAgain: a failed attempt on a payment that waits for its shopper
// leaves it open with the reason and an event; an approval after it
// settles the payment and clears the failure; the shopper's cancel comes
// only from Tender's own page.
func TestTryAgain(t *testing.T) {
	e := newEnv(t)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","connector":"testpay","locale":"de"}`, 201)
	id := p["id"].(string)
	notify := func(body string) {
		t.Helper()
		if r := e.do("POST", "/callbacks/testpay/tp1/notify", body, "X-Sig", "s3cret"); r.status != 200 {
			t.Fatalf("callback: %d %s", r.status, r.body)
		}
	}
	notify(`{"ref":"` + id + `","status":"failed","failure":"declined","retry":true}`)
	got := e.mustDo("GET", "/v1/payments/"+id, "", 200)
	if got["status"] != "requires_action" || got["failure"].(map[string]any)["code"] != "declined" {
		t.Fatalf("after a failed attempt: %v (failure %v), want requires_action with the attempt's failure", got["status"], got["failure"])
	}
	notify(`{"ref":"` + id + `","status":"captured"}`)
	got = e.mustDo("GET", "/v1/payments/"+id, "", 200)
	if got["status"] != "captured" || got["failure"] != nil {
		t.Fatalf("after the second attempt: %v (failure %v), want captured without a failure", got["status"], got["failure"])
	}
	var types []string
	for _, ev := range e.mustDo("GET", "/v1/payments/"+id+"/events", "", 200)["data"].([]any) {
		types = append(types, ev.(map[string]any)["type"].(string))
	}
	if !strings.Contains(strings.Join(types, " "), "payment.attempt_failed payment.captured") {
		t.Errorf("events %v, want the failed attempt, then the capture", types)
	}

	// Without Retry a failure ends the payment, as before.
	p = e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","connector":"testpay"}`, 201)
	notify(`{"ref":"` + p["id"].(string) + `","status":"failed","failure":"declined"}`)
	if got := e.mustDo("GET", "/v1/payments/"+p["id"].(string), "", 200); got["status"] != "failed" {
		t.Errorf("a failure without Retry: %v, want failed", got["status"])
	}

	// The shopper gives up.
	p = e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","connector":"testpay"}`, 201)
	id = p["id"].(string)
	notify(`{"ref":"` + id + `","status":"failed","failure":"authentication_failed","retry":true}`)
	post := func(site string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", e.srv.URL+"/pay/"+id+"/cancel", nil)
		req.Header.Set("Sec-Fetch-Site", site)
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := post("cross-site"); st != http.StatusForbidden {
		t.Errorf("a cancel from another site: %d, want 403", st)
	}
	if got := e.mustDo("GET", "/v1/payments/"+id, "", 200); got["status"] != "requires_action" {
		t.Fatalf("after a refused cancel: %v", got["status"])
	}
	if st := post("same-origin"); st != http.StatusSeeOther {
		t.Errorf("the page's cancel: %d, want 303 to the page", st)
	}
	if got := e.mustDo("GET", "/v1/payments/"+id, "", 200); got["status"] != "canceled" {
		t.Errorf("after the shopper's cancel: %v, want canceled", got["status"])
	}

	// A cancel the provider could not do: the shopper is sent back to the
	// page, told so, and the payment stays open for another press.
	p = e.mustDo("POST", "/v1/payments", `{"amount":1077,"currency":"EUR","connector":"testpay"}`, 201)
	id = p["id"].(string)
	notify(`{"ref":"` + id + `","status":"failed","failure":"declined","retry":true}`)
	req, _ := http.NewRequest("POST", e.srv.URL+"/pay/"+id+"/cancel", nil)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/pay/"+id+"?cancel=failed" {
		t.Errorf("a cancel that could not be done: %d to %q, want 303 to the page saying so", res.StatusCode, res.Header.Get("Location"))
	}
	if got := e.mustDo("GET", "/v1/payments/"+id, "", 200); got["status"] != "requires_action" {
		t.Errorf("after a cancel that could not be done: %v, want requires_action", got["status"])
	}
}
