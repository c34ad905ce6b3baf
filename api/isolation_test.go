package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/engine"
	"github.com/tenderpay/tender/postgres"
	"github.com/tenderpay/tender/seal"
)

// openPostgres returns a store on a schema of the test's own on the
// server TENDER_TEST_POSTGRES names, or skips.
func openPostgres(t *testing.T) tender.Store {
	t.Helper()
	dsn := os.Getenv("TENDER_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("PostgreSQL tests skipped: set TENDER_TEST_POSTGRES")
	}
	ctx := context.Background()
	var b [8]byte
	rand.Read(b[:])
	schema := "tender_api_" + hex.EncodeToString(b[:])
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("TENDER_TEST_POSTGRES is set but PostgreSQL is unreachable: %v", err)
	}
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	admin.Close(ctx)
	t.Cleanup(func() {
		admin, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return
		}
		defer admin.Close(context.Background())
		admin.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
	})
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	db, err := postgres.OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// stores runs fn on SQLite and on PostgreSQL.
func stores(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newEnv(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newEnvStore(t, openPostgres(t))) })
}

// as returns a copy of e that sends key.
func (e *env) as(key string) *env {
	c := *e
	c.key = key
	return &c
}

// shop is one merchant's objects, made through the API.
type shop struct {
	merchant, key, account, terminal, terminal2, payment, online, captured, endpoint, apiKey string
	delivery                                                                                 string // one of endpoint's deliveries
	method                                                                                   string // a saved card of customer "cust-1"
}

