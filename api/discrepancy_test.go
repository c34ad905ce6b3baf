package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestResolveDiscrepancy: a captured payment that the provider then
// reports failed is flagged; the flag is cleared with a note (kept in the
// events) and the payment stays captured; bad notes name the field.
func TestResolveDiscrepancy(t *testing.T) {
	e := newEnv(t)
	id := e.mustDo("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","connector":"testpay"}`, 201)["id"].(string)
	if r := e.do("POST", "/v1/payments/"+id+"/resolve_discrepancy", `{"note":"looked"}`); r.status != 409 {
		t.Fatalf("resolving without a discrepancy: %d %s", r.status, r.body)
	}
	for _, st := range []string{"captured", "failed"} {
		if r := e.do("POST", "/callbacks/testpay/tp1/notify", `{"ref":"`+id+`","status":"`+st+`"}`, "X-Sig", "s3cret"); r.status != 200 {
			t.Fatalf("callback %s: %d %s", st, r.status, r.body)
		}
	}
	p := e.mustDo("GET", "/v1/payments/"+id, "", 200)
	if p["status"] != "captured" || p["discrepancy"] == nil {
		t.Fatalf("a failed report for a captured payment: %v", p)
	}
	if r := e.do("POST", "/v1/payments/"+id+"/resolve_discrepancy", `{}`); r.status != 400 || !strings.Contains(string(r.body), `"param":"note"`) {
		t.Fatalf("no note: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/payments/"+id+"/resolve_discrepancy", `{"note":"x","amount":1}`); r.status != 400 {
		t.Fatalf("unknown field: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/payments/"+id+"/resolve_discrepancy", `{"note":"x","status":"refunded"}`); r.status != 400 || !strings.Contains(string(r.body), `"param":"status"`) {
		t.Fatalf("a status a person may not set: %d %s", r.status, r.body)
	}
	// A settled payment keeps what the provider reported: a status set by
	// hand is only for a payment in doubt (engine.TestSettleInDoubtByHand).
	if r := e.do("POST", "/v1/payments/"+id+"/resolve_discrepancy", `{"note":"x","status":"failed"}`); r.status != 409 || !strings.Contains(string(r.body), "in doubt") {
		t.Fatalf("a status for a settled payment: %d %s", r.status, r.body)
	}
	got := e.mustDo("POST", "/v1/payments/"+id+"/resolve_discrepancy", `{"note":"checked with the bank: paid"}`, 200)
	if got["status"] != "captured" || got["discrepancy"] != nil {
		t.Fatalf("after resolving: %v", got)
	}
	evs := e.mustDo("GET", "/v1/payments/"+id+"/events", "", 200)["data"].([]any)
	last := evs[len(evs)-1].(map[string]any)
	if last["type"] != "payment.discrepancy_resolved" || !strings.Contains(string(marshal(t, last["data"])), "checked with the bank") {
		t.Fatalf("last event: %v", last)
	}
	if r := e.do("POST", "/v1/payments/nope/resolve_discrepancy", `{"note":"x"}`); r.status != 404 {
		t.Fatalf("missing payment: %d", r.status)
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
