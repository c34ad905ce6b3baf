package api_test

import "testing"

// TestIdempotencyKeyIsBoundToItsURL: a key reused with the same body on
// another URL (a refund of payment B after one of payment A) is an
// idempotency_error, never a replay of A's answer, and B is not refunded.
func TestIdempotencyKeyIsBoundToItsURL(t *testing.T) {
	e := newEnv(t)
	captured := func() string {
		p := e.mustDo("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","connector":"testpay"}`, 201)
		id := p["id"].(string)
		if r := e.do("POST", "/callbacks/testpay/tp1/notify", `{"ref":"`+id+`","status":"captured"}`, "X-Sig", "s3cret"); r.status != 200 {
			t.Fatalf("callback: %d %s", r.status, r.body)
		}
		return id
	}
	a, b := captured(), captured()
	first := e.mustDo("POST", "/v1/payments/"+a+"/refunds", `{"amount":100}`, 200, "Idempotency-Key", "refund-1")
	if first["id"] != a || first["refunded_amount"].(float64) != 100 {
		t.Fatalf("refund of A: %v", first)
	}
	r := e.do("POST", "/v1/payments/"+b+"/refunds", `{"amount":100}`, "Idempotency-Key", "refund-1")
	if r.status != 422 || r.json(t)["error"].(map[string]any)["type"] != "idempotency_error" {
		t.Fatalf("the key of A's refund on B's refund: %d %s; want 422 idempotency_error", r.status, r.body)
	}
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Fatal("B's refund was answered with a replay")
	}
	if got := e.mustDo("GET", "/v1/payments/"+b, "", 200); got["refunded_amount"].(float64) != 0 {
		t.Fatalf("B was refunded %v", got["refunded_amount"])
	}
	// The same request on the same URL is still a replay.
	again := e.do("POST", "/v1/payments/"+a+"/refunds", `{"amount":100}`, "Idempotency-Key", "refund-1")
	if again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry of A's refund: %d %s, replayed %q", again.status, again.body, again.header.Get("Idempotent-Replayed"))
	}
	if e.conn.refunds.Load() != 1 {
		t.Fatalf("the provider saw %d refunds, want 1", e.conn.refunds.Load())
	}
}

// A replayed create answers with the payment as it is now: a POS that
// retries after its terminal payment was answered processing learns that
// it is captured, from the same key, with nothing sent again.
func TestReplayAnswersThePaymentAsItIsNow(t *testing.T) {
	e := newEnv(t)
	body := `{"amount":1050,"currency":"EUR","terminal":"till-1"}`
	first := e.mustDo("POST", "/v1/payments", body, 201, "Idempotency-Key", "till-1-sale-7")
	id := first["id"].(string)
	if first["status"] != "processing" {
		t.Fatalf("first answer: %v", first)
	}
	if cb := e.do("POST", "/callbacks/testpay/tp1/notify", `{"ref":"T-`+id+`","status":"captured"}`, "X-Sig", "s3cret"); cb.status != 200 {
		t.Fatalf("callback: %d", cb.status)
	}
	again := e.do("POST", "/v1/payments", body, "Idempotency-Key", "till-1-sale-7")
	got := again.json(t)
	if again.status != 201 || again.header.Get("Idempotent-Replayed") != "true" || got["id"] != id || got["status"] != "captured" {
		t.Fatalf("replay: %d %v (replayed %q)", again.status, got, again.header.Get("Idempotent-Replayed"))
	}
	if n := e.conn.starts.Load(); n != 1 {
		t.Fatalf("%d starts, want 1", n)
	}
	// A replayed refusal stays the refusal it was.
	r1 := e.do("POST", "/v1/payments", `{"amount":1099,"currency":"EUR","connector":"testpay"}`, "Idempotency-Key", "k-refused-now")
	r2 := e.do("POST", "/v1/payments", `{"amount":1099,"currency":"EUR","connector":"testpay"}`, "Idempotency-Key", "k-refused-now")
	if r1.status < 400 || r2.status != r1.status || string(r2.body) != string(r1.body) {
		t.Fatalf("refusal %d %s, replayed as %d %s", r1.status, r1.body, r2.status, r2.body)
	}
}