// newShop creates merchant id with a platform key: an account, two
// terminals, a merchant key, a webhook endpoint and three payments
// (processing on a terminal, requires_action online, captured).
func newShop(e *env, id string) shop {
	e.t.Helper()
	s := shop{merchant: id, account: "acct-" + id, terminal: "till-" + id, terminal2: "till2-" + id}
	e.mustDo("POST", "/v1/merchants", `{"id":"`+id+`","name":"Shop `+id+`","country":"NL"}`, 201)
	h := []string{"Tender-Merchant", id}
	e.mustDo("POST", "/v1/accounts", `{"id":"`+s.account+`","connector":"testpay","credentials":{"secret":"s3cret"}}`, 201, h...)
	e.mustDo("POST", "/v1/terminals", `{"id":"`+s.terminal+`","account":"`+s.account+`","provider_id":"P1"}`, 201, h...)
	e.mustDo("POST", "/v1/terminals", `{"id":"`+s.terminal2+`","account":"`+s.account+`","provider_id":"P2"}`, 201, h...)
	k := e.mustDo("POST", "/v1/api_keys", `{"name":"back office","scope":"merchant","merchant":"`+id+`"}`, 201)
	s.key, s.apiKey = k["secret"].(string), k["id"].(string)
	m := e.as(s.key)
	s.endpoint = m.mustDo("POST", "/v1/webhook_endpoints", `{"url":"https://`+id+`.example/hooks"}`, 201)["id"].(string)
	s.payment = m.mustDo("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","terminal":"`+s.terminal+`"}`, 201)["id"].(string)
	s.online = m.mustDo("POST", "/v1/payments", `{"amount":1100,"currency":"EUR","connector":"testpay","capture":"manual"}`, 201)["id"].(string)
	s.captured = m.mustDo("POST", "/v1/payments", `{"amount":1200,"currency":"EUR","connector":"testpay"}`, 201)["id"].(string)
	cb := e.do("POST", "/callbacks/testpay/"+s.account+"/notify", `{"ref":"`+s.captured+`","status":"captured"}`, "X-Sig", "s3cret")
	if cb.status != 200 {
		e.t.Fatalf("callback: %d %s", cb.status, cb.body)
	}
	ds := m.mustDo("GET", "/v1/webhook_endpoints/"+s.endpoint+"/deliveries", "", 200)["data"].([]any)
	if len(ds) == 0 {
		e.t.Fatalf("endpoint %s of %s has no deliveries", s.endpoint, id)
	}
	s.delivery = fmt.Sprint(ds[0].(map[string]any)["id"])
	// A saved card, as an update of the captured payment stores it (the
	// test connector saves none itself).
	p, err := e.store.GetPayment(context.Background(), s.captured)
	if err != nil {
		e.t.Fatal(err)
	}
	s.method = "pm_" + strings.ReplaceAll(id, "_", "")
	p.SavedMethod = &tender.PaymentMethod{ID: s.method, Merchant: id, Customer: "cust-1", Connector: "testpay", Account: s.account,
		ProviderReference: "ref-" + id, Payment: p.ID, Brand: "VISA", MaskedPAN: "411111######1111", CreatedAt: time.Now()}
	// ... and the first payment of a subscription Tender follows.
	p.Subscription = &tender.Subscription{Type: "recurring", Unit: "month", Frequency: 1, Number: 1, Active: true}
	if err := e.store.UpdatePayment(context.Background(), p); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// idRoutes are the API's routes that name an object in their path, with
// the object of merchant b that the test puts there.
func idRoutes(b shop) map[string]string {
	return map[string]string{
		"GET /v1/payments/{id}":                                       "/v1/payments/" + b.payment,
		"POST /v1/payments/{id}/cancel":                               "/v1/payments/" + b.online + "/cancel",
		"POST /v1/payments/{id}/capture":                              "/v1/payments/" + b.online + "/capture",
		"POST /v1/payments/{id}/refunds":                              "/v1/payments/" + b.captured + "/refunds",
		"GET /v1/payments/{id}/events":                                "/v1/payments/" + b.payment + "/events",
		"POST /v1/payments/{id}/resolve_discrepancy":                  "/v1/payments/" + b.captured + "/resolve_discrepancy",
		"POST /v1/payments/{id}/subscription/pause":                   "/v1/payments/" + b.captured + "/subscription/pause",
		"POST /v1/payments/{id}/subscription/resume":                  "/v1/payments/" + b.captured + "/subscription/resume",
		"GET /v1/payment_methods/{id}":                                "/v1/payment_methods/" + b.method,
		"POST /v1/payment_methods/{id}/detach":                        "/v1/payment_methods/" + b.method + "/detach",
		"GET /v1/terminals/{id}":                                      "/v1/terminals/" + b.terminal,
		"POST /v1/terminals/{id}":                                     "/v1/terminals/" + b.terminal,
		"GET /v1/accounts/{id}":                                       "/v1/accounts/" + b.account,
		"POST /v1/accounts/{id}":                                      "/v1/accounts/" + b.account,
		"GET /v1/webhook_endpoints/{id}":                              "/v1/webhook_endpoints/" + b.endpoint,
		"DELETE /v1/webhook_endpoints/{id}":                           "/v1/webhook_endpoints/" + b.endpoint,
		"GET /v1/webhook_endpoints/{id}/deliveries":                   "/v1/webhook_endpoints/" + b.endpoint + "/deliveries",
		"POST /v1/webhook_endpoints/{id}/roll_secret":                 "/v1/webhook_endpoints/" + b.endpoint + "/roll_secret",
		"POST /v1/webhook_endpoints/{id}/deliveries/{delivery}/retry": "/v1/webhook_endpoints/" + b.endpoint + "/deliveries/" + b.delivery + "/retry",
		"POST /v1/api_keys/{id}/revoke":                               "/v1/api_keys/" + b.apiKey + "/revoke",
		"POST /v1/api_keys/{id}/roll":                                 "/v1/api_keys/" + b.apiKey + "/roll",
		// Platform-only routes: a merchant key gets 403 whatever the id
		// (see TestIsolationScopes), so they are not cross-merchant.
		"GET /v1/merchants/{id}":  "",
		"POST /v1/merchants/{id}": "",
	}
}

// routePatterns reads the API's routes from routes.go, so that a route
// added there without a line in idRoutes fails the suite.
func routePatterns(t *testing.T) []string {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`s\.mux\.Handle\("([A-Z]+ /v1/[^"]*)"`).FindAllSubmatch(src, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// TestIsolation uses merchant A's key (and the platform key acting for A)
// with merchant B's ids on every route that takes an id, and expects 404
// with the words a missing id gets: another merchant's objects do not
// exist for A, and A cannot tell them from missing ones.
func TestIsolation(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		a, b := newShop(e, "mer_a"), newShop(e, "mer_b")
		routes := idRoutes(b)
		for _, pat := range routePatterns(t) {
			if strings.Contains(pat, "{") {
				if _, ok := routes[pat]; !ok {
					t.Errorf("route %s has no isolation case: add it to idRoutes", pat)
				}
			}
		}
		callers := map[string]*env{
			"merchant key":          e.as(a.key),
			"platform key as mer_a": e,
		}
		for who, c := range callers {
			var headers []string
			if who == "platform key as mer_a" {
				headers = []string{"Tender-Merchant", a.merchant}
			}
			for pat, path := range routes {
				if path == "" || (who == "platform key as mer_a" && strings.Contains(pat, "api_keys")) {
					continue // a platform key manages every key
				}
				method := strings.Fields(pat)[0]
				body := ""
				if method == "POST" {
					body = "{}"
				}
				r := c.do(method, path, body, headers...)
				if r.status != 404 {
					t.Errorf("%s: %s %s with B's id: %d, want 404: %s", who, method, path, r.status, r.body)
					continue
				}
				// The same answer as for an id that does not exist.
				id := strings.Split(strings.TrimPrefix(path, "/v1/"), "/")[1]
				missing := c.do(method, strings.Replace(path, id, "zz-missing", 1), body, headers...)
				if missing.status != 404 || !bytes.Equal(msg(t, r), bytes.ReplaceAll(msg(t, missing), []byte("zz-missing"), []byte(id))) {
					t.Errorf("%s: %s %s: B's id answers %s, a missing id %s", who, method, path, r.body, missing.body)
				}
			}
			// Ids in bodies and queries: B's are as unknown as made-up ones.
			for _, q := range []struct{ method, path, body, other string }{
				{"POST", "/v1/payments", `{"amount":100,"currency":"EUR","terminal":"` + b.terminal + `"}`, `{"amount":100,"currency":"EUR","terminal":"zz-missing"}`},
				{"POST", "/v1/payments", `{"amount":100,"currency":"EUR","connector":"testpay","account":"` + b.account + `"}`, `{"amount":100,"currency":"EUR","connector":"testpay","account":"zz-missing"}`},
				{"POST", "/v1/terminals", `{"id":"t-new","account":"` + b.account + `","provider_id":"X"}`, `{"id":"t-new","account":"zz-missing","provider_id":"X"}`},
				{"GET", "/v1/payments?starting_after=" + b.payment, "", ""},
				{"GET", "/v1/payment_methods?starting_after=" + b.method, "", ""},
				// Charging another merchant's saved card: as unknown as a made-up one.
				{"POST", "/v1/payments", `{"amount":100,"currency":"EUR","payment_method":"` + b.method + `","off_session":true}`, `{"amount":100,"currency":"EUR","payment_method":"zz-missing","off_session":true}`},
			} {
				r := c.do(q.method, q.path, q.body, headers...)
				if r.status != 400 {
					t.Errorf("%s: %s %s %s: %d, want 400: %s", who, q.method, q.path, q.body, r.status, r.body)
				}
				if q.other != "" {
					o := c.do(q.method, q.path, q.other, headers...)
					id := b.terminal
					if strings.Contains(q.body, b.account) {
						id = b.account
					}
					if strings.Contains(q.body, b.method) {
						id = b.method
					}
					if !bytes.Equal(msg(t, r), bytes.ReplaceAll(msg(t, o), []byte("zz-missing"), []byte(id))) {
						t.Errorf("%s: %s %s: B's id answers %s, a missing id %s", who, q.method, q.path, r.body, o.body)
					}
				}
			}
			// Lists never show another merchant's objects.
			for path, want := range map[string]string{
				"/v1/payments?limit=100": a.payment, "/v1/accounts?limit=100": a.account, "/v1/terminals?limit=100": a.terminal,
				"/v1/webhook_endpoints?limit=100": a.endpoint, "/v1/payment_methods?customer=cust-1": a.method,
			} {
				got := listIDs(c.mustDo("GET", path, "", 200, headers...))
				if !slices.Contains(got, want) {
					t.Errorf("%s: %s lacks A's %s: %v", who, path, want, got)
				}
				for _, other := range []string{b.payment, b.online, b.captured, b.account, b.terminal, b.endpoint, b.method, "tp1", "till-1"} {
					if slices.Contains(got, other) {
						t.Errorf("%s: %s shows %s of another merchant", who, path, other)
					}
				}
			}
		}
		// The end of day shows A's money only; B's terminal is as empty as
		// a missing one, and a long-poll of B's terminal is not found.
		today := time.Now().UTC().Format(time.DateOnly)
		for who, c := range callers {
			var headers []string
			if who == "platform key as mer_a" {
				headers = []string{"Tender-Merchant", a.merchant}
			}
			rows := c.mustDo("GET", "/v1/reports/daily?date="+today, "", 200, headers...)["rows"].([]any)
			if len(rows) != 1 || rows[0].(map[string]any)["gross"].(float64) != 1200 {
				t.Errorf("%s: A's end of day: %v, want A's one capture of 1200", who, rows)
			}
			for _, term := range []string{b.terminal, "zz-missing"} {
				if rows := c.mustDo("GET", "/v1/reports/daily?date="+today+"&terminal="+term, "", 200, headers...)["rows"].([]any); len(rows) != 0 {
					t.Errorf("%s: end of day of terminal %s: %v", who, term, rows)
				}
			}
			if r := c.do("GET", "/v1/terminals/"+b.terminal+"?wait=1s", "", headers...); r.status != 404 {
				t.Errorf("%s: long-poll of B's terminal: %d, want 404: %s", who, r.status, r.body)
			}
		}
		keys := listIDs(e.as(a.key).mustDo("GET", "/v1/api_keys", "", 200))
		if !slices.Equal(keys, []string{a.apiKey}) {
			t.Errorf("merchant A's key lists keys %v, want only %s", keys, a.apiKey)
		}
		// A merchant key naming another merchant: that merchant does not exist.
		r := e.as(a.key).do("GET", "/v1/payments", "", "Tender-Merchant", b.merchant)
		if r.status != 404 {
			t.Errorf("merchant key with Tender-Merchant of another: %d %s", r.status, r.body)
		}
		// Nothing of B changed.
		for _, id := range []string{b.online, b.captured} {
			p := e.mustDo("GET", "/v1/payments/"+id, "", 200, "Tender-Merchant", b.merchant)
			if p["status"] != "requires_action" && p["status"] != "captured" || p["refunded_amount"].(float64) != 0 {
				t.Errorf("B's payment %s changed: %v", id, p)
			}
		}
		e.mustDo("GET", "/v1/webhook_endpoints/"+b.endpoint, "", 200, "Tender-Merchant", b.merchant)
		if m := e.mustDo("GET", "/v1/payment_methods/"+b.method, "", 200, "Tender-Merchant", b.merchant); m["detached_at"] != nil {
			t.Errorf("B's payment method was detached by A: %v", m)
		}
		e.as(b.key).mustDo("GET", "/v1/payments", "", 200)
		// Webhook endpoints receive only their merchant's events.
		for _, s := range []shop{a, b} {
			ds := e.as(s.key).mustDo("GET", "/v1/webhook_endpoints/"+s.endpoint+"/deliveries?limit=100", "", 200)["data"].([]any)
			if len(ds) == 0 {
				t.Errorf("endpoint of %s has no deliveries", s.merchant)
			}
			for _, d := range ds {
				if p := d.(map[string]any)["payment"]; p != s.payment && p != s.online && p != s.captured {
					t.Errorf("endpoint of %s got an event of payment %v", s.merchant, p)
				}
			}
		}
	})
}

