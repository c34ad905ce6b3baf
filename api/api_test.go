package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/engine"
	"github.com/tenderpay/tender/seal"
	"github.com/tenderpay/tender/sqlite"
)

// testConnector is a provider that exists only in these tests. Terminal
// payments go to processing, online ones to requires_action; amounts ending
// in 55 make Start time out (outcome unknown), 99 make it refuse.
type testConnector struct {
	starts, captures, refunds, cancels, statuses atomic.Int64
	refuseRefunds                                atomic.Int64 // refunds refused by the provider before it did anything
	startDelay                                   time.Duration
	mu                                           sync.Mutex
	status                                       map[string]tender.Status // what Status reports
	locales                                      sync.Map                 // payment id → Op.Locale at Start
	paused                                       map[string]bool          // payment id → the subscription's state at the provider
}

func (c *testConnector) Name() string { return "testpay" }
func (c *testConnector) ValidateAccount(a *tender.Account) error {
	if a.Credentials["secret"] == "" {
		return tender.Invalid("credentials.secret", "secret is required")
	}
	return nil
}
func (c *testConnector) ValidateTerminal(t *tender.Terminal, a *tender.Account) error { return nil }
func (c *testConnector) ValidatePayment(p *tender.Payment, a *tender.Account, t *tender.Terminal) error {
	if p.Currency != "EUR" {
		return tender.Invalid("currency", "testpay takes EUR only")
	}
	return nil
}
func (c *testConnector) Start(ctx context.Context, op *tender.Op) (tender.Update, error) {
	c.starts.Add(1)
	c.locales.Store(op.Payment.ID, op.Locale)
	if op.Account.Credentials["secret"] != "s3cret" {
		return tender.Update{}, fmt.Errorf("credentials did not reach the connector")
	}
	time.Sleep(c.startDelay)
	switch op.Payment.Amount % 100 {
	case 55:
		return tender.Update{}, tender.Errorf(tender.EUnavailable, "timed out")
	case 99:
		return tender.Update{}, &tender.Error{Code: tender.EProvider, Message: "refused", ProviderCode: "X99"}
	}
	if op.Terminal != nil {
		return tender.Update{Status: tender.StatusProcessing, ProviderReference: "T-" + op.Payment.ID}, nil
	}
	return tender.Update{Status: tender.StatusRequiresAction, ProviderReference: "T-" + op.Payment.ID,
		NextAction: &tender.NextAction{Type: "redirect", URL: "https://provider.invalid/pay"}}, nil
}
func (c *testConnector) Status(ctx context.Context, op *tender.Op) (tender.Update, error) {
	c.statuses.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	return tender.Update{Status: c.status[op.Payment.ID]}, nil
}
func (c *testConnector) Cancel(ctx context.Context, op *tender.Op) (tender.Update, error) {
	c.cancels.Add(1)
	if op.Payment.Amount%100 == 77 {
		return tender.Update{}, tender.Errorf(tender.EProvider, "the provider could not be asked first; nothing was sent")
	}
	return tender.Update{Status: tender.StatusCanceled}, nil
}
func (c *testConnector) Capture(ctx context.Context, op *tender.Op) (tender.Update, error) {
	c.captures.Add(1)
	return tender.Update{}, nil
}
func (c *testConnector) Refund(ctx context.Context, op *tender.Op) (tender.Update, error) {
	if c.refuseRefunds.Add(-1) >= 0 {
		return tender.Update{}, &tender.Error{Code: tender.EProvider, Message: "the provider could not be asked; nothing was refunded"}
	}
	c.refunds.Add(1)
	return tender.Update{}, nil
}

