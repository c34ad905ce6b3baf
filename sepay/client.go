package sepay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client speaks WECR v2 for one login. It signs every request with the
// integrator's key and believes a response only after verifying it with
// Sepay's key.
type Client struct {
	URL      string // the service, e.g. ProductionURL
	Login    string
	KeyIndex int
	Key      *rsa.PrivateKey // the integrator's (merchant's) signing key
	// Sepay holds Sepay's verification keys by the response key_index
	// (notes §4.4 [INF]); index 0 is the production certificate's key.
	Sepay map[int]*rsa.PublicKey
	HTTP  *http.Client
	// Timeout bounds one request (a long-poll adds its own wait to it).
	Timeout time.Duration
}

// TransportError means the request may have reached Sepay but no usable
// answer came back: the outcome is unknown.
type TransportError struct{ Err error }

func (e *TransportError) Error() string { return "sepay: no answer: " + e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// ResponseError means an answer came back that cannot be believed: its
// signature does not verify (wraps ErrSignature), it does not parse, or it
// echoes another request. The outcome of the request is unknown.
type ResponseError struct {
	Op  string
	Err error
}

func (e *ResponseError) Error() string {
	return "sepay: " + e.Op + " answer rejected: " + e.Err.Error()
}
func (e *ResponseError) Unwrap() error { return e.Err }

// FaultError is a SOAP fault: ASMX rejected the request before running it.
type FaultError struct {
	HTTPStatus int
	Fault      *Fault
}

func (e *FaultError) Error() string {
	return fmt.Sprintf("sepay: HTTP %d: %v", e.HTTPStatus, e.Fault)
}

// Result is a verified answer: its status and all its values.
type Result struct {
	Values Values
}

// Get returns a value of the result ("" when absent).
func (r *Result) Get(name string) string { return r.Values[name] }

// Status returns the two-digit status code.
func (r *Result) Status() string { return strings.TrimSpace(r.Values["status"]) }

func (c *Client) header(sid, ref string) Values {
	return Values{
		"key_index": strconv.Itoa(c.KeyIndex), "version": ProtocolVersion,
		"login": c.Login, "sid": sid, "transactionref": ref,
	}
}

// StartTransaction queues a payment of cents (EUR) on terminal sid.
// callbackURL may be "".
func (c *Client) StartTransaction(ctx context.Context, sid, ref, merchantRef string, cents int64, callbackURL string) (*Result, error) {
	v := c.header(sid, ref)
	v["merchantref"] = merchantRef
	v["amount"] = FormatAmount(cents)
	v["callbackurl"] = callbackURL
	return c.call(ctx, StartTransaction, v, 0)
}

// GetTransactionStatus asks about ref. With wait > 0 Sepay may hold the
// answer until the state changes (long-poll; unit per LongPollUnit).
func (c *Client) GetTransactionStatus(ctx context.Context, sid, ref string, wait time.Duration) (*Result, error) {
	v := c.header(sid, ref)
	n := int(wait / LongPollUnit)
	v["timeout"] = strconv.Itoa(n)
	return c.call(ctx, GetTransactionStatus, v, time.Duration(n)*LongPollUnit)
}

// CancelTransaction asks Sepay to cancel ref before the terminal picks it
// up. The <force> rendering is retried per CancelForceRenderings when Sepay
// says the signature failed.
func (c *Client) CancelTransaction(ctx context.Context, sid, ref string, force bool) (*Result, error) {
	var res *Result
	var err error
	for _, r := range CancelForceRenderings {
		v := c.header(sid, ref)
		v["force"] = r[0]
		if force {
			v["force"] = r[1]
		}
		res, err = c.call(ctx, CancelTransaction, v, 0)
		if err != nil || res.Status() != StatusBadSig {
			return res, err
		}
	}
	return res, err
}

func (c *Client) call(ctx context.Context, op *Operation, v Values, wait time.Duration) (*Result, error) {
	sig, err := SignMessage(c.Key, op.Request, v)
	if err != nil {
		return nil, err
	}
	body := op.MarshalRequest(v, sig)
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout+wait)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("sepay: %s: %w", op.Name, err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", SOAPAction(op.Name))
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, &TransportError{fmt.Errorf("%s: %w", op.Name, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxMessage+1))
	if err != nil {
		return nil, &TransportError{fmt.Errorf("%s: read answer: %w", op.Name, err)}
	}
	m, err := op.ParseResponse(raw)
	var fault *Fault
	if errors.As(err, &fault) {
		return nil, &FaultError{HTTPStatus: resp.StatusCode, Fault: fault}
	}
	if err != nil {
		if resp.StatusCode != http.StatusOK {
			return nil, &TransportError{fmt.Errorf("%s: HTTP %d", op.Name, resp.StatusCode)}
		}
		return nil, &ResponseError{op.Name, err}
	}
	if err := c.verify(op, m); err != nil {
		return nil, &ResponseError{op.Name, err}
	}
	// Only a verified answer about this very request is believed.
	for _, f := range []string{"login", "sid", "transactionref"} {
		if strings.TrimSpace(m.Values[f]) != v[f] {
			return nil, &ResponseError{op.Name, fmt.Errorf("answer is about %s %q, not %q", f, m.Values[f], v[f])}
		}
	}
	return &Result{Values: m.Values}, nil
}

func (c *Client) verify(op *Operation, m *Message) error {
	idx, err := strconv.Atoi(strings.TrimSpace(m.Values["key_index"]))
	if err != nil {
		idx = 0
	}
	pub, ok := c.Sepay[idx]
	if !ok {
		pub, ok = c.Sepay[0] // one Sepay key signs for every integrator key index
	}
	if !ok {
		return fmt.Errorf("%w: no Sepay certificate for key_index %d", ErrSignature, idx)
	}
	return VerifyMessage(pub, op.Result, m)
}

// VerifyResult checks a result that arrived outside a call (a callback)
// against Sepay's key.
func (c *Client) VerifyResult(op *Operation, m *Message) error { return c.verify(op, m) }
