// Package client is a Go client of Tender's API v1 (api/openapi.json):
// typed requests, answers and errors; an Idempotency-Key on every POST, so
// that an answer lost on the way (or a 504, whose outcome is unknown) is
// retried with the same key and can never pay twice; and WaitSettled, the
// long-poll loop a POS runs while a terminal works on a payment.
//
// The package imports nothing of Tender, so an integrator can depend on
// it alone.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls one Tender server with one API key. It is safe for
// concurrent use.
type Client struct {
	base       string
	key        string
	merchant   string // Tender-Merchant, if set
	hc         *http.Client
	retries    int
	backoff    time.Duration
	maxBackoff time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests with hc (default: a client without a
// overall timeout, as long-polls last up to a minute; contexts bound calls).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithRetries sets how many times a request whose answer was lost, or was
// a 504, is sent again with the same Idempotency-Key (default 4), and the
// first pause (default 500 ms; each next one doubles, at most 8 s, less a
// random quarter).
func WithRetries(n int, first time.Duration) Option {
	return func(c *Client) { c.retries, c.backoff = max(n, 0), first }
}

// WithMerchant sends Tender-Merchant: id on every request, so that a
// platform key acts for merchant id (a merchant or terminal key may only
// name its own merchant). See also ForMerchant.
func WithMerchant(id string) Option { return func(c *Client) { c.merchant = id } }

// ForMerchant returns a copy of c that acts for merchant id (sends
// Tender-Merchant: id), sharing c's HTTP client; "" acts for the key's
// own (or the default) merchant again.
func (c *Client) ForMerchant(id string) *Client {
	cc := *c
	cc.merchant = id
	return &cc
}

// New returns a client of the server at baseURL (e.g.
// "http://127.0.0.1:8080") that authenticates with apiKey.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), key: apiKey, hc: &http.Client{},
		retries: 4, backoff: 500 * time.Millisecond, maxBackoff: 8 * time.Second}
	for _, o := range opts {
		o(c)
	}
	return c
}

// CallOption changes one call.
type CallOption func(*call)

type call struct {
	key     string
	noRetry bool // the operation is not idempotent: never send it twice
}

// IdempotencyKey sends key as the call's Idempotency-Key instead of a
// random one. Use a key of your own (a receipt number) to make a retry
// after a crash of your program find the first payment.
func IdempotencyKey(key string) CallOption { return func(c *call) { c.key = key } }

// NewIdempotencyKey returns a random key, as POSTs get by default.
func NewIdempotencyKey() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return "tk_" + hex.EncodeToString(b[:])
}

// errLost marks an attempt that got no complete answer.
type errLost struct{ err error }

func (e *errLost) Error() string { return "no answer: " + e.err.Error() }
func (e *errLost) Unwrap() error { return e.err }

// do sends one API call, retrying a lost answer or a 504 (and a 409 for
// the same key still in flight, which is what a retry after a lost answer
// meets while the first request still runs) with the same key.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any, opts ...CallOption) error {
	var o call
	for _, opt := range opts {
		opt(&o)
	}
	if method == http.MethodPost && o.key == "" {
		o.key = NewIdempotencyKey()
	}
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("tender: encode request: %w", err)
		}
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, method, u, o.key, body, out)
		if err == nil || o.noRetry || attempt >= c.retries || !retryable(err) || ctx.Err() != nil {
			return err
		}
		d := min(c.backoff<<attempt, c.maxBackoff)
		d -= time.Duration(mrand.Int64N(int64(d)/4 + 1))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func retryable(err error) bool {
	var lost *errLost
	if errors.As(err, &lost) {
		return true
	}
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode == http.StatusGatewayTimeout ||
			e.StatusCode == http.StatusConflict && e.Type == "idempotency_error"
	}
	return false
}

func (c *Client) once(ctx context.Context, method, u, key string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("tender: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "tender-go-client/1")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if c.merchant != "" {
		req.Header.Set("Tender-Merchant", c.merchant)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &errLost{err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &errLost{err}
	}
	if res.StatusCode >= 300 {
		var eb struct {
			Error *Error `json:"error"`
		}
		if json.Unmarshal(b, &eb) != nil || eb.Error == nil {
			return &Error{StatusCode: res.StatusCode, Type: "api_error", Code: CodeInternal,
				Message: fmt.Sprintf("unexpected answer %s: %.200s", res.Status, b), RequestID: res.Header.Get("Request-Id")}
		}
		eb.Error.StatusCode = res.StatusCode
		return eb.Error
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("tender: decode %s answer: %w", method, err)
		}
	}
	return nil
}