// Callback takes {"ref": ..., "status": ..., "failure": ...} signed with
// header X-Sig equal to the account's secret; failure is a failure code.
func (c *testConnector) Callback(ctx context.Context, cb *tender.Callback) (*tender.CallbackResult, error) {
	var in struct {
		Ref, Status, Failure string
		Retry                bool
	}
	if err := json.Unmarshal(cb.Body, &in); err != nil {
		return nil, tender.Invalid("body", "bad json")
	}
	p, err := cb.Find(ctx, in.Ref)
	if err != nil {
		return nil, err
	}
	if cb.Request.Header.Get("X-Sig") != cb.Account.Credentials["secret"] {
		return &tender.CallbackResult{PaymentID: p.ID}, tender.Errorf(tender.EUnauthorized, "bad signature")
	}
	u := &tender.Update{Status: tender.Status(in.Status), Retry: in.Retry}
	if in.Failure != "" {
		u.Failure = &tender.Failure{Code: in.Failure, Message: "the provider says " + in.Failure}
	}
	return &tender.CallbackResult{PaymentID: p.ID, Update: u, Landing: cb.Path == "return", Body: []byte("OK")}, nil
}

type env struct {
	t     *testing.T
	srv   *httptest.Server
	eng   *engine.Engine
	conn  *testConnector
	key   string
	store tender.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tender.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return newEnvStore(t, store)
}

// newEnvStore is newEnv on a given store.
func newEnvStore(t *testing.T, store tender.Store) *env {
	t.Helper()
	ctx := context.Background()
	var err error
	sealer, _ := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	conn := &testConnector{status: map[string]tender.Status{}}
	e := &env{t: t, conn: conn, store: store}
	e.srv = httptest.NewUnstartedServer(nil)
	e.eng, err = engine.New(engine.Options{Store: store, Connectors: []tender.Connector{conn}, Sealer: sealer,
		PublicURL: "http://" + e.srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = api.NewServer(e.eng, api.Options{})
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.key, _, err = e.eng.CreateAPIKey(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	e.mustDo("POST", "/v1/accounts", `{"id":"tp1","connector":"testpay","settings":{"site":"x"},"credentials":{"secret":"s3cret"}}`, 201)
	e.mustDo("POST", "/v1/terminals", `{"id":"till-1","connector":"testpay","provider_id":"T1"}`, 201)
	return e
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, r.body)
	}
	return m
}

func (e *env) do(method, path, body string, headers ...string) response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	checkAgainstSpec(e.t, req, res, b)
	return response{res.StatusCode, res.Header, b}
}

func (e *env) mustDo(method, path, body string, want int, headers ...string) map[string]any {
	e.t.Helper()
	r := e.do(method, path, body, headers...)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r.json(e.t)
}

func (e *env) countPayments() int {
	e.t.Helper()
	list := e.mustDo("GET", "/v1/payments?limit=100", "", 200)
	return len(list["data"].([]any))
}