func msg(t *testing.T, r response) []byte {
	t.Helper()
	m := r.json(t)["error"].(map[string]any)
	return []byte(m["code"].(string) + ": " + m["message"].(string))
}

func listIDs(l map[string]any) []string {
	var out []string
	for _, it := range l["data"].([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

// TestIsolationScopes: merchant keys cannot manage merchants or make
// platform keys; terminal keys pay on their terminals and read those
// payments, nothing else.
func TestIsolationScopes(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		a := newShop(e, "mer_a")
		m := e.as(a.key)
		for _, q := range [][2]string{{"POST", "/v1/merchants"}, {"GET", "/v1/merchants"}, {"GET", "/v1/merchants/mer_a"}, {"POST", "/v1/merchants/mer_a"}} {
			if r := m.do(q[0], q[1], "{}"); r.status != 403 {
				t.Errorf("merchant key: %s %s: %d, want 403", q[0], q[1], r.status)
			}
		}
		if r := m.do("POST", "/v1/api_keys", `{"scope":"platform"}`); r.status != 403 {
			t.Errorf("merchant key creating a platform key: %d %s", r.status, r.body)
		}
		if r := m.do("POST", "/v1/api_keys", `{"scope":"merchant","merchant":"mer_default"}`); r.status != 404 {
			t.Errorf("merchant key creating a key of another merchant: %d %s", r.status, r.body)
		}

		k := m.mustDo("POST", "/v1/api_keys", `{"name":"till","scope":"terminal","terminals":["`+a.terminal2+`"]}`, 201)
		if k["merchant"] != "mer_a" || k["scope"] != "terminal" {
			t.Fatalf("terminal key = %v", k)
		}
		pos := e.as(k["secret"].(string))
		mine := pos.mustDo("POST", "/v1/payments", `{"amount":500,"currency":"EUR","terminal":"`+a.terminal2+`"}`, 201)["id"].(string)
		pos.mustDo("GET", "/v1/payments/"+mine+"?wait=1ms", "", 200)
		pos.mustDo("GET", "/v1/payments/"+mine+"/events", "", 200)
		if got := listIDs(pos.mustDo("GET", "/v1/payments", "", 200)); !slices.Equal(got, []string{mine}) {
			t.Errorf("terminal key lists %v, want only %s", got, mine)
		}
		if r := pos.do("POST", "/v1/payments", `{"amount":500,"currency":"EUR","terminal":"`+a.terminal+`"}`); r.status != 400 {
			t.Errorf("terminal key paying on another terminal: %d %s", r.status, r.body)
		}
		if r := pos.do("POST", "/v1/payments", `{"amount":500,"currency":"EUR","connector":"testpay"}`); r.status != 400 {
			t.Errorf("terminal key paying online: %d %s", r.status, r.body)
		}
		for _, id := range []string{a.payment, a.online, a.captured} { // another terminal's, and no terminal's
			for _, path := range []string{"/v1/payments/" + id, "/v1/payments/" + id + "/events"} {
				if r := pos.do("GET", path, ""); r.status != 404 {
					t.Errorf("terminal key reading %s: %d, want 404", path, r.status)
				}
			}
		}
		if r := pos.do("GET", "/v1/payments?terminal="+a.terminal, ""); r.status != 400 {
			t.Errorf("terminal key listing another terminal: %d", r.status)
		}
		for _, q := range [][2]string{
			{"POST", "/v1/payments/" + mine + "/cancel"}, {"POST", "/v1/payments/" + mine + "/capture"},
			{"POST", "/v1/payments/" + mine + "/refunds"}, {"POST", "/v1/payments/" + a.payment + "/cancel"},
			{"POST", "/v1/payments/" + mine + "/resolve_discrepancy"},
			{"GET", "/v1/accounts"}, {"POST", "/v1/accounts"}, {"GET", "/v1/terminals"}, {"POST", "/v1/terminals/" + a.terminal2},
			{"GET", "/v1/webhook_endpoints"}, {"GET", "/v1/api_keys"}, {"POST", "/v1/api_keys"}, {"GET", "/v1/merchants"},
		} {
			if r := pos.do(q[0], q[1], "{}"); r.status != 403 {
				t.Errorf("terminal key: %s %s: %d, want 403: %s", q[0], q[1], r.status, r.body)
			}
		}
		// Its terminal and its state; another terminal is not found, in
		// the words of a missing one; its end of day is its terminal's.
		if term := pos.mustDo("GET", "/v1/terminals/"+a.terminal2+"?wait=1ms", "", 200); term["state"] != "busy" || term["payment"] != mine {
			t.Errorf("terminal key reading its terminal: %v", term)
		}
		for _, id := range []string{a.terminal, "zz-missing"} {
			if r := pos.do("GET", "/v1/terminals/"+id, ""); r.status != 404 || !strings.Contains(string(r.body), `no terminal \"`+id+`\"`) {
				t.Errorf("terminal key reading terminal %s: %d, want 404: %s", id, r.status, r.body)
			}
		}
		today := time.Now().UTC().Format(time.DateOnly)
		if rows := pos.mustDo("GET", "/v1/reports/daily?date="+today, "", 200)["rows"].([]any); len(rows) != 0 {
			t.Errorf("terminal key's end of day shows others' money: %v", rows)
		}
		if r := pos.do("GET", "/v1/reports/daily?date="+today+"&terminal="+a.terminal, ""); r.status != 400 {
			t.Errorf("terminal key's end of day of another terminal: %d %s", r.status, r.body)
		}
		if p := e.mustDo("GET", "/v1/payments/"+mine, "", 200, "Tender-Merchant", "mer_a"); p["status"] != "processing" {
			t.Errorf("the terminal key's payment was changed: %v", p)
		}
	})
}

// TestRevokedKeyEveryInstance revokes a key through one instance and
// uses it at once on another on the same store: 401, with no wait.
func TestRevokedKeyEveryInstance(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		a := newShop(e, "mer_a")
		other := e.instance()
		other.as(a.key).mustDo("GET", "/v1/payments", "", 200)
		e.mustDo("POST", "/v1/api_keys/"+a.apiKey+"/revoke", "", 200)
		// The revoking instance refuses it at once; another once the
		// store's notice reached it (PostgreSQL), within memoTTL (1 s).
		if r := e.as(a.key).do("GET", "/v1/payments", ""); r.status != 401 {
			t.Errorf("revoked key on the instance that revoked it: %d, want 401: %s", r.status, r.body)
		}
		refusedSoon(t, other, a.key)
		list := e.mustDo("GET", "/v1/api_keys", "", 200, "Tender-Merchant", "mer_a")["data"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["revoked_at"] == nil || list[0].(map[string]any)["last_used_at"] == nil {
			t.Errorf("revoked key listed as %v", list)
		}
		// Rolling makes a new key and revokes the old one at once.
		k := e.mustDo("POST", "/v1/api_keys", `{"name":"pos","scope":"merchant","merchant":"mer_a"}`, 201)
		rolled := e.mustDo("POST", "/v1/api_keys/"+k["id"].(string)+"/roll", "", 201)
		if r := e.as(k["secret"].(string)).do("GET", "/v1/payments", ""); r.status != 401 {
			t.Errorf("rolled-over key: %d, want 401", r.status)
		}
		refusedSoon(t, other, k["secret"].(string))
		other.as(rolled["secret"].(string)).mustDo("GET", "/v1/payments", "", 200)
		if rolled["merchant"] != "mer_a" || rolled["scope"] != "merchant" || rolled["name"] != "pos" {
			t.Errorf("rolled key = %v", rolled)
		}
	})
}

