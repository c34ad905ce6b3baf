package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender/client"
)

const paymentJSON = `{"id":"pay1","object":"payment","amount":1050,"currency":"EUR","status":"%s","connector":"sepay","terminal":"t1","account":"a","reference":null,"description":null,"return_url":null,"capture":"automatic","provider_reference":null,"next_action":null,"receipt":null,"failure":null,"captured_amount":0,"refunded_amount":0,"details":{},"discrepancy":null,"metadata":{},"created_at":"2026-11-22T10:00:00Z","updated_at":"2026-11-22T10:00:00Z"}`

func payment(status string) string { return strings.Replace(paymentJSON, "%s", status, 1) }

// recorder is a fake server that answers each request with the next of
// answers (the last one repeats) and records the Idempotency-Keys.
type recorder struct {
	mu      sync.Mutex
	keys    []string
	answers []func(w http.ResponseWriter)
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	io.Copy(io.Discard, req.Body)
	r.mu.Lock()
	r.keys = append(r.keys, req.Header.Get("Idempotency-Key"))
	a := r.answers[min(len(r.keys), len(r.answers))-1]
	r.mu.Unlock()
	a(w)
}

func (r *recorder) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.keys...)
}

func lose(w http.ResponseWriter) {
	// The request arrived, the answer never does: the connection drops.
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

func answer(status int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

const timeout504 = `{"error":{"type":"provider_error","code":"unavailable","message":"the provider did not answer","payment":"pay1"}}`

func start(t *testing.T, answers ...func(http.ResponseWriter)) (*recorder, *client.Client) {
	r := &recorder{answers: answers}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, client.New(srv.URL, "tender_sk_test", client.WithRetries(3, time.Millisecond))
}

// TestRetryLostAnswerAndTimeoutWithSameKey: a POST whose answer was lost,
// then answered 504, is sent again with the key it first had.
func TestRetryLostAnswerAndTimeoutWithSameKey(t *testing.T) {
	r, c := start(t, lose, answer(504, timeout504), answer(201, payment("processing")))
	p, err := c.CreatePayment(context.Background(), client.CreatePayment{Amount: 1050, Currency: "EUR", Terminal: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "pay1" || p.Status != client.StatusProcessing {
		t.Fatalf("payment %+v", p)
	}
	keys := r.calls()
	if len(keys) != 3 || keys[0] == "" || keys[1] != keys[0] || keys[2] != keys[0] {
		t.Fatalf("Idempotency-Keys of the attempts: %q, want one key three times", keys)
	}
}

// TestOwnIdempotencyKey: a key of the caller's is sent as given.
func TestOwnIdempotencyKey(t *testing.T) {
	r, c := start(t, answer(201, payment("processing")))
	if _, err := c.CreatePayment(context.Background(), client.CreatePayment{Amount: 1, Currency: "EUR"}, client.IdempotencyKey("till1-0001")); err != nil {
		t.Fatal(err)
	}
	if k := r.calls(); len(k) != 1 || k[0] != "till1-0001" {
		t.Fatalf("keys %q", k)
	}
}

// TestRetriesAreBounded: a server that never answers but 504 gets
// 1 + retries attempts and the caller the typed error.
func TestRetriesAreBounded(t *testing.T) {
	r, c := start(t, answer(504, timeout504))
	_, err := c.CapturePayment(context.Background(), "pay1", 0)
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 504 || e.Code != client.CodeUnavailable || e.Payment != "pay1" {
		t.Fatalf("err %v", err)
	}
	if n := len(r.calls()); n != 4 {
		t.Fatalf("%d attempts, want 4", n)
	}
}

// TestErrorsAreTypedAndNotRetried: a refusal is not retried.
func TestErrorsAreTypedAndNotRetried(t *testing.T) {
	r, c := start(t, answer(400, `{"error":{"type":"invalid_request_error","code":"invalid","message":"amount must be positive","param":"amount","request_id":"req1"}}`))
	_, err := c.CreatePayment(context.Background(), client.CreatePayment{Currency: "EUR"})
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 400 || e.Param != "amount" || e.RequestID != "req1" {
		t.Fatalf("err %#v", err)
	}
	if n := len(r.calls()); n != 1 {
		t.Fatalf("%d attempts of a refused request", n)
	}
}

// TestWaitSettled: the loop reports each new status and ends settled.
func TestWaitSettled(t *testing.T) {
	r, c := start(t, answer(200, payment("processing")), answer(200, payment("processing")), answer(200, payment("unknown")), answer(200, payment("captured")))
	var seen []client.Status
	p, err := c.WaitSettled(context.Background(), "pay1", func(p *client.Payment) { seen = append(seen, p.Status) })
	if err != nil || p.Status != client.StatusCaptured {
		t.Fatalf("%v %v", p, err)
	}
	if strings.Join([]string{string(seen[0]), string(seen[1]), string(seen[2])}, ",") != "processing,unknown,captured" || len(seen) != 3 {
		t.Fatalf("statuses reported: %v", seen)
	}
	if n := len(r.calls()); n != 4 {
		t.Fatalf("%d requests", n)
	}
}

// TestWaitSettledEndsWithContext: a payment that never settles returns
// when the context ends, with the payment as last seen.
func TestWaitSettledEndsWithContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("wait") != "" {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
		answer(200, payment("processing"))(w)
	}))
	defer srv.Close()
	c := client.New(srv.URL, "k")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	p, err := c.WaitSettled(ctx, "pay1", nil)
	if !errors.Is(err, context.DeadlineExceeded) || p == nil || p.Status != client.StatusProcessing {
		t.Fatalf("%v %v", p, err)
	}
}

// TestSettleInDoubtSendsStatus: the status a person found and their note
// reach resolve_discrepancy, and the settled payment comes back.
func TestSettleInDoubtSendsStatus(t *testing.T) {
	var path, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		path, body = r.URL.Path, string(b)
		answer(200, payment("failed"))(w)
	}))
	t.Cleanup(srv.Close)
	c := client.New(srv.URL, "tender_sk_test")
	p, err := c.SettleInDoubt(context.Background(), "pay1", "failed", "no sale on the terminal's journal")
	if err != nil || p.Status != "failed" {
		t.Fatalf("%+v %v", p, err)
	}
	if path != "/v1/payments/pay1/resolve_discrepancy" || body != `{"note":"no sale on the terminal's journal","status":"failed"}` {
		t.Fatalf("sent %s %s", path, body)
	}
}