func TestCreateTerminalPaymentAndLongPoll(t *testing.T) {
	e := newEnv(t)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","terminal":"till-1","reference":"R1"}`, 201)
	if p["status"] != "processing" || p["connector"] != "testpay" || p["account"] != "tp1" || p["terminal"] != "till-1" {
		t.Fatalf("created payment = %v", p)
	}
	id := p["id"].(string)

	// A second payment on the busy terminal is refused and not stored.
	r := e.do("POST", "/v1/payments", `{"amount":100,"currency":"EUR","terminal":"till-1"}`)
	if r.status != 409 || r.json(t)["error"].(map[string]any)["code"] != "terminal_busy" {
		t.Fatalf("second payment on busy terminal: %d %s", r.status, r.body)
	}

	// The long-poll returns when the status changes, long before its wait.
	done := make(chan map[string]any)
	go func() { done <- e.mustDo("GET", "/v1/payments/"+id+"?wait=1h", "", 200) }()
	time.Sleep(50 * time.Millisecond) // let the poll begin; correctness does not depend on it
	cb := e.do("POST", "/callbacks/testpay/tp1/notify", `{"ref":"T-`+id+`","status":"captured"}`, "X-Sig", "s3cret")
	if cb.status != 200 || string(cb.body) != "OK" {
		t.Fatalf("callback: %d %s", cb.status, cb.body)
	}
	select {
	case got := <-done:
		if got["status"] != "captured" || got["captured_amount"].(float64) != 1050 {
			t.Fatalf("long-poll returned %v", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("long-poll did not return after the status changed")
	}
	events := e.mustDo("GET", "/v1/payments/"+id+"/events", "", 200)["data"].([]any)
	var types []string
	for _, ev := range events {
		types = append(types, ev.(map[string]any)["type"].(string))
	}
	if strings.Join(types, ",") != "payment.created,payment.processing,payment.captured" {
		t.Fatalf("events = %v", types)
	}
}

func TestIdempotencyConcurrent(t *testing.T) {
	e := newEnv(t)
	e.conn.startDelay = 100 * time.Millisecond // keep the first request in flight
	body := `{"amount":2000,"currency":"EUR","connector":"testpay"}`
	const n = 50
	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.do("POST", "/v1/payments", body, "Idempotency-Key", "order-42")
		}()
	}
	wg.Wait()
	if got := e.conn.starts.Load(); got != 1 {
		t.Fatalf("%d provider calls for %d identical requests, want 1", got, n)
	}
	first := string(results[0].body)
	for i, r := range results {
		if r.status != 201 || string(r.body) != first {
			t.Fatalf("response %d: %d %s; want the same 201 as the first", i, r.status, r.body)
		}
	}
	if e.countPayments() != 1 {
		t.Fatalf("%d payments stored, want 1", e.countPayments())
	}
	// Same key, other parameters.
	r := e.do("POST", "/v1/payments", `{"amount":2001,"currency":"EUR","connector":"testpay"}`, "Idempotency-Key", "order-42")
	if r.status != 422 || r.json(t)["error"].(map[string]any)["type"] != "idempotency_error" {
		t.Fatalf("reused key with other body: %d %s", r.status, r.body)
	}
	// Same parameters in another order and spacing is the same request.
	r = e.do("POST", "/v1/payments", `{"connector":"testpay",  "currency":"EUR","amount":2000}`, "Idempotency-Key", "order-42")
	if r.status != 201 || string(r.body) != first || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
}

