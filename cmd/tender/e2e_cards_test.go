package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/client"
	tpsim "github.com/tenderpay/tender/trustpayments/sim"
)

// simControl calls the Trust Payments simulator's test control (outside
// the gateway's protocol) and decodes its answer into out.
func simControl(t *testing.T, p *tenderProc, method, path, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, p.SimURL+"/sim/trustpayments/_sim/"+path, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("simulator control %s: %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// TestSavedCardsThroughAPI saves cards at a Trust Payments checkout,
// charges them off-session (also with the answer lost), verifies a card
// for 0, detaches one, and lets the gateway run a subscription whose
// charges reach Tender by discovery; at the end the simulator's ledger
// agrees with Tender's records, payment by payment.
func TestSavedCardsThroughAPI(t *testing.T) {
	t.Parallel()
	p := startTender(t, "--subscription-interval", "300ms")
	const customer = "cust-42"

	// A checkout that saves the card: the JWT stores the credential.
	id, jwt := trustCheckout(t, p, `{"amount":1500,"currency":"GBP","connector":"trustpayments","customer":"`+customer+`","setup_future_usage":"off_session"}`)
	payload := jwtClaims(t, jwt)["payload"].(map[string]any)
	if payload["credentialsonfile"] != "1" {
		t.Fatalf("checkout JWT payload %v lacks credentialsonfile 1", payload)
	}
	trustPay(t, p, id, jwt, "4111111111111111", "")
	first := p.waitFor(id, 30*time.Second, "captured")
	pm, _ := first["payment_method"].(string)
	if !strings.HasPrefix(pm, "pm") || first["customer"] != customer {
		t.Fatalf("saving payment %v has no payment_method of %s", first, customer)
	}
	list := p.mustCall("GET", "/v1/payment_methods?customer="+customer, "", 200)["data"].([]any)
	if len(list) != 1 {
		t.Fatalf("payment methods of %s: %v", customer, list)
	}
	m := list[0].(map[string]any)
	c := m["card"].(map[string]any)
	if m["id"] != pm || c["brand"] != "VISA" || c["masked_pan"] != "411111######1111" || m["provider_reference"] != first["provider_reference"] || m["payment"] != id {
		t.Errorf("payment method %v", m)
	}
	if b, _ := json.Marshal(m); strings.Contains(string(b), "4111111111111111") {
		t.Fatal("the card number is on the payment method")
	}
	if other := p.mustCall("GET", "/v1/payment_methods?customer=someone-else", "", 200)["data"].([]any); len(other) != 0 {
		t.Errorf("another customer's list shows %v", other)
	}
	// The typed client reads the same.
	cl := client.New(p.URL, p.Key)
	if got, err := cl.GetPaymentMethod(context.Background(), pm); err != nil || got.Customer != customer || got.Card.Brand == nil || *got.Card.Brand != "VISA" || got.DetachedAt != nil {
		t.Errorf("client GetPaymentMethod: %+v, %v", got, err)
	}
	if l, err := cl.ListPaymentMethods(context.Background(), client.ListPaymentMethods{Customer: customer}); err != nil || len(l.Data) != 1 {
		t.Errorf("client ListPaymentMethods: %+v, %v", l, err)
	}

	// Off-session charges through the Webservices API.
	charge := func(amount string, key string) (int, map[string]any) {
		return p.call("POST", "/v1/payments", `{"amount":`+amount+`,"currency":"GBP","payment_method":"`+pm+`","off_session":true}`, "Idempotency-Key", key)
	}
	st, mit := charge("2500", "mit-1")
	if st != 201 || mit["status"] != "captured" || mit["off_session"] != true || mit["payment_method"] != pm || mit["next_action"] != nil {
		t.Fatalf("off-session charge: %d %v", st, mit)
	}
	if st, again := charge("2500", "mit-1"); st != 201 || again["id"] != mit["id"] {
		t.Errorf("retried charge answered %d %v, want the same payment", st, again)
	}
	st, declined := charge("2551", "mit-2")
	if st == 201 {
		t.Fatalf("declined charge answered 201: %v", declined)
	}
	// The answer of this one is lost (sandbox rule 55): in doubt, then
	// reconciled by TRANSACTIONQUERY, charged once.
	st, lost := charge("2555", "mit-3")
	if st != 201 || lost["status"] != "unknown" {
		t.Fatalf("charge with a lost answer: %d %v, want unknown", st, lost)
	}
	p.waitFor(lost["id"].(string), 30*time.Second, "captured")

	// A saved card can also be verified for 0 (ACCOUNTCHECK).
	vid, vjwt := trustCheckout(t, p, `{"amount":0,"currency":"GBP","connector":"trustpayments","customer":"`+customer+`","setup_future_usage":"off_session"}`)
	if types := jwtClaims(t, vjwt)["payload"].(map[string]any)["requesttypedescriptions"]; !strings.Contains(strings.Join(toStrings(types), ","), "ACCOUNTCHECK") {
		t.Fatalf("verify-only JWT request types %v", types)
	}
	trustPay(t, p, vid, vjwt, "5200000000001005", "")
	verified := p.waitFor(vid, 30*time.Second, "captured")
	if verified["captured_amount"].(float64) != 0 || verified["payment_method"] == nil {
		t.Fatalf("verify-only payment %v", verified)
	}
	vpm := verified["payment_method"].(string)
	if n := len(p.mustCall("GET", "/v1/payment_methods?customer="+customer, "", 200)["data"].([]any)); n != 2 {
		t.Errorf("%d payment methods after verifying a second card, want 2", n)
	}
	// Detached, it is not charged.
	d := p.mustCall("POST", "/v1/payment_methods/"+vpm+"/detach", "", 200)
	if d["detached_at"] == nil {
		t.Errorf("detached method %v", d)
	}
	if st, r := p.call("POST", "/v1/payments", `{"amount":700,"currency":"GBP","payment_method":"`+vpm+`","off_session":true}`); st != 400 || !strings.Contains(r["error"].(map[string]any)["message"].(string), "detached") {
		t.Errorf("charge of a detached method: %d %v", st, r)
	}

	// A subscription the gateway runs: the first payment, then two charges
	// the gateway makes on its schedule, found by discovery.
	sid, sjwt := trustCheckout(t, p, `{"amount":999,"currency":"GBP","connector":"trustpayments","customer":"`+customer+`","setup_future_usage":"off_session",
		"subscription":{"type":"recurring","unit":"month","frequency":1,"final_number":3}}`)
	sp := jwtClaims(t, sjwt)["payload"].(map[string]any)
	if sp["subscriptiontype"] != "RECURRING" || sp["subscriptionunit"] != "MONTH" || sp["subscriptionfinalnumber"] != "3" {
		t.Fatalf("subscription JWT payload %v", sp)
	}
	trustPay(t, p, sid, sjwt, "4111111111111111", "")
	p.waitFor(sid, 30*time.Second, "captured")
	for range 3 { // the third run finds the schedule finished
		var ran map[string]int
		simControl(t, p, "POST", "subscriptions/run", `{"next":true}`, &ran)
	}
	var charges []map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		charges = nil
		for _, x := range p.mustCall("GET", "/v1/payments?connector=trustpayments&limit=100", "", 200)["data"].([]any) {
			q := x.(map[string]any)
			if s, _ := q["subscription"].(map[string]any); s != nil && s["parent"] == sid {
				charges = append(charges, q)
			}
		}
		s := p.mustCall("GET", "/v1/payments/"+sid, "", 200)["subscription"].(map[string]any)
		if len(charges) == 2 && s["active"] != true {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(charges) != 2 {
		t.Fatalf("%d subscription charges reached Tender, want 2", len(charges))
	}
	numbers := map[float64]bool{}
	for _, q := range charges {
		s := q["subscription"].(map[string]any)
		numbers[s["number"].(float64)] = true
		if q["status"] != "captured" || q["amount"].(float64) != 999 || q["customer"] != customer || q["off_session"] != true {
			t.Errorf("subscription charge %v", q)
		}
		ev := p.mustCall("GET", "/v1/payments/"+q["id"].(string)+"/events", "", 200)["data"].([]any)
		if len(ev) != 2 || ev[0].(map[string]any)["type"] != "payment.created" || ev[1].(map[string]any)["type"] != "payment.captured" {
			t.Errorf("subscription charge events %v", ev)
		}
	}
	if !numbers[2] || !numbers[3] {
		t.Errorf("subscription charge numbers %v, want 2 and 3", numbers)
	}
	if s := p.mustCall("GET", "/v1/payments/"+sid, "", 200)["subscription"].(map[string]any); s["active"] == true {
		t.Errorf("finished subscription still followed: %v", s)
	}

	cardsLedgerAgrees(t, p, sid)
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// cardsLedgerAgrees compares the simulator's ledger (Money, per
// orderreference) with every Trust Payments payment Tender holds: one
// approved AUTH per payment that took money, none for one that did not,
// the captured amounts equal; the subscription's charges, at the gateway
// under the first payment's orderreference, equal to Tender's payments of
// that subscription.
func cardsLedgerAgrees(t *testing.T, p *tenderProc, sub string) {
	t.Helper()
	var money map[string]tpsim.Money
	simControl(t, p, "GET", "money", "", &money)
	var instalments int
	var instalmentsCaptured int64
	seen := map[string]bool{}
	for _, x := range p.mustCall("GET", "/v1/payments?connector=trustpayments&limit=100", "", 200)["data"].([]any) {
		q := x.(map[string]any)
		id, status := q["id"].(string), q["status"].(string)
		if s, _ := q["subscription"].(map[string]any); s != nil && s["parent"] != nil {
			instalments++
			instalmentsCaptured += int64(q["captured_amount"].(float64))
			continue
		}
		seen[id] = true
		m := money[id]
		wantAuths := 0
		if q["amount"].(float64) > 0 && (status == "captured" || status == "authorized") {
			wantAuths = 1
		}
		if m.Authorized != wantAuths || m.Captured != int64(q["captured_amount"].(float64)) {
			t.Errorf("%s is %s (captured %v) at Tender; the gateway has %d AUTHs settling %d", id, status, q["captured_amount"], m.Authorized, m.Captured)
		}
	}
	if m := money[sub]; m.Instalments != instalments || m.InstalmentsCaptured != instalmentsCaptured || instalments == 0 {
		t.Errorf("subscription %s: the gateway charged %d (%d), Tender has %d payments (%d)", sub, m.Instalments, m.InstalmentsCaptured, instalments, instalmentsCaptured)
	}
	for order, m := range money {
		if !seen[order] && (m.Authorized > 0 || m.Instalments > 0) {
			t.Errorf("the gateway has AUTHs for %s, which Tender does not list: %+v", order, m)
		}
	}
}
