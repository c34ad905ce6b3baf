package computop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client makes Paygate's server-to-server calls (capture.aspx,
// reverse.aspx, credit.aspx, inquire.aspx) and builds the browser request for WERO.aspx.
type Client struct {
	BaseURL  string // e.g. https://www.computop-paygate.com (no trailing slash)
	Merchant *Merchant
	HTTP     *http.Client
	Timeout  time.Duration // per request; 0 means 30s
}

// ErrUnanswered wraps every failure after which Paygate may have acted: a
// transport error, a timeout, a non-200 status or an unreadable reply.
var ErrUnanswered = errors.New("computop: Paygate did not answer")

// URL returns the URL of a Paygate page.
func (c *Client) URL(path string) string { return strings.TrimRight(c.BaseURL, "/") + "/" + path }

// Action is a capture, reversal or credit of a Paygate payment.
type Action struct {
	PayID    string
	TransID  string
	Amount   int64
	Currency string
	RefNr    string
	ReqID    string
	UserData string // reversal only
}

func (a *Action) params(m *Merchant, spec *Spec) (Params, error) {
	amount := strconv.FormatInt(a.Amount, 10)
	var ps Params
	ps.Add("MerchantID", m.ID)
	ps.Add("PayID", a.PayID)
	ps.Add("TransID", a.TransID)
	ps.Add("Amount", amount)
	ps.Add("Currency", a.Currency)
	ps.Add("MAC", RequestMAC(m.HMACKey, a.PayID, a.TransID, m.ID, amount, a.Currency))
	if spec != &SpecCredit {
		ps.AddIf("RefNr", a.RefNr)
	}
	if spec == &SpecReverse {
		ps.AddIf("UserData", a.UserData)
	}
	ps.AddIf("ReqId", a.ReqID)
	if err := spec.Validate(ps, true); err != nil {
		return nil, err
	}
	return ps, nil
}

// Capture captures an amount of an ED authorization (capture.aspx). A
// *FieldError means nothing was sent; an error wrapping ErrUnanswered means
// the outcome is unknown.
func (c *Client) Capture(ctx context.Context, a *Action) (*Result, error) {
	ps, err := a.params(c.Merchant, &SpecCapture)
	if err != nil {
		return nil, err
	}
	return c.call(ctx, capturePath, ps, &SpecActionResult)
}

// Reverse reverses the last step of a payment (reverse.aspx; notes §1:
// "ALWAYS THE LAST TRANSACTION STEP").
func (c *Client) Reverse(ctx context.Context, a *Action) (*Result, error) {
	ps, err := a.params(c.Merchant, &SpecReverse)
	if err != nil {
		return nil, err
	}
	return c.call(ctx, reversePath, ps, &SpecActionResult)
}

// Credit refunds an amount of a captured payment (credit.aspx, notes §13).
// Like Capture, a *FieldError means nothing was sent and an error wrapping
// ErrUnanswered that the outcome is unknown. A Result whose Code is of
// KindPending (or KindInfo) is a credit still in transit.
func (c *Client) Credit(ctx context.Context, a *Action) (*Result, error) {
	ps, err := a.params(c.Merchant, &SpecCredit)
	if err != nil {
		return nil, err
	}
	return c.call(ctx, creditPath, ps, &SpecActionResult)
}

// Inquire asks Paygate for the state of a payment (inquire.aspx), by PayID
// when known, else by TransID (assumed; see InquiryMAC).
func (c *Client) Inquire(ctx context.Context, payID, transID string) (*Result, error) {
	m := c.Merchant
	var ps Params
	ps.Add("MerchantID", m.ID)
	ps.AddIf("PayID", payID)
	ps.Add("TransID", transID)
	ps.Add("MAC", InquiryMAC(m.HMACKey, payID, transID, m.ID))
	if err := SpecInquire.Validate(ps, true); err != nil {
		return nil, err
	}
	return c.call(ctx, inquirePath, ps, &SpecInquireResult)
}