// refusedSoon checks that inst refuses key within the bound a revocation
// takes to reach another instance (engine memoTTL, 1 s).
func refusedSoon(t *testing.T, inst *env, key string) {
	t.Helper()
	deadline := time.Now().Add(1500 * time.Millisecond)
	for {
		r := inst.as(key).do("GET", "/v1/payments", "")
		if r.status == 401 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("revoked key on another instance after 1.5 s: %d, want 401: %s", r.status, r.body)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// instance starts a second server with its own engine on e's store, as
// another `tender serve` on the same database.
func (e *env) instance() *env {
	e.t.Helper()
	sealer, _ := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	c := *e
	c.srv = httptest.NewUnstartedServer(nil)
	eng, err := engine.New(engine.Options{Store: e.store, Connectors: []tender.Connector{e.conn}, Sealer: sealer,
		PublicURL: "http://" + c.srv.Listener.Addr().String()})
	if err != nil {
		e.t.Fatal(err)
	}
	c.eng = eng
	c.srv.Config.Handler = api.NewServer(eng, api.Options{})
	c.srv.Start()
	e.t.Cleanup(c.srv.Close)
	return &c
}

// TestIdempotencyPerMerchant: two merchants, and one platform key acting
// for two merchants, may use the same Idempotency-Key: each gets a payment
// of its own, with an operation id of its own.
func TestIdempotencyPerMerchant(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		a, b := newShop(e, "mer_a"), newShop(e, "mer_b")
		body := `{"amount":700,"currency":"EUR","connector":"testpay"}`
		ids := map[string]bool{}
		for _, c := range []struct {
			e       *env
			headers []string
		}{
			{e.as(a.key), nil}, {e.as(b.key), nil},
			{e, []string{"Tender-Merchant", "mer_a"}}, {e, []string{"Tender-Merchant", "mer_b"}},
		} {
			h := append([]string{"Idempotency-Key", "order-42"}, c.headers...)
			p := c.e.mustDo("POST", "/v1/payments", body, 201, h...)
			again := c.e.do("POST", "/v1/payments", body, h...)
			if again.status != 201 || again.json(t)["id"] != p["id"] || again.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("replay: %d %s, want payment %v", again.status, again.body, p["id"])
			}
			ids[p["id"].(string)] = true
		}
		if len(ids) != 4 {
			t.Errorf("four merchant/key pairs with one Idempotency-Key made %d payments, want 4", len(ids))
		}
		ops := map[string]bool{}
		for id := range ids {
			p, err := e.store.GetPayment(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			ops[p.OperationID] = true
		}
		if len(ops) != 4 {
			t.Errorf("operation ids %v are not one per merchant and key", ops)
		}
	})
}