// CreatePayment starts a payment (POST /v1/payments).
func (c *Client) CreatePayment(ctx context.Context, p CreatePayment, opts ...CallOption) (*Payment, error) {
	var out Payment
	return result(&out, c.do(ctx, http.MethodPost, "/v1/payments", nil, p, &out, opts...))
}

// GetPayment returns a payment.
func (c *Client) GetPayment(ctx context.Context, id string) (*Payment, error) {
	var out Payment
	return result(&out, c.do(ctx, http.MethodGet, "/v1/payments/"+url.PathEscape(id), nil, nil, &out))
}

// WaitPayment long-polls once: it returns when the payment's status
// changes or it is settled, or after wait (at most what the server allows,
// 60 s by default).
func (c *Client) WaitPayment(ctx context.Context, id string, wait time.Duration) (*Payment, error) {
	// A long-poll that takes much longer than asked met a dead connection.
	ctx, cancel := context.WithTimeout(ctx, wait+20*time.Second)
	defer cancel()
	q := url.Values{"wait": {strconv.FormatInt(int64(wait/time.Second), 10) + "s"}}
	var out Payment
	return result(&out, c.do(ctx, http.MethodGet, "/v1/payments/"+url.PathEscape(id), q, nil, &out))
}

// WaitSettled long-polls the payment (GET ?wait=30s in a loop) until it is
// settled (Status.Settled) or ctx ends, calling changed, if not nil, with
// the payment each time its status is new (also first). It returns the
// payment as last seen; when ctx ends first, with ctx's error.
func (c *Client) WaitSettled(ctx context.Context, id string, changed func(*Payment)) (*Payment, error) {
	var last *Payment
	for {
		var p *Payment
		var err error
		if last == nil {
			p, err = c.GetPayment(ctx, id)
		} else {
			p, err = c.WaitPayment(ctx, id, 30*time.Second)
		}
		if ctx.Err() != nil {
			return last, ctx.Err()
		}
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.StatusCode < 500 {
				return last, err // 404, 401: asking again changes nothing
			}
			// A dead long-poll or a server restarting: ask again shortly.
			select {
			case <-ctx.Done():
				return last, ctx.Err()
			case <-time.After(time.Second):
			}
			continue
		}
		if changed != nil && (last == nil || p.Status != last.Status) {
			changed(p)
		}
		last = p
		if p.Status.Settled() {
			return p, nil
		}
	}
}

// ListPayments returns a page of payments, newest first.
func (c *Client) ListPayments(ctx context.Context, f ListPayments) (*List[Payment], error) {
	q := url.Values{}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("starting_after", f.StartingAfter)
	set("status", string(f.Status))
	set("connector", f.Connector)
	set("terminal", f.Terminal)
	if f.Discrepancy {
		q.Set("discrepancy", "true")
	}
	var out List[Payment]
	return result(&out, c.do(ctx, http.MethodGet, "/v1/payments", q, nil, &out))
}

type amountBody struct {
	Amount int64 `json:"amount,omitempty"`
}

// CancelPayment cancels a payment before capture.
func (c *Client) CancelPayment(ctx context.Context, id string, opts ...CallOption) (*Payment, error) {
	var out Payment
	return result(&out, c.do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(id)+"/cancel", nil, struct{}{}, &out, opts...))
}

// ResolveDiscrepancy clears a settled payment's discrepancy after a person
// looked at it; note (required) says what was found and done.
func (c *Client) ResolveDiscrepancy(ctx context.Context, id, note string, opts ...CallOption) (*Payment, error) {
	var out Payment
	body := struct {
		Note string `json:"note"`
	}{note}
	return result(&out, c.do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(id)+"/resolve_discrepancy", nil, body, &out, opts...))
}

// PauseSubscription asks the provider to make no more charges of the
// subscription started by payment id (its first payment). If the
// provider does not confirm, the error is returned and Tender keeps the
// request and sends it again.
func (c *Client) PauseSubscription(ctx context.Context, id string, opts ...CallOption) (*Payment, error) {
	var out Payment
	return result(&out, c.do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(id)+"/subscription/pause", nil, struct{}{}, &out, opts...))
}

// ResumeSubscription asks the provider to charge the paused subscription
// started by payment id again, from its next date.
func (c *Client) ResumeSubscription(ctx context.Context, id string, opts ...CallOption) (*Payment, error) {
	var out Payment
	return result(&out, c.do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(id)+"/subscription/resume", nil, struct{}{}, &out, opts...))
}