func TestIdempotencyKeepsErrorsAfterWorkBegan(t *testing.T) {
	e := newEnv(t)
	r1 := e.do("POST", "/v1/payments", `{"amount":1099,"currency":"EUR","connector":"testpay"}`, "Idempotency-Key", "k-refused")
	if r1.status != 502 || r1.json(t)["error"].(map[string]any)["provider_code"] != "X99" {
		t.Fatalf("refused payment: %d %s", r1.status, r1.body)
	}
	r2 := e.do("POST", "/v1/payments", `{"amount":1099,"currency":"EUR","connector":"testpay"}`, "Idempotency-Key", "k-refused")
	if r2.status != 502 || string(r2.body) != string(r1.body) || e.conn.starts.Load() != 1 {
		t.Fatalf("retry: %d %s, %d starts", r2.status, r2.body, e.conn.starts.Load())
	}
	// A validation error did nothing, so the key is free for a corrected request.
	r3 := e.do("POST", "/v1/payments", `{"amount":0,"currency":"EUR","connector":"testpay"}`, "Idempotency-Key", "k-bad")
	if r3.status != 400 {
		t.Fatalf("bad amount: %d", r3.status)
	}
	e.mustDo("POST", "/v1/payments", `{"amount":100,"currency":"EUR","connector":"testpay"}`, 201, "Idempotency-Key", "k-bad")
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		body, param, msg string
	}{
		{`{"amount":10.5,"currency":"EUR","connector":"testpay"}`, "amount", "integer number of minor units"},
		{`{"amount":"10.50","currency":"EUR","connector":"testpay"}`, "amount", "integer number of minor units"},
		{`{"amount":-5,"currency":"EUR","connector":"testpay"}`, "amount", "positive"},
		{`{"currency":"EUR","connector":"testpay"}`, "amount", "positive"},
		{`{"amount":100,"currency":"EURO","connector":"testpay"}`, "currency", "ISO 4217"},
		{`{"amount":100,"connector":"testpay"}`, "currency", "required"},
		{`{"amount":100,"currency":"USD","connector":"testpay"}`, "currency", "EUR only"},
		{`{"amount":100,"currency":"EUR","connector":"nope"}`, "connector", "not available"},
		{`{"amount":100,"currency":"EUR"}`, "connector", "required"},
		{`{"amount":100,"currency":"EUR","connector":"testpay","colour":"red"}`, "colour", "unknown field"},
		{`{"amount":100,"currency":"EUR","connector":"testpay","capture":"later"}`, "capture", "automatic"},
		{`{"amount":100,"currency":"EUR","connector":"testpay","return_url":"javascript:alert(1)"}`, "return_url", "absolute"},
		{`{"amount":100,"currency":"EUR","terminal":"nope"}`, "terminal", "does not exist"},
		{`{"amount":100,"currency":"EUR","connector":"testpay","account":"nope"}`, "account", "does not exist"},
		{`{"amount":100,"currency":"EUR","connector":"testpay","metadata":{"a":1}}`, "metadata", "string"},
		{`{"amount":100,`, "", "not valid JSON"},
		{`[1,2]`, "", "JSON object"},
		{`{"amount":100,"currency":"EUR","connector":"testpay"} {}`, "", "one JSON object"},
		{`{"amount":100,"currency":"EUR","connector":"testpay","description":"` + strings.Repeat("x", 70000) + `"}`, "", "larger than"},
	}
	for _, tt := range tests {
		r := e.do("POST", "/v1/payments", tt.body)
		if r.status != 400 {
			t.Errorf("%.60s: status %d, want 400: %s", tt.body, r.status, r.body)
			continue
		}
		er := r.json(t)["error"].(map[string]any)
		param, _ := er["param"].(string)
		if param != tt.param || !strings.Contains(er["message"].(string), tt.msg) {
			t.Errorf("%.60s: param %q message %q; want param %q and %q", tt.body, param, er["message"], tt.param, tt.msg)
		}
	}
	if n := e.countPayments(); n != 0 {
		t.Fatalf("%d payments stored after bad requests, want 0", n)
	}
	if e.conn.starts.Load() != 0 {
		t.Fatal("a bad request reached the provider")
	}
	if r := e.do("GET", "/v1/payments?limit=0", ""); r.status != 400 || r.json(t)["error"].(map[string]any)["param"] != "limit" {
		t.Fatalf("limit=0: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/payments/x?wait=forever", ""); r.status != 400 {
		t.Fatalf("wait=forever: %d", r.status)
	}
}