// TestLongPollLimitPerKey: one key cannot hold more long-polls open than
// its limit; another key is not affected.
func TestLongPollLimitPerKey(t *testing.T) {
	e := newEnv(t)
	e.srv.Config.Handler = api.NewServer(e.eng, api.Options{MaxPollsPerKey: 1})
	a := newShop(e, "mer_a")
	hold := func() chan response {
		done := make(chan response, 1)
		go func() { done <- e.as(a.key).do("GET", "/v1/payments/"+a.payment+"?wait=3s", "") }()
		return done
	}
	done := hold()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.as(a.key).do("GET", "/v1/payments/"+a.payment+"?wait=1ms", "")
		if r.status == 429 {
			if r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			break
		}
		if r.status != 200 || time.Now().After(deadline) {
			t.Fatalf("second long-poll of one key: %d, want 429", r.status)
		}
		select {
		case <-done: // refused while this loop held the slot: hold it again
			done = hold()
		default:
		}
	}
	e.mustDo("GET", "/v1/payments/"+a.payment+"?wait=1ms", "", 200, "Tender-Merchant", "mer_a")
	e.as(a.key).mustDo("GET", "/v1/payments/"+a.payment, "", 200) // without ?wait=: not limited
	<-done
}

// TestCallbackLandsOnItsMerchant: a provider callback arrives at one
// account's URL; it can only move that account's payments, which are its
// merchant's. A verified callback at merchant B's account naming merchant
// A's payment changes nothing of A's.
func TestCallbackLandsOnItsMerchant(t *testing.T) {
	e := newEnv(t)
	a, b := newShop(e, "mer_a"), newShop(e, "mer_b")
	cb := e.do("POST", "/callbacks/testpay/"+b.account+"/notify", `{"ref":"`+a.online+`","status":"authorized"}`, "X-Sig", "s3cret")
	if cb.status < 400 {
		t.Errorf("callback at B's account for A's payment: %d %s", cb.status, cb.body)
	}
	if p := e.as(a.key).mustDo("GET", "/v1/payments/"+a.online, "", 200); p["status"] != "requires_action" || p["merchant"] != "mer_a" {
		t.Errorf("A's payment after a callback at B's account: %v", p)
	}
	if cb := e.do("POST", "/callbacks/testpay/"+a.account+"/notify", `{"ref":"`+a.online+`","status":"authorized"}`, "X-Sig", "s3cret"); cb.status != 200 {
		t.Fatalf("callback at A's account: %d %s", cb.status, cb.body)
	}
	if p := e.as(a.key).mustDo("GET", "/v1/payments/"+a.online, "", 200); p["status"] != "authorized" || p["account"] != a.account {
		t.Errorf("A's payment after its own account's callback: %v", p)
	}
}

