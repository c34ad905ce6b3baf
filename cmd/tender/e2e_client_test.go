package main

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender/client"
)

// loseFirstAnswer delivers the first POST to the server and then reports
// its answer lost, as a dropped connection would.
type loseFirstAnswer struct {
	next http.RoundTripper
	lost atomic.Bool
}

func (l *loseFirstAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := l.next.RoundTrip(req)
	if err == nil && req.Method == http.MethodPost && l.lost.CompareAndSwap(false, true) {
		res.Body.Close()
		return nil, errors.New("connection reset by peer")
	}
	return res, err
}

// TestClientAgainstServe drives a real tender serve with the Go client,
// every request and answer checked against api/openapi.json: a Sepay
// terminal payment whose first answer is lost (retried with the same key:
// one payment), long-polled to captured with its receipt; lists, events,
// typed errors.
func TestClientAgainstServe(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	spec := newSpecTransport(t)
	c := client.New(p.URL, p.Key, client.WithHTTPClient(&http.Client{Transport: &loseFirstAnswer{next: spec}}),
		client.WithRetries(4, 50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	pay, err := c.CreatePayment(ctx, client.CreatePayment{Amount: 1000, Currency: "EUR", Terminal: "sepay-term-1", Reference: "R-1"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.ListPayments(ctx, client.ListPayments{Terminal: "sepay-term-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != 1 || list.Data[0].ID != pay.ID {
		t.Fatalf("after a lost answer and a retry: %d payments, want the one (%s)", len(list.Data), pay.ID)
	}
	var seen []client.Status
	got, err := c.WaitSettled(ctx, pay.ID, func(p *client.Payment) { seen = append(seen, p.Status) })
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != client.StatusCaptured || got.Receipt == nil || len(got.Receipt.Lines) == 0 || got.CapturedAmount != 1000 {
		t.Fatalf("settled as %s, receipt %v", got.Status, got.Receipt)
	}
	if len(seen) == 0 || seen[len(seen)-1] != client.StatusCaptured {
		t.Fatalf("statuses seen: %v", seen)
	}
	evs, err := c.ListEvents(ctx, pay.ID)
	if err != nil || len(evs.Data) < 2 || evs.Data[0].Type != "payment.created" {
		t.Fatalf("events %v %v", evs, err)
	}
	terms, err := c.ListTerminals(ctx, 0, "")
	if err != nil || len(terms.Data) == 0 {
		t.Fatalf("terminals %v %v", terms, err)
	}
	if _, err := c.ListAccounts(ctx, 10, ""); err != nil {
		t.Fatal(err)
	}

	_, err = c.GetPayment(ctx, "pay_nonexistent")
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 404 || e.Code != client.CodeNotFound || e.RequestID == "" {
		t.Fatalf("missing payment: %v", err)
	}
	_, err = c.RefundPayment(ctx, pay.ID, 0)
	if !errors.As(err, &e) || e.Code != client.CodeNotSupported {
		t.Fatalf("Sepay refund: %v", err)
	}
	// Accounts, terminals and webhook endpoints, all checked against the spec.
	acct, err := c.GetAccount(ctx, got.Account)
	if err != nil || acct.Connector != "sepay" {
		t.Fatalf("account %v %v", acct, err)
	}
	label := "till 1"
	if tm, err := c.UpdateTerminal(ctx, "sepay-term-1", client.UpdateTerminal{Label: &label}); err != nil || tm.Label == nil || *tm.Label != label {
		t.Fatalf("update terminal %v %v", tm, err)
	}
	ep, err := c.CreateWebhookEndpoint(ctx, client.CreateWebhookEndpoint{URL: "http://127.0.0.1:9/hooks", Events: []string{"payment.captured"}})
	if err != nil || ep.Secret == "" {
		t.Fatalf("webhook endpoint %v %v", ep, err)
	}
	if got, err := c.GetWebhookEndpoint(ctx, ep.ID); err != nil || got.Secret != "" {
		t.Fatalf("get endpoint %v %v", got, err)
	}
	if l, err := c.ListWebhookEndpoints(ctx, 10, ""); err != nil || len(l.Data) != 1 {
		t.Fatalf("list endpoints %v %v", l, err)
	}
	if r, err := c.RollWebhookSecret(ctx, ep.ID); err != nil || r.Secret == "" || r.Secret == ep.Secret {
		t.Fatalf("roll %v %v", r, err)
	}
	if l, err := c.ListWebhookDeliveries(ctx, ep.ID, 10, 0); err != nil || len(l.Data) != 0 {
		t.Fatalf("deliveries %v %v", l, err)
	}
	if _, err := c.RetryWebhookDelivery(ctx, ep.ID, 424242); !errors.As(err, &e) || e.StatusCode != 404 {
		t.Fatalf("retry of a missing delivery: %v", err)
	}
	if err := c.DeleteWebhookEndpoint(ctx, ep.ID); err != nil {
		t.Fatal(err)
	}

	// The same key with other parameters is refused, typed.
	if _, err := c.CreatePayment(ctx, client.CreatePayment{Amount: 1, Currency: "EUR", Terminal: "sepay-term-2"}, client.IdempotencyKey("k1")); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreatePayment(ctx, client.CreatePayment{Amount: 2, Currency: "EUR", Terminal: "sepay-term-2"}, client.IdempotencyKey("k1"))
	if !errors.As(err, &e) || e.StatusCode != 422 || e.Type != "idempotency_error" {
		t.Fatalf("reused key: %v", err)
	}
}
