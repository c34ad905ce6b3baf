package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tp "github.com/tenderpay/tender/trustpayments"
	tpsim "github.com/tenderpay/tender/trustpayments/sim"
)

// jwtClaims decodes a JWT's claims without verifying them (the test reads
// what the gateway sent, as st.js does; Tender does the verifying).
func jwtClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// trustGateway posts to the simulator's /jwt/ what st.js posts: the request
// JWT and the card fields, with the request types the JWT fixes. It returns
// the response JWT, or "" when the gateway dropped the connection.
func trustGateway(t *testing.T, p *tenderProc, reqJWT string, fields map[string]any) string {
	t.Helper()
	req := map[string]any{"requesttypedescriptions": jwtClaims(t, reqJWT)["payload"].(map[string]any)["requesttypedescriptions"]}
	for k, v := range fields {
		req[k] = v
	}
	body, _ := json.Marshal(map[string]any{"jwt": reqJWT, "version": "1.00", "acceptcustomeroutput": "2.00", "request": []any{req}})
	res, err := http.Post(p.SimURL+"/sim/trustpayments/jwt/", "application/json", bytes.NewReader(body))
	if err != nil {
		return "" // the sandbox's rule 55: the connection closes without an answer
	}
	defer res.Body.Close()
	var out struct{ JWT string }
	json.NewDecoder(res.Body).Decode(&out)
	if out.JWT == "" {
		t.Fatalf("gateway answered %d without a JWT", res.StatusCode)
	}
	return out.JWT
}