func TestCaptureRefundLimits(t *testing.T) {
	e := newEnv(t)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","connector":"testpay","capture":"manual"}`, 201)
	id := p["id"].(string)
	if r := e.do("POST", "/callbacks/testpay/tp1/notify", `{"ref":"`+id+`","status":"authorized"}`, "X-Sig", "s3cret"); r.status != 200 {
		t.Fatalf("callback: %d", r.status)
	}

	// Refund before capture: not allowed.
	if r := e.do("POST", "/v1/payments/"+id+"/refunds", `{"amount":100}`); r.status != 409 {
		t.Fatalf("refund of an authorized payment: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/payments/"+id+"/capture", `{"amount":1001}`); r.status != 400 {
		t.Fatalf("capture above authorization: %d %s", r.status, r.body)
	}
	// An amount of 0 is a mistake, never "the whole amount" (which is no
	// amount at all): refused, naming the field, and nothing captured.
	for _, body := range []string{`{"amount":0}`, `{"amount":-5}`} {
		r := e.do("POST", "/v1/payments/"+id+"/capture", body)
		if r.status != 400 || r.json(t)["error"].(map[string]any)["param"] != "amount" {
			t.Fatalf("capture %s: %d %s", body, r.status, r.body)
		}
	}
	if n := e.conn.captures.Load(); n != 0 {
		t.Fatalf("%d captures sent for refused amounts", n)
	}
	got := e.mustDo("POST", "/v1/payments/"+id+"/capture", `{"amount":400}`, 200)
	if got["status"] != "partially_captured" || got["captured_amount"].(float64) != 400 {
		t.Fatalf("partial capture: %v", got)
	}
	if r := e.do("POST", "/v1/payments/"+id+"/capture", `{"amount":601}`); r.status != 400 {
		t.Fatalf("second capture above the rest: %d %s", r.status, r.body)
	}
	got = e.mustDo("POST", "/v1/payments/"+id+"/capture", ``, 200)
	if got["status"] != "captured" || got["captured_amount"].(float64) != 1000 {
		t.Fatalf("capture of the rest: %v", got)
	}

	// Concurrent refunds can never exceed what was captured.
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", "/v1/payments/"+id+"/refunds", `{"amount":300}`, "Idempotency-Key", fmt.Sprint("refund-", i))
			if r.status == 200 {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	final := e.mustDo("GET", "/v1/payments/"+id, "", 200)
	if ok.Load() != 3 || final["refunded_amount"].(float64) != 900 || final["status"] != "partially_refunded" || e.conn.refunds.Load() != 3 {
		t.Fatalf("%d refunds succeeded, provider saw %d, payment %v", ok.Load(), e.conn.refunds.Load(), final)
	}
	got = e.mustDo("POST", "/v1/payments/"+id+"/refunds", `{}`, 200)
	if got["status"] != "refunded" || got["refunded_amount"].(float64) != 1000 {
		t.Fatalf("refund of the rest: %v", got)
	}
}

func TestUnknownIsReconciled(t *testing.T) {
	e := newEnv(t)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1255,"currency":"EUR","connector":"testpay"}`, 201)
	if p["status"] != "unknown" {
		t.Fatalf("timed-out start: status %v, want unknown", p["status"])
	}
	id := p["id"].(string)
	ctx := context.Background()
	// No news: it stays unknown.
	if q, err := e.eng.Check(ctx, id); err != nil || q.Status != tender.StatusUnknown {
		t.Fatalf("check without news: %v, %v", q.Status, err)
	}
	e.conn.mu.Lock()
	e.conn.status[id] = tender.StatusCaptured
	e.conn.mu.Unlock()
	q, err := e.eng.Check(ctx, id)
	if err != nil || q.Status != tender.StatusCaptured || q.CapturedAmount != 1255 || !q.NextCheckAt.IsZero() {
		t.Fatalf("after reconciliation: %+v, %v", q, err)
	}
}

func TestReconcilerRunsDueChecks(t *testing.T) {
	e := newEnv(t)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","terminal":"till-1"}`, 201)
	id := p["id"].(string)
	e.conn.mu.Lock()
	e.conn.status[id] = tender.StatusFailed
	e.conn.mu.Unlock()
	store := e.eng.Store()
	stored, _ := store.GetPayment(context.Background(), id)
	stored.NextCheckAt = time.Now().Add(-time.Second)
	if err := store.UpdatePayment(context.Background(), stored); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.eng.Run(ctx)
	got := e.mustDo("GET", "/v1/payments/"+id+"?wait=20s", "", 200)
	if got["status"] != "failed" {
		t.Fatalf("after the reconciler ran: %v", got["status"])
	}
}