// SettleInDoubt settles a payment still pending, processing or unknown
// that Tender handed to a person (its discrepancy says the provider could
// neither tell about it nor cancel it) with what they found at the
// provider: status "failed" (no money taken) or "captured" (the whole
// amount); note says where they looked. The discrepancy is cleared in the
// same write; see ResolveDiscrepancy for a settled payment's.
func (c *Client) SettleInDoubt(ctx context.Context, id, status, note string, opts ...CallOption) (*Payment, error) {
	var out Payment
	body := struct {
		Note   string `json:"note"`
		Status string `json:"status"`
	}{note, status}
	return result(&out, c.do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(id)+"/resolve_discrepancy", nil, body, &out, opts...))
}

// CapturePayment captures amount (minor units; 0: all that remains) of an
// authorization.
func (c *Client) CapturePayment(ctx context.Context, id string, amount int64, opts ...CallOption) (*Payment, error) {
	var out Payment
	return result(&out, c.do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(id)+"/capture", nil, amountBody{amount}, &out, opts...))
}

// RefundPayment refunds amount (minor units; 0: all that was captured and
// not yet refunded).
func (c *Client) RefundPayment(ctx context.Context, id string, amount int64, opts ...CallOption) (*Payment, error) {
	var out Payment
	return result(&out, c.do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(id)+"/refunds", nil, amountBody{amount}, &out, opts...))
}

// ListEvents returns a payment's event log.
func (c *Client) ListEvents(ctx context.Context, id string) (*List[Event], error) {
	var out List[Event]
	return result(&out, c.do(ctx, http.MethodGet, "/v1/payments/"+url.PathEscape(id)+"/events", nil, nil, &out))
}

// ListTerminals returns a page of terminals (limit 0: the default).
func (c *Client) ListTerminals(ctx context.Context, limit int, startingAfter string) (*List[Terminal], error) {
	var out List[Terminal]
	return result(&out, c.do(ctx, http.MethodGet, "/v1/terminals", page(limit, startingAfter), nil, &out))
}

// GetTerminal returns a terminal.
func (c *Client) GetTerminal(ctx context.Context, id string) (*Terminal, error) {
	var out Terminal
	return result(&out, c.do(ctx, http.MethodGet, "/v1/terminals/"+url.PathEscape(id), nil, nil, &out))
}

// WaitTerminal long-polls a terminal (GET ?wait=): it returns once its
// state or open payment changes, or after wait (at most 60 s).
func (c *Client) WaitTerminal(ctx context.Context, id string, wait time.Duration) (*Terminal, error) {
	ctx, cancel := context.WithTimeout(ctx, wait+20*time.Second)
	defer cancel()
	q := url.Values{"wait": {strconv.FormatInt(int64(wait/time.Second), 10) + "s"}}
	var out Terminal
	return result(&out, c.do(ctx, http.MethodGet, "/v1/terminals/"+url.PathEscape(id), q, nil, &out))
}

// DailyReport returns the end of day of date (YYYY-MM-DD, in the
// merchant's time zone); terminal and connector narrow it when not "".
func (c *Client) DailyReport(ctx context.Context, date, terminal, connector string) (*DailyReport, error) {
	q := url.Values{"date": {date}}
	if terminal != "" {
		q.Set("terminal", terminal)
	}
	if connector != "" {
		q.Set("connector", connector)
	}
	var out DailyReport
	return result(&out, c.do(ctx, http.MethodGet, "/v1/reports/daily", q, nil, &out))
}

// ListAccounts returns a page of provider accounts.
func (c *Client) ListAccounts(ctx context.Context, limit int, startingAfter string) (*List[Account], error) {
	var out List[Account]
	return result(&out, c.do(ctx, http.MethodGet, "/v1/accounts", page(limit, startingAfter), nil, &out))
}

// CreateWebhookEndpoint registers a webhook endpoint; the answer holds its
// secret, shown this once.
func (c *Client) CreateWebhookEndpoint(ctx context.Context, w CreateWebhookEndpoint, opts ...CallOption) (*WebhookEndpoint, error) {
	var out WebhookEndpoint
	return result(&out, c.do(ctx, http.MethodPost, "/v1/webhook_endpoints", nil, w, &out, opts...))
}

// DeleteWebhookEndpoint deletes a webhook endpoint.
func (c *Client) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/webhook_endpoints/"+url.PathEscape(id), nil, nil, nil)
}

func page(limit int, startingAfter string) url.Values {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if startingAfter != "" {
		q.Set("starting_after", startingAfter)
	}
	return q
}

// result is v, or nil with err.
func result[T any](v *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
