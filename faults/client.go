package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// apiPayment is the part of Tender's payment object the harness reads.
type apiPayment struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	Amount         int64  `json:"amount"`
	Connector      string `json:"connector"`
	Reference      string `json:"reference"`
	Capture        string `json:"capture"`
	CapturedAmount int64  `json:"captured_amount"`
	RefundedAmount int64  `json:"refunded_amount"`
	NextAction     *struct {
		Type string            `json:"type"`
		URL  string            `json:"url"`
		Data map[string]string `json:"data"`
	} `json:"next_action"`
	Failure *struct {
		Code string `json:"code"`
	} `json:"failure"`
}

// settled mirrors tender.Status.Settled: the provider's answer is in.
func (p *apiPayment) settled() bool {
	switch p.Status {
	case "pending", "requires_action", "processing", "unknown", "":
		return false
	}
	return true
}

// answer is what one API call finally got.
type answer struct {
	status   int
	body     []byte
	err      error // no answer at all
	attempts int
}

func (a answer) ok() bool { return a.err == nil && a.status >= 200 && a.status < 300 }

func (a answer) code() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(a.body, &e)
	return e.Error.Code
}

func (a answer) payment() (*apiPayment, error) {
	var p apiPayment
	if err := json.Unmarshal(a.body, &p); err != nil || p.ID == "" {
		return nil, fmt.Errorf("not a payment: HTTP %d %.200s", a.status, a.body)
	}
	return &p, nil
}

func (a answer) String() string {
	if a.err != nil {
		return fmt.Sprintf("no answer after %d attempts: %v", a.attempts, a.err)
	}
	return fmt.Sprintf("HTTP %d %.300s", a.status, a.body)
}

// client is a POS or shop talking to Tender's instances. Like a real POS it
// retries a request that got no answer (or a 5xx, or "in flight") with the
// same Idempotency-Key until it gets one, within limits; a request sent
// without a key is never retried, because a retry could pay twice.
type client struct {
	http      *http.Client
	apiKey    string
	instances []*Instance
	patience  time.Duration // how long one request is retried

	mu  sync.Mutex
	rnd *rand.Rand
}

func (c *client) intn(n int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rnd.IntN(n)
}

func (c *client) float() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rnd.Float64()
}

// base picks an instance: a random one that is up, as a balancer would.
func (c *client) base() string {
	start := c.intn(len(c.instances))
	for i := range c.instances {
		if in := c.instances[(start+i)%len(c.instances)]; in.Up() {
			return in.URL()
		}
	}
	return c.instances[start].URL()
}

func (c *client) once(ctx context.Context, method, path string, body []byte, key string) answer {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base()+path, rd)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{err: err}
	}
	return answer{status: res.StatusCode, body: b}
}

// retryable says whether a POS would send the request again: no answer, a
// 5xx other than 502 (the provider refused: an answer), or a key in flight.
func retryable(a answer, path string) bool {
	if a.err != nil {
		return true
	}
	switch {
	case a.status == http.StatusBadGateway:
		// A provider that refused or could not be asked before anything
		// happened: a POS tries a capture, refund or cancel again with its
		// key ("try again"); a create's 502 is the payment's failure.
		return strings.HasSuffix(path, "/capture") || strings.HasSuffix(path, "/refunds") || strings.HasSuffix(path, "/cancel")
	case a.status >= 500:
		return true
	case a.status == http.StatusConflict && a.code() == "idempotency_error":
		return true
	}
	return false
}

// do sends a request; with a key (or for a GET) it retries as a POS does.
func (c *client) do(ctx context.Context, method, path string, body any, key string) answer {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return answer{err: err}
		}
	}
	deadline := time.Now().Add(c.patience)
	var a answer
	for n := 1; ; n++ {
		a = c.once(ctx, method, path, b, key)
		a.attempts = n
		if !retryable(a, path) || method != http.MethodGet && key == "" || time.Now().After(deadline) || ctx.Err() != nil {
			return a
		}
		select {
		case <-ctx.Done():
			return a
		case <-time.After(time.Duration(300+c.intn(1200)) * time.Millisecond):
		}
	}
}

// postForm posts a shopper's form to Tender's public URL (a browser
// retrying a page that did not load), without following redirects.
func postForm(ctx context.Context, target string, form url.Values) error {
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var err error
	for i := range 5 {
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		var res *http.Response
		if res, err = hc.Do(req); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode < 500 {
				return nil
			}
			err = fmt.Errorf("HTTP %d", res.StatusCode)
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(i+1) * time.Second):
		}
	}
	return err
}