func (c *Client) call(ctx context.Context, path string, ps Params, spec *Spec) (*Result, error) {
	form, err := c.Merchant.Seal(ps)
	if err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL(path), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("computop: %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnanswered, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: reading reply: %w", ErrUnanswered, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s: HTTP %d", ErrUnanswered, path, resp.StatusCode)
	}
	r, err := c.Merchant.OpenActionResult(string(body), spec)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnanswered, path, err)
	}
	return r, nil
}

// WeroRequest is what a shop sends to WERO.aspx, apart from MerchantID and
// the MAC, which the client adds.
type WeroRequest struct {
	TransID    string
	RefNr      string
	Amount     int64
	Currency   string
	OrderDesc  string
	URLSuccess string
	URLFailure string
	URLNotify  string
	UserData   string
	ReqID      string
	PayTypeED  bool // capture later (PayType=ED)
	ChDesc     string
	Billing    Address
	Shipping   *Address
	Plain      string
	Custom     string
}

// Address is a billing or shipping address (bd* / sd* fields).
type Address struct {
	FirstName       string `json:"first_name"`
	LastName        string `json:"last_name"`
	Street          string `json:"street"`
	AddressAddition string `json:"address_addition,omitempty"`
	City            string `json:"city"`
	ZIP             string `json:"zip"`
	CountryCode     string `json:"country_code,omitempty"`
	State           string `json:"state,omitempty"`
}

func (a *Address) add(ps *Params, prefix string) {
	ps.AddIf(prefix+"FirstName", a.FirstName)
	ps.AddIf(prefix+"LastName", a.LastName)
	ps.AddIf(prefix+"Street", a.Street)
	ps.AddIf(prefix+"AddressAddition", a.AddressAddition)
	ps.AddIf(prefix+"City", a.City)
	ps.AddIf(prefix+"ZIP", a.ZIP)
	ps.AddIf(prefix+"CountryCode", a.CountryCode)
	ps.AddIf(prefix+"State", a.State)
}

// Params builds and validates the WERO.aspx plaintext, in the order of
// notes §8, with Response=encrypt.
func (w *WeroRequest) Params(m *Merchant) (Params, error) {
	amount := strconv.FormatInt(w.Amount, 10)
	var ps Params
	ps.Add("MerchantID", m.ID)
	ps.Add("TransID", w.TransID)
	ps.AddIf("RefNr", w.RefNr)
	ps.Add("Amount", amount)
	ps.Add("Currency", w.Currency)
	ps.Add("MAC", RequestMAC(m.HMACKey, "", w.TransID, m.ID, amount, w.Currency))
	ps.AddIf("OrderDesc", w.OrderDesc)
	ps.Add("URLSuccess", w.URLSuccess)
	ps.Add("URLFailure", w.URLFailure)
	ps.Add("URLNotify", w.URLNotify)
	ps.Add("Response", "encrypt")
	ps.AddIf("UserData", w.UserData)
	ps.AddIf("ReqId", w.ReqID)
	if w.PayTypeED {
		ps.Add("PayType", "ED")
	}
	ps.Add("ChDesc", w.ChDesc)
	w.Billing.add(&ps, "bd")
	if w.Shipping != nil {
		w.Shipping.add(&ps, "sd")
	}
	ps.AddIf("Plain", w.Plain)
	ps.AddIf("Custom", w.Custom)
	if err := SpecWero.Validate(ps, true); err != nil {
		return nil, err
	}
	return ps, nil
}

// WeroForm returns the URL of WERO.aspx and the outer fields (MerchantID,
// Len, Data) to send the shopper's browser there, by GET or POST.
func (c *Client) WeroForm(w *WeroRequest) (action string, fields url.Values, err error) {
	ps, err := w.Params(c.Merchant)
	if err != nil {
		return "", nil, err
	}
	fields, err = c.Merchant.Seal(ps)
	if err != nil {
		return "", nil, err
	}
	return c.URL(weroPath), fields, nil
}