// trustReturn posts the checkout form to Tender's return endpoint, as st.js
// submits it, following Tender's redirect like a browser.
func trustReturn(t *testing.T, p *tenderProc, form url.Values) *http.Response {
	t.Helper()
	res, err := http.PostForm(p.URL+"/callbacks/trustpayments/trustpayments-sandbox/return", form)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// trustPay does what the stand-in st.js does for a shopper: THREEDQUERY and
// AUTH at the gateway, the 3-D Secure challenge answered with otp when the
// card asks for one, then the form post to Tender with the response JWT, or
// without one (errorcode 50003) when the gateway did not answer.
func trustPay(t *testing.T, p *tenderProc, id, reqJWT, pan, otp string) *http.Response {
	t.Helper()
	card := map[string]any{"pan": pan, "expirydate": testExpiry(), "securitycode": "123"}
	rj := trustGateway(t, p, reqJWT, card)
	if rj != "" {
		payload := jwtClaims(t, rj)["payload"].(map[string]any)
		for _, e := range payload["response"].([]any) {
			e := e.(map[string]any)
			if e["customeroutput"] != "THREEDREDIRECT" {
				continue
			}
			body, _ := json.Marshal(map[string]any{"threedpayload": e["threedpayload"], "otp": otp})
			res, err := http.Post(e["acsurl"].(string), "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			var acs struct{ ThreeDResponse string }
			json.NewDecoder(res.Body).Decode(&acs)
			res.Body.Close()
			card["threedresponse"] = acs.ThreeDResponse
			rj = trustGateway(t, p, payload["jwt"].(string), card)
		}
	}
	if rj == "" {
		return trustReturn(t, p, url.Values{"errorcode": {"50003"}, "errormessage": {"Invalid response"}, "orderreference": {id}})
	}
	return trustReturn(t, p, url.Values{"jwt": {rj}, "orderreference": {id}})
}

// testExpiry is a card expiry date that stays in the future: December two
// years from now (the gateway refuses expired cards).
func testExpiry() string { return fmt.Sprintf("12/%02d", (time.Now().Year()+2)%100) }

// trustCheckout creates a Trust Payments payment through the API and
// returns its id and request JWT.
func trustCheckout(t *testing.T, p *tenderProc, body string) (string, string) {
	t.Helper()
	created := p.mustCall("POST", "/v1/payments", body, 201)
	na, _ := created["next_action"].(map[string]any)
	if created["status"] != "requires_action" || na == nil {
		t.Fatalf("created %v", created)
	}
	id := created["id"].(string)
	if na["url"] != p.URL+"/pay/"+id {
		t.Fatalf("next_action.url %v, want Tender's hosted checkout", na["url"])
	}
	return id, na["data"].(map[string]any)["jwt"].(string)
}

// sandboxTrustKeys reads the keys `tender serve` generated for the sandbox site.
func sandboxTrustKeys(t *testing.T, p *tenderProc) (jwtSecret, wsPassword string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.Data, "sim", "trustpayments", "trustpayments-sandbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		JWTSecret  string `json:"jwt_secret"`
		WSPassword string `json:"webservices_password"`
	}
	if err := json.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	return k.JWTSecret, k.WSPassword
}

// TestTrustPaymentsThroughAPI takes card payments through Tender's HTTP API
// against the Trust Payments simulator over HTTP, and checks at the end
// that the simulator's ledger (read with TRANSACTIONQUERY, as a merchant
// would at Trust Payments) agrees with Tender's records.
func TestTrustPaymentsThroughAPI(t *testing.T) {
	t.Parallel()
	p := startTender(t)

	t.Run("frictionless", func(t *testing.T) {
		id, jwt := trustCheckout(t, p, `{"amount":1050,"currency":"GBP","connector":"trustpayments","return_url":"https://shop.example/done"}`)
		page, err := http.Get(p.URL + "/pay/" + id)
		if err != nil {
			t.Fatal(err)
		}
		html, _ := io.ReadAll(page.Body)
		page.Body.Close()
		if page.StatusCode != 200 || !strings.Contains(string(html), p.SimURL+"/sim/trustpayments/js/v3/st.js") || !strings.Contains(string(html), jwt) {
			t.Fatalf("checkout page (%d) does not load the library with the JWT:\n%s", page.StatusCode, html)
		}
		res := trustPay(t, p, id, jwt, "4111111111111111", "")
		if !strings.HasPrefix(res.Request.URL.String(), p.URL+"/pay/"+id) {
			t.Fatalf("browser ended at %s", res.Request.URL)
		}
		got := p.waitFor(id, 30*time.Second, "captured")
		d := got["details"].(map[string]any)
		if d["transactionreference"] == nil || d["transactionreference"] != got["provider_reference"] || d["authcode"] == nil || d["enrolled"] != "Y" || d["status"] != "Y" {
			t.Errorf("captured payment lacks the gateway's fields: %v", got)
		}
		if d["maskedpan"] != "411111######1111" {
			t.Errorf("maskedpan %v", d["maskedpan"])
		}
		if b, _ := json.Marshal(got); strings.Contains(string(b), "4111111111111111") {
			t.Fatal("the full card number is on the payment")
		}
	})

	t.Run("3-D Secure challenge", func(t *testing.T) {
		id, jwt := trustCheckout(t, p, `{"amount":2000,"currency":"EUR","connector":"trustpayments"}`)
		trustPay(t, p, id, jwt, "4000000000001091", tpsim.OTP)
		got := p.waitFor(id, 30*time.Second, "captured")
		if d := got["details"].(map[string]any); d["status"] != "Y" || d["enrolled"] != "Y" {
			t.Errorf("challenge passed but details say %v", d)
		}
	})

	t.Run("3-D Secure challenge failed", func(t *testing.T) {
		id, jwt := trustCheckout(t, p, `{"amount":2100,"currency":"EUR","connector":"trustpayments"}`)
		trustPay(t, p, id, jwt, "4000000000001091", "0000")
		// A failed challenge ends the attempt: the shopper tries again
		// on the same checkout and passes.
		got := attemptFailed(t, p, id)
		if f := got["failure"].(map[string]any); f["code"] != "authentication_failed" || f["provider_code"] != "60022" {
			t.Errorf("failure %v", f)
		}
		trustPay(t, p, id, jwt, "4000000000001091", tpsim.OTP)
		if got := p.waitFor(id, 30*time.Second, "captured"); got["failure"] != nil {
			t.Errorf("captured after a second attempt, still with failure %v", got["failure"])
		}
	})

	t.Run("declined by amount rule 51", func(t *testing.T) {
		id, jwt := trustCheckout(t, p, `{"amount":1051,"currency":"GBP","connector":"trustpayments"}`)
		trustPay(t, p, id, jwt, "4111111111111111", "")
		got := attemptFailed(t, p, id)
		if f := got["failure"].(map[string]any); f["code"] != "declined" || f["provider_code"] != "70000" {
			t.Errorf("failure %v", f)
		}
	})

	t.Run("declined test card", func(t *testing.T) {
		id, jwt := trustCheckout(t, p, `{"amount":1500,"currency":"GBP","connector":"trustpayments"}`)
		trustPay(t, p, id, jwt, "4000000000000812", "")
		got := attemptFailed(t, p, id)
		if f := got["failure"].(map[string]any); f["code"] != "declined" {
			t.Errorf("failure %v", f)
		}
	})

	t.Run("manual capture, partial capture and refunds", func(t *testing.T) {
		id, jwt := trustCheckout(t, p, `{"amount":5000,"currency":"GBP","connector":"trustpayments","capture":"manual"}`)
		if c := jwtClaims(t, jwt)["payload"].(map[string]any); c["settlestatus"] != "2" {
			t.Fatalf("manual capture JWT has settlestatus %v, want 2 (suspended)", c["settlestatus"])
		}
		trustPay(t, p, id, jwt, "5200000000001005", "")
		got := p.waitFor(id, 30*time.Second, "authorized")
		if d := got["details"].(map[string]any); d["settlestatus"] != "2" {
			t.Fatalf("authorized payment has settlestatus %v", d["settlestatus"])
		}
		if status, _ := p.call("POST", "/v1/payments/"+id+"/capture", `{"amount":5001}`); status != 400 {
			t.Errorf("capture of more than authorized: %d, want 400", status)
		}
		// Trust Payments settles an authorization once: a partial capture
		// releases the rest, so the payment is captured (3000 of 5000).
		got = p.mustCall("POST", "/v1/payments/"+id+"/capture", `{"amount":3000}`, 200, "Idempotency-Key", "cap-"+id)
		if got["status"] != "captured" || got["captured_amount"] != 3000.0 {
			t.Fatalf("after partial capture: %v", got)
		}
		// The same request again is the same capture, not a second one.
		again := p.mustCall("POST", "/v1/payments/"+id+"/capture", `{"amount":3000}`, 200, "Idempotency-Key", "cap-"+id)
		if again["captured_amount"] != 3000.0 {
			t.Fatalf("replayed capture: %v", again)
		}
		if status, m := p.call("POST", "/v1/payments/"+id+"/capture", `{"amount":1000}`); status < 400 || status >= 500 {
			t.Errorf("a second capture (Trust Payments settles once): %d %v", status, m)
		}
		got = p.mustCall("POST", "/v1/payments/"+id+"/refunds", `{"amount":1000}`, 200)
		if got["status"] != "partially_refunded" || got["refunded_amount"] != 1000.0 {
			t.Fatalf("after partial refund: %v", got)
		}
		if status, m := p.call("POST", "/v1/payments/"+id+"/refunds", `{"amount":2001}`); status != 400 && status != 409 {
			t.Errorf("refund beyond what was captured: %d %v", status, m)
		}
		got = p.mustCall("POST", "/v1/payments/"+id+"/refunds", `{"amount":2000}`, 200)
		if got["status"] != "refunded" || got["refunded_amount"] != 3000.0 {
			t.Fatalf("after full refund: %v", got)
		}
	})

	t.Run("manual capture canceled", func(t *testing.T) {
		id, jwt := trustCheckout(t, p, `{"amount":4000,"currency":"GBP","connector":"trustpayments","capture":"manual"}`)
		trustPay(t, p, id, jwt, "4111111111111111", "")
		p.waitFor(id, 30*time.Second, "authorized")
		if got := p.mustCall("POST", "/v1/payments/"+id+"/cancel", `{}`, 200); got["status"] != "canceled" {
			t.Fatalf("after cancel: %v", got)
		}
	})

	t.Run("response for another payment", func(t *testing.T) {
		// The shopper pays the cheaper checkout and posts its result under
		// the dearer one's id: the result counts only for the payment whose
		// JWT was paid.
		cheap, cheapJWT := trustCheckout(t, p, `{"amount":2000,"currency":"GBP","connector":"trustpayments"}`)
		dear, _ := trustCheckout(t, p, `{"amount":3000,"currency":"GBP","connector":"trustpayments"}`)
		trustPay(t, p, dear, cheapJWT, "4111111111111111", "")
		p.waitFor(cheap, 30*time.Second, "captured")
		if got := p.mustCall("GET", "/v1/payments/"+dear, "", 200); got["status"] != "requires_action" {
			t.Fatalf("a result for another payment moved %s to %v", dear, got["status"])
		}
	})

	t.Run("response for another amount", func(t *testing.T) {
		// A response signed with the site's secret (as if the secret had
		// leaked) whose nested request JWT is not the one Tender issued (the
		// amount was changed) is refused although its signature is good.
		secret, _ := sandboxTrustKeys(t, p)
		id, jwt := trustCheckout(t, p, `{"amount":9000,"currency":"GBP","connector":"trustpayments"}`)
		claims := jwtClaims(t, jwt)
		claims["payload"].(map[string]any)["baseamount"] = 100
		rawClaims, _ := json.Marshal(claims)
		cheaper, err := tp.Sign(tp.HS256, []byte(secret), rawClaims)
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := json.Marshal(map[string]any{"iat": time.Now().Unix(), "aud": tpsim.SandboxJWTUser, "payload": map[string]any{
			"requestreference": "W56-forged00", "version": "1.00", "jwt": cheaper,
			"response": []any{map[string]any{"requesttypedescription": "AUTH", "errorcode": "0", "errormessage": "Ok", "customeroutput": "RESULT",
				"transactionreference": "56-9-999999", "orderreference": id, "baseamount": "100", "currencyiso3a": "GBP", "settlestatus": "0"}}}})
		rj, err := tp.Sign(tp.HS256, []byte(secret), resp)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.PostForm(p.URL+"/callbacks/trustpayments/trustpayments-sandbox/return", url.Values{"jwt": {rj}, "orderreference": {id}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 {
			t.Errorf("a response for 1.00 posted for a 90.00 payment: HTTP %d, want 400", res.StatusCode)
		}
		if got := p.mustCall("GET", "/v1/payments/"+id, "", 200); got["status"] != "requires_action" {
			t.Fatalf("a response for another amount moved the payment to %v", got["status"])
		}
		// The genuine checkout still works.
		trustPay(t, p, id, jwt, "4111111111111111", "")
		p.waitFor(id, 30*time.Second, "captured")
	})

	t.Run("communication error reconciled", func(t *testing.T) {
		// Rule 55: the gateway authorizes but the answer never reaches the
		// browser; st.js posts the form without a JWT. That proves nothing,
		// so Tender leaves the checkout open and asks: TRANSACTIONQUERY
		// finds the AUTH.
		id, jwt := trustCheckout(t, p, `{"amount":1055,"currency":"GBP","connector":"trustpayments"}`)
		trustPay(t, p, id, jwt, "4111111111111111", "")
		got := p.waitFor(id, 60*time.Second, "captured")
		if got["provider_reference"] == nil {
			t.Fatalf("reconciled payment has no provider_reference: %v", got)
		}
		events := p.mustCall("GET", "/v1/payments/"+id+"/events", "", 200)["data"].([]any)
		var seen []string
		for _, e := range events {
			seen = append(seen, e.(map[string]any)["type"].(string))
		}
		if !strings.Contains(strings.Join(seen, " "), "payment.requires_action payment.captured") {
			t.Errorf("events %v, want requires_action then captured", seen)
		}
	})

	t.Run("live site configured as README shows", func(t *testing.T) {
		p.mustCall("POST", "/v1/accounts", `{"id": "trustpayments-live", "connector": "trustpayments", "environment": "live",
			"settings": {"site_reference": "site12345", "jwt_username": "jwt@shop.example", "jwt_algorithm": "HS256", "webservices_username": "ws@shop.example"},
			"credentials": {"jwt_secret": "s3cret-live-jwt", "webservices_password": "s3cret-live-ws"}}`, 201)
		if status, m := p.call("POST", "/v1/accounts", `{"id": "trustpayments-bad", "connector": "trustpayments", "environment": "live",
			"settings": {"site_reference": "test_site12345", "jwt_username": "jwt@shop.example", "webservices_username": "ws@shop.example"},
			"credentials": {"jwt_secret": "x", "webservices_password": "y"}}`); status != 400 || m["error"].(map[string]any)["param"] != "settings.site_reference" {
			t.Errorf("a live account with a test site: %d %v", status, m)
		}
		id, jwt := trustCheckout(t, p, `{"amount":1234,"currency":"EUR","connector":"trustpayments","account":"trustpayments-live"}`)
		if _, err := tp.Verify(jwt, tp.VerifyOptions{Alg: tp.HS256, Secret: []byte("s3cret-live-jwt"), Now: time.Now(), MaxAge: time.Hour}); err != nil {
			t.Fatalf("the live request JWT does not verify with the site's secret: %v", err)
		}
		if pl := jwtClaims(t, jwt); pl["iss"] != "jwt@shop.example" || pl["payload"].(map[string]any)["sitereference"] != "site12345" {
			t.Fatalf("live request JWT claims %v", pl)
		}
		res, err := http.Get(p.URL + "/pay/" + id)
		if err != nil {
			t.Fatal(err)
		}
		html, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(html), `src="https://webservices.securetrading.net/js/v3/st.js"`) || strings.Contains(string(html), "Sandbox:") {
			t.Fatalf("the live checkout does not load Trust Payments' st.js:\n%s", html)
		}
		if strings.Contains(string(html), "s3cret") {
			t.Fatal("a secret is on the checkout page")
		}
	})

	t.Run("ledger agrees", func(t *testing.T) { trustLedgerAgrees(t, p) })
}

// trustLedgerAgrees compares every Trust Payments payment Tender holds with
// what the simulator's Webservices API reports for it: exactly one live
// (not cancelled) approved AUTH per paid payment, none for a failed or
// cancelled one, the captured amount equal to the AUTH's settle amount, and
// refunds adding up.
func trustLedgerAgrees(t *testing.T, p *tenderProc) {
	t.Helper()
	_, wsPassword := sandboxTrustKeys(t, p)
	ws := &tp.WSClient{URL: p.SimURL + "/sim/trustpayments/json/", Username: tpsim.SandboxWSUser, Password: wsPassword}
	records, err := ws.Query(context.Background(), map[string]string{"sitereference": tpsim.SandboxSite})
	if err != nil {
		t.Fatal(err)
	}
	auths := map[string][]tp.Result{} // by orderreference
	refunds := map[string]int64{}     // by parent
	for _, r := range records {
		if r.Get("errorcode") != "0" {
			continue
		}
		switch r.Get("requesttypedescription") {
		case "AUTH":
			auths[r.Get("orderreference")] = append(auths[r.Get("orderreference")], r)
		case "REFUND":
			n, _ := strconv.ParseInt(r.Get("baseamount"), 10, 64)
			refunds[r.Get("parenttransactionreference")] += n
		}
	}
	list := p.mustCall("GET", "/v1/payments?connector=trustpayments&limit=100", "", 200)["data"].([]any)
	if len(list) < 10 {
		t.Fatalf("only %d payments listed", len(list))
	}
	for _, x := range list {
		pay := x.(map[string]any)
		id, status := pay["id"].(string), pay["status"].(string)
		// An AUTH cancelled at Trust Payments (settlestatus 3) moves no
		// money: a cancelled payment's, or a duplicate that was voided.
		var live []tp.Result
		for _, r := range auths[id] {
			if r.Get("settlestatus") != "3" {
				live = append(live, r)
			}
		}
		delete(auths, id)
		switch status {
		case "requires_action", "failed", "canceled":
			if len(live) != 0 {
				t.Errorf("%s is %s at Tender but has %d live AUTHs at Trust Payments", id, status, len(live))
			}
			continue
		}
		if len(live) != 1 {
			t.Errorf("%s is %s at Tender and has %d live AUTHs at Trust Payments", id, status, len(live))
			continue
		}
		auth := live[0]
		if auth.Get("transactionreference") != pay["provider_reference"] || auth.Get("baseamount") != strconv.FormatInt(int64(pay["amount"].(float64)), 10) {
			t.Errorf("%s: AUTH %v does not match %v", id, auth.Fields, pay)
		}
		settle := "0"
		if status == "authorized" {
			settle = "2"
		} else if got := auth.Get("settlebaseamount"); got != strconv.FormatInt(int64(pay["captured_amount"].(float64)), 10) {
			t.Errorf("%s: Tender captured %v, Trust Payments settles %s", id, pay["captured_amount"], got)
		}
		if auth.Get("settlestatus") != settle {
			t.Errorf("%s is %s but its AUTH has settlestatus %s", id, status, auth.Get("settlestatus"))
		}
		if got := refunds[auth.Get("transactionreference")]; got != int64(pay["refunded_amount"].(float64)) {
			t.Errorf("%s: Tender refunded %v, Trust Payments %d", id, pay["refunded_amount"], got)
		}
	}
	for order, a := range auths {
		t.Errorf("Trust Payments has %d approved AUTHs for %s, which Tender does not list", len(a), order)
	}
	cancelled := 0
	for _, r := range records {
		if r.Get("requesttypedescription") == "AUTH" && r.Get("errorcode") == "0" && r.Get("settlestatus") == "3" {
			cancelled++
		}
	}
	if cancelled == 0 {
		t.Error("no cancelled AUTH in the ledger: the canceled payment's AUTH should be there with settlestatus 3")
	}
}

// attemptFailed waits until a payment that stays requires_action carries
// the failure of its last attempt, and checks the attempt's event.
func attemptFailed(t *testing.T, p *tenderProc, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := p.mustCall("GET", "/v1/payments/"+id, "", 200)
		if got["status"] != "requires_action" {
			t.Fatalf("after a failed attempt the payment is %v, want requires_action: %v", got["status"], got)
		}
		if got["failure"] != nil {
			events := p.mustCall("GET", "/v1/payments/"+id+"/events", "", 200)
			found := false
			for _, e := range events["data"].([]any) {
				found = found || e.(map[string]any)["type"] == "payment.attempt_failed"
			}
			if !found {
				t.Errorf("no payment.attempt_failed event: %v", events)
			}
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed attempt on %s after 30s: %v", id, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
