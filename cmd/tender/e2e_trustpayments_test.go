package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// trustShopper does what the stand-in st.js does for a frictionless card:
// POST the request JWT and card data to the gateway's /jwt/, then post the
// response JWT to Tender's return endpoint.
func trustShopper(t *testing.T, p *tenderProc, id, reqJWT, pan string) *http.Response {
	t.Helper()
	parts := strings.Split(reqJWT, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Payload map[string]json.RawMessage `json:"payload"`
	}
	json.Unmarshal(raw, &claims)
	body, _ := json.Marshal(map[string]any{"jwt": reqJWT, "version": "1.00", "acceptcustomeroutput": "2.00",
		"request": []any{map[string]any{"pan": pan, "expirydate": "12/30", "securitycode": "123",
			"requesttypedescriptions": claims.Payload["requesttypedescriptions"]}}})
	res, err := http.Post(p.SimURL+"/sim/trustpayments/jwt/", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ JWT string }
	json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	if out.JWT == "" {
		t.Fatalf("gateway answered %d without a JWT", res.StatusCode)
	}
	res, err = http.PostForm(p.URL+"/callbacks/trustpayments/trustpayments-sandbox/return", url.Values{"jwt": {out.JWT}, "orderreference": {id}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestTrustPaymentsThroughAPI pays by card through Tender's HTTP API against
// the Trust Payments simulator over HTTP.
func TestTrustPaymentsThroughAPI(t *testing.T) {
	p := startTender(t)
	created := p.mustCall("POST", "/v1/payments", `{"amount":1050,"currency":"GBP","connector":"trustpayments","return_url":"https://shop.example/done"}`, 201)
	id := created["id"].(string)
	na := created["next_action"].(map[string]any)
	if created["status"] != "requires_action" || na["url"] != p.URL+"/pay/"+id {
		t.Fatalf("created %v", created)
	}
	// The hosted checkout loads the library with the JWT.
	page, err := http.Get(na["url"].(string))
	if err != nil || page.StatusCode != 200 {
		t.Fatalf("checkout page: %v %v", page, err)
	}
	page.Body.Close()
	res := trustShopper(t, p, id, na["data"].(map[string]any)["jwt"].(string), "4111111111111111")
	res.Body.Close()
	if !strings.HasPrefix(res.Request.URL.String(), p.URL+"/pay/"+id) {
		t.Fatalf("browser ended at %s", res.Request.URL)
	}
	got := p.waitFor(id, 30*time.Second, "captured")
	if d := got["details"].(map[string]any); d["transactionreference"] == nil {
		t.Errorf("captured payment lacks transactionreference: %v", d)
	}

	// A decline by amount rule 51.
	created = p.mustCall("POST", "/v1/payments", `{"amount":1051,"currency":"GBP","connector":"trustpayments"}`, 201)
	id = created["id"].(string)
	trustShopper(t, p, id, created["next_action"].(map[string]any)["data"].(map[string]any)["jwt"].(string), "4111111111111111").Body.Close()
	p.waitFor(id, 30*time.Second, "failed")

	// A response JWT for another payment is refused and changes nothing.
	other := p.mustCall("POST", "/v1/payments", `{"amount":2000,"currency":"GBP","connector":"trustpayments"}`, 201)
	otherID := other["id"].(string)
	third := p.mustCall("POST", "/v1/payments", `{"amount":3000,"currency":"GBP","connector":"trustpayments"}`, 201)
	res = trustShopper(t, p, third["id"].(string), other["next_action"].(map[string]any)["data"].(map[string]any)["jwt"].(string), "4111111111111111")
	res.Body.Close()
	if got := p.mustCall("GET", "/v1/payments/"+third["id"].(string), "", 200); got["status"] != "requires_action" && got["status"] != "unknown" {
		t.Fatalf("a response for another payment moved the payment to %v", got["status"])
	}
	_ = otherID
}