func TestCallbackVerification(t *testing.T) {
	e := newEnv(t)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","connector":"testpay","return_url":"https://shop.example/done"}`, 201)
	id := p["id"].(string)
	r := e.do("POST", "/callbacks/testpay/tp1/notify", `{"ref":"`+id+`","status":"captured"}`, "X-Sig", "forged")
	if r.status != 400 || strings.Contains(string(r.body), "signature") {
		t.Fatalf("forged callback: %d %q (must not say why)", r.status, r.body)
	}
	if got := e.mustDo("GET", "/v1/payments/"+id, "", 200); got["status"] != "requires_action" {
		t.Fatalf("forged callback changed the payment: %v", got["status"])
	}
	events := e.mustDo("GET", "/v1/payments/"+id+"/events", "", 200)["data"].([]any)
	if last := events[len(events)-1].(map[string]any); last["type"] != "callback.rejected" {
		t.Fatalf("last event %v, want callback.rejected", last["type"])
	}
	// A verified shopper return lands on Tender's page, which forwards to the shop.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", e.srv.URL+"/callbacks/testpay/tp1/return", strings.NewReader(`{"ref":"`+id+`","status":"captured"}`))
	req.Header.Set("X-Sig", "s3cret")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 303 || res.Header.Get("Location") != e.srv.URL+"/pay/"+id {
		t.Fatalf("landing: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	page, _ := http.Get(e.srv.URL + "/pay/" + id)
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), "Payment successful") || !strings.Contains(string(body), "https://shop.example/done?payment_id="+id+"&amp;status=captured") {
		t.Fatalf("result page: %s", body)
	}
	// A late, verified callback that the state machine cannot take changes nothing.
	if r := e.do("POST", "/callbacks/testpay/tp1/notify", `{"ref":"`+id+`","status":"failed"}`, "X-Sig", "s3cret"); r.status != 200 {
		t.Fatalf("late callback: %d", r.status)
	}
	if got := e.mustDo("GET", "/v1/payments/"+id, "", 200); got["status"] != "captured" {
		t.Fatalf("late failure callback changed a captured payment to %v", got["status"])
	}
}

