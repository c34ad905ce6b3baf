package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

func TestWebhookEndpoints(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	body := `{"url":"https://shop.example/tender/hooks","description":"orders"}`
	r := e.do("POST", "/v1/webhook_endpoints", body, "Idempotency-Key", "hook-1")
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	created := r.json(t)
	id, _ := created["id"].(string)
	secret, _ := created["secret"].(string)
	if !strings.HasPrefix(id, "we") || created["object"] != "webhook_endpoint" || created["url"] != "https://shop.example/tender/hooks" ||
		created["description"] != "orders" || !strings.HasPrefix(secret, "whsec_") || len(secret) < 40 {
		t.Fatalf("created endpoint %s", r.body)
	}
	if events := created["events"].([]any); len(events) != len(engine.WebhookEventTypes) {
		t.Errorf("default events %v, want all %d payment events", events, len(engine.WebhookEventTypes))
	}

	// The secret is shown once: never by GET or list.
	for _, path := range []string{"/v1/webhook_endpoints/" + id, "/v1/webhook_endpoints"} {
		r := e.do("GET", path, "")
		if r.status != 200 || strings.Contains(string(r.body), secret) || strings.Contains(string(r.body), `"secret"`) || !strings.Contains(string(r.body), id) {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	list := e.mustDo("GET", "/v1/webhook_endpoints", "", 200)
	if list["object"] != "list" || len(list["data"].([]any)) != 1 || list["has_more"] != false {
		t.Errorf("list %v", list)
	}

	// A retry of the creating request answers the same, secret included,
	// while the remembered response does not hold the secret.
	again := e.do("POST", "/v1/webhook_endpoints", body, "Idempotency-Key", "hook-1")
	if again.status != 201 || again.header.Get("Idempotent-Replayed") != "true" || again.json(t)["id"] != id || again.json(t)["secret"] != secret {
		t.Errorf("replay: %d %s", again.status, again.body)
	}
	k, err := e.eng.Authenticate(ctx, e.key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rec, err := e.eng.Store().ReserveIdempotency(ctx, &tender.IdempotencyRecord{Scope: k.ID, Key: "hook-1", RequestHash: "probe", CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil || rec == nil || !rec.Done || strings.Contains(string(rec.Body), secret) {
		t.Errorf("stored idempotent response %v, %v: want done and without the secret", rec, err)
	}
	if r := e.do("POST", "/v1/webhook_endpoints", `{"url":"https://shop.example/other"}`, "Idempotency-Key", "hook-1"); r.status != 422 {
		t.Errorf("same key, other body: %d %s", r.status, r.body)
	}
	stored, _ := e.eng.Store().GetWebhookEndpoint(ctx, id)
	if strings.Contains(string(stored.Sealed), secret) || len(stored.Sealed) == 0 {
		t.Error("the secret is not sealed at rest")
	}

	// Deliveries are queued with the events of a payment.
	subscribed := e.mustDo("POST", "/v1/webhook_endpoints", `{"url":"https://shop.example/captured","events":["payment.captured"]}`, 201)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","terminal":"till-1"}`, 201)
	ds := e.mustDo("GET", "/v1/webhook_endpoints/"+id+"/deliveries", "", 200)["data"].([]any)
	if len(ds) != 2 {
		t.Fatalf("deliveries %v, want payment.created and payment.processing", ds)
	}
	newest := ds[0].(map[string]any)
	if newest["object"] != "webhook_delivery" || newest["type"] != "payment.processing" || newest["payment"] != p["id"] ||
		newest["status"] != "pending" || newest["attempts"] != 0.0 || newest["next_attempt_at"] == nil || newest["last_status_code"] != nil {
		t.Errorf("delivery %v", newest)
	}
	page := e.mustDo("GET", "/v1/webhook_endpoints/"+id+"/deliveries?limit=1", "", 200)
	if len(page["data"].([]any)) != 1 || page["has_more"] != true {
		t.Errorf("limit=1: %v", page)
	}
	next := e.mustDo("GET", fmt.Sprintf("/v1/webhook_endpoints/%s/deliveries?limit=1&starting_after=%d", id, int64(newest["id"].(float64))), "", 200)
	if d := next["data"].([]any); len(d) != 1 || d[0].(map[string]any)["type"] != "payment.created" {
		t.Errorf("next page: %v", next)
	}
	if ds := e.mustDo("GET", "/v1/webhook_endpoints/"+subscribed["id"].(string)+"/deliveries", "", 200)["data"].([]any); len(ds) != 0 {
		t.Errorf("endpoint of payment.captured has deliveries %v", ds)
	}

	// Deleted: gone from the API; nothing more queued for it.
	del := e.mustDo("DELETE", "/v1/webhook_endpoints/"+id, "", 200)
	if del["deleted"] != true || del["id"] != id {
		t.Errorf("delete: %v", del)
	}
	for _, path := range []string{"/v1/webhook_endpoints/" + id, "/v1/webhook_endpoints/" + id + "/deliveries"} {
		if r := e.do("GET", path, ""); r.status != 404 {
			t.Errorf("GET %s after delete: %d %s", path, r.status, r.body)
		}
	}
	if r := e.do("DELETE", "/v1/webhook_endpoints/"+id, ""); r.status != 404 {
		t.Errorf("delete again: %d", r.status)
	}
	if n := len(e.mustDo("GET", "/v1/webhook_endpoints", "", 200)["data"].([]any)); n != 1 {
		t.Errorf("%d endpoints listed after delete, want 1", n)
	}
}

func TestWebhookEndpointErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		body, param, msg string
	}{
		{`{}`, "url", "url is required"},
		{`{"url":"http://shop.example/hooks"}`, "url", "https"},
		{`{"url":"https://u:hunter2@shop.example/hooks"}`, "url", "user name or password"},
		{`{"url":"https://shop.example/hooks","events":[]}`, "events", "at least one"},
		{`{"url":"https://shop.example/hooks","events":["payment.shipped"]}`, "events", `"payment.shipped"`},
		{`{"url":"https://shop.example/hooks","events":"payment.captured"}`, "events", "events must be"},
		{`{"url":"https://shop.example/hooks","secret":"mine"}`, "secret", "unknown field"},
		{`{"url":"https://shop.example/hooks","description":"` + strings.Repeat("x", 201) + `"}`, "description", "at most 200"},
	}
	for _, tt := range tests {
		r := e.do("POST", "/v1/webhook_endpoints", tt.body)
		if r.status != 400 {
			t.Errorf("%s: %d %s", tt.body, r.status, r.body)
			continue
		}
		er := r.json(t)["error"].(map[string]any)
		if er["param"] != tt.param || !strings.Contains(er["message"].(string), tt.msg) || strings.Contains(string(r.body), "hunter2") {
			t.Errorf("%s: error %v, want param %s and a message with %q", tt.body, er, tt.param, tt.msg)
		}
	}
	for _, q := range []string{"limit=0", "limit=x", "starting_after=abc"} {
		if r := e.do("GET", "/v1/webhook_endpoints/we-x/deliveries?"+q, ""); r.status != 400 {
			t.Errorf("deliveries?%s: %d %s", q, r.status, r.body)
		}
	}
	if r := e.do("GET", "/v1/webhook_endpoints/we-missing", ""); r.status != 404 {
		t.Errorf("missing endpoint: %d", r.status)
	}
}