// TestTerminalKeyLists: a key of one terminal lists that terminal's
// payments without naming it; a key of several names one; neither pages
// from another terminal's payment.
func TestTerminalKeyLists(t *testing.T) {
	e := newEnv(t)
	a := newShop(e, "mer_a")
	m := e.as(a.key)
	one := e.as(m.mustDo("POST", "/v1/api_keys", `{"name":"till","scope":"terminal","terminals":["`+a.terminal2+`"]}`, 201)["secret"].(string))
	both := e.as(m.mustDo("POST", "/v1/api_keys", `{"name":"tills","scope":"terminal","terminals":["`+a.terminal+`","`+a.terminal2+`"]}`, 201)["secret"].(string))
	mine := one.mustDo("POST", "/v1/payments", `{"amount":500,"currency":"EUR","terminal":"`+a.terminal2+`"}`, 201)["id"].(string)
	if got := listIDs(one.mustDo("GET", "/v1/payments", "", 200)); !slices.Equal(got, []string{mine}) {
		t.Errorf("one-terminal key lists %v, want %s", got, mine)
	}
	if r := both.do("GET", "/v1/payments", ""); r.status != 400 || r.json(t)["error"].(map[string]any)["param"] != "terminal" {
		t.Errorf("several-terminal key listing without ?terminal: %d %s", r.status, r.body)
	}
	if got := listIDs(both.mustDo("GET", "/v1/payments?terminal="+a.terminal2, "", 200)); !slices.Equal(got, []string{mine}) {
		t.Errorf("several-terminal key lists %v on %s, want %s", got, a.terminal2, mine)
	}
	if got := listIDs(both.mustDo("GET", "/v1/payments?terminal="+a.terminal, "", 200)); !slices.Contains(got, a.payment) || slices.Contains(got, mine) {
		t.Errorf("several-terminal key lists %v on %s", got, a.terminal)
	}
	// Paging from a payment it cannot see is refused, naming the cursor.
	if r := one.do("GET", "/v1/payments?starting_after="+a.payment, ""); r.status != 400 || r.json(t)["error"].(map[string]any)["param"] != "starting_after" {
		t.Errorf("paging from another terminal's payment: %d %s", r.status, r.body)
	}
	if got := listIDs(one.mustDo("GET", "/v1/payments?starting_after="+mine, "", 200)); len(got) != 0 {
		t.Errorf("paging after its only payment: %v", got)
	}
}