func TestAuthAndSecrets(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/payments", nil)
	res, _ := http.DefaultClient.Do(req)
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("no key: %d", res.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer tender_sk_wrong")
	res, _ = http.DefaultClient.Do(req)
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("wrong key: %d", res.StatusCode)
	}
	a := e.do("GET", "/v1/accounts/tp1", "")
	if strings.Contains(string(a.body), "s3cret") || !strings.Contains(string(a.body), `"secret"`) {
		t.Fatalf("account response leaks the secret or hides which keys are set: %s", a.body)
	}
	stored, _ := e.eng.Store().GetAccount(context.Background(), "tp1")
	if bytes.Contains(stored.Sealed, []byte("s3cret")) || len(stored.Sealed) == 0 {
		t.Fatal("credentials are not sealed at rest")
	}
	r := e.do("POST", "/v1/accounts", `{"id":"tp2","connector":"testpay","credentials":{}}`)
	if r.status != 400 || r.json(t)["error"].(map[string]any)["param"] != "credentials.secret" {
		t.Fatalf("account without secret: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/accounts", `{"id":"tp1","connector":"testpay","credentials":{"secret":"x"}}`); r.status != 409 {
		t.Fatalf("duplicate account: %d %s", r.status, r.body)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","terminal":"till-1"}`, 201)
	id := p["id"].(string)
	got := e.mustDo("POST", "/v1/payments/"+id+"/cancel", "", 200)
	if got["status"] != "canceled" || got["failure"].(map[string]any)["code"] != "canceled" {
		t.Fatalf("cancel: %v", got)
	}
	// The terminal is free again.
	e.mustDo("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","terminal":"till-1"}`, 201)
	if r := e.do("POST", "/v1/payments/nope/cancel", ""); r.status != 404 {
		t.Fatalf("cancel of a missing payment: %d", r.status)
	}
}

// TestUpdateAccountAndTerminal rotates a credential, changes settings and
// the default account, and checks what cannot change is refused with the
// field named and nothing stored changed.
func TestUpdateAccountAndTerminal(t *testing.T) {
	e := newEnv(t)
	e.mustDo("POST", "/v1/accounts", `{"id":"tp2","connector":"testpay","credentials":{"secret":"other","extra":"x"}}`, 201)

	// Rotate one credential; the other stays, settings merge, "" removes.
	got := e.mustDo("POST", "/v1/accounts/tp2", `{"credentials":{"secret":"s3cret"},"settings":{"site":"y","region":"eu"}}`, 200)
	if keys := got["credentials_set"].([]any); len(keys) != 2 {
		t.Fatalf("credentials_set after rotating one: %v", keys)
	}
	got = e.mustDo("POST", "/v1/accounts/tp2", `{"settings":{"region":""},"credentials":{"extra":""}}`, 200)
	if s := got["settings"].(map[string]any); len(s) != 1 || s["site"] != "y" {
		t.Fatalf("settings after removing region: %v", s)
	}
	if strings.Contains(fmt.Sprint(got), "s3cret") {
		t.Fatal("the update response shows a secret")
	}
	stored, _ := e.eng.Store().GetAccount(context.Background(), "tp2")
	if bytes.Contains(stored.Sealed, []byte("s3cret")) || len(stored.Sealed) == 0 {
		t.Fatal("updated credentials are not sealed at rest")
	}
	// The rotated secret reaches the connector (its Start checks it).
	e.mustDo("POST", "/v1/payments", `{"amount":100,"currency":"EUR","connector":"testpay","account":"tp2"}`, 201)

	// Make tp2 the default: tp1 loses the flag; a default cannot be unset.
	e.mustDo("POST", "/v1/accounts/tp2", `{"default":true}`, 200)
	if a := e.mustDo("GET", "/v1/accounts/tp1", "", 200); a["default"] != false {
		t.Fatalf("tp1 kept the default flag: %v", a)
	}
	for body, param := range map[string]string{
		`{"default":false}`:             "default",
		`{"credentials":{"secret":""}}`: "credentials.secret",
		`{"connector":"other"}`:         "connector",
		`{"environment":"live"}`:        "environment",
		`{"settings":{"site":1}}`:       "settings",
	} {
		r := e.do("POST", "/v1/accounts/tp2", body)
		if r.status != 400 || r.json(t)["error"].(map[string]any)["param"] != param {
			t.Errorf("%s: %d %s, want 400 naming %s", body, r.status, r.body, param)
		}
	}
	if a := e.mustDo("GET", "/v1/accounts/tp2", "", 200); a["default"] != true || len(a["credentials_set"].([]any)) != 1 {
		t.Fatalf("a refused update changed the account: %v", a)
	}
	if r := e.do("POST", "/v1/accounts/nope", `{"settings":{"a":"b"}}`); r.status != 404 {
		t.Fatalf("update of a missing account: %d", r.status)
	}

	got = e.mustDo("POST", "/v1/terminals/till-1", `{"label":"Back office","credentials":{"api_key":"k1"}}`, 200)
	if got["label"] != "Back office" || len(got["credentials_set"].([]any)) != 1 || got["provider_id"] != "T1" {
		t.Fatalf("updated terminal: %v", got)
	}
	if r := e.do("POST", "/v1/terminals/till-1", `{"provider_id":"T2"}`); r.status != 400 || r.json(t)["error"].(map[string]any)["param"] != "provider_id" {
		t.Fatalf("changing provider_id: %d %s", r.status, r.body)
	}
}

// A refund the provider refused before doing anything is not remembered for
// its Idempotency-Key: the POS sends the same request again and it works.
func TestRefusedRefundCanBeRetriedWithItsKey(t *testing.T) {
	e := newEnv(t)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","terminal":"till-1"}`, 201)
	id := p["id"].(string)
	e.conn.mu.Lock()
	e.conn.status[id] = tender.StatusCaptured
	e.conn.mu.Unlock()
	if _, err := e.eng.Check(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	e.conn.refuseRefunds.Store(1)
	r := e.do("POST", "/v1/payments/"+id+"/refunds", `{"amount":400}`, "Idempotency-Key", "refund-a")
	if r.status != 502 {
		t.Fatalf("refused refund: %d %s, want 502", r.status, r.body)
	}
	got := e.mustDo("POST", "/v1/payments/"+id+"/refunds", `{"amount":400}`, 200, "Idempotency-Key", "refund-a")
	if got["refunded_amount"] != 400.0 || e.conn.refunds.Load() != 1 {
		t.Fatalf("retried refund: %v (provider refunds %d)", got, e.conn.refunds.Load())
	}
	again := e.do("POST", "/v1/payments/"+id+"/refunds", `{"amount":400}`, "Idempotency-Key", "refund-a")
	if again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" || e.conn.refunds.Load() != 1 {
		t.Fatalf("the succeeded refund replayed as %d (replayed %q), provider refunds %d", again.status, again.header.Get("Idempotent-Replayed"), e.conn.refunds.Load())
	}
}
