package trustpayments

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/tenderpay/tender"
)

// WSClient calls the Webservices JSON API (notes §6): HTTP Basic auth,
// the {"alias","version","request":[…]} envelope, a REQUESTREFERENCE
// header that the gateway echoes.
type WSClient struct {
	URL      string
	Username string
	Password string
	HTTP     *http.Client
}

// refAlphabet is the SDKs' requestreference alphabet (notes §6.2).
const refAlphabet = "0123456789abcdefghjkmnpqrtuvwxy"

// NewRequestReference returns "A" + 8 characters, as the official SDKs send.
func NewRequestReference() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = refAlphabet[int(b[i])%len(refAlphabet)]
	}
	return "A" + string(b[:])
}

// maxReply bounds a Webservices reply we read.
const maxReply = 4 << 20

// Do sends request objects in one envelope and returns the response
// elements. Errors follow the connector contract: a failure before the
// request could have acted (bad credentials) is EProvider; anything after it
// may have reached the gateway (transport error, unreadable reply, another
// requestreference) is EUnavailable.
func (c *WSClient) Do(ctx context.Context, reqs ...map[string]any) ([]Result, error) {
	body, err := json.Marshal(Envelope{Alias: c.Username, Version: WSVersion, Request: reqs})
	if err != nil {
		return nil, tender.Wrap(tender.EInternal, err, "could not encode the Trust Payments request")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, tender.Wrap(tender.EInvalid, err, "the Trust Payments webservices_url is not usable")
	}
	ref := NewRequestReference()
	req.SetBasicAuth(c.Username, c.Password)
	req.Header.Set("Content-Type", "application/json;charset=utf-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("REQUESTREFERENCE", ref)
	req.Header.Set("VERSIONINFO", "Go::tender::trustpayments")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, tender.Wrap(tender.EUnavailable, err, "Trust Payments could not be reached")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return nil, tender.Wrap(tender.EUnavailable, err, "the answer from Trust Payments was cut off")
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		// notes §6.3: bad credentials → 401 with an HTML body; nothing done.
		return nil, &tender.Error{Code: tender.EProvider, Message: "Trust Payments refused the Webservices credentials", ProviderCode: "401"}
	case resp.StatusCode == http.StatusBadRequest:
		return nil, &tender.Error{Code: tender.EProvider, Message: "Trust Payments refused the request as malformed", ProviderCode: "400"}
	case resp.StatusCode != http.StatusOK:
		return nil, tender.Wrap(tender.EUnavailable, fmt.Errorf("HTTP %d", resp.StatusCode), "Trust Payments answered with an error")
	}
	var env ResponseEnvelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, tender.Wrap(tender.EUnavailable, err, "the answer from Trust Payments could not be read")
	}
	if env.RequestReference != ref {
		return nil, tender.Wrap(tender.EUnavailable, fmt.Errorf("requestreference %q, sent %q", truncate(env.RequestReference, 20), ref), "the answer from Trust Payments was for another request")
	}
	if len(env.Response) == 0 {
		return nil, tender.Errorf(tender.EUnavailable, "Trust Payments answered without a result")
	}
	return env.Response, nil
}

// Query runs a TRANSACTIONQUERY and returns the matching records. An
// errorcode other than 0 is an EProvider error (a query changes nothing).
func (c *WSClient) Query(ctx context.Context, filter map[string]string) ([]Result, error) {
	res, err := c.Do(ctx, map[string]any{
		"requesttypedescriptions": []string{"TRANSACTIONQUERY"},
		"filter":                  Filter(filter),
	})
	if err != nil {
		return nil, err
	}
	if code := res[0].Get("errorcode"); code != "0" {
		return nil, &tender.Error{Code: tender.EUnavailable, Message: "Trust Payments could not run the transaction query", ProviderCode: safeCode(code)}
	}
	return res[0].Records, nil
}

// Update runs a TRANSACTIONUPDATE on one transaction of site and returns
// its response element (the caller judges the errorcode).
func (c *WSClient) Update(ctx context.Context, site, txref string, updates map[string]string) (Result, error) {
	res, err := c.Do(ctx, map[string]any{
		"requesttypedescriptions": []string{"TRANSACTIONUPDATE"},
		"filter":                  Filter(map[string]string{"sitereference": site, "transactionreference": txref}),
		"updates":                 updates,
	})
	if err != nil {
		return Result{}, err
	}
	return res[0], nil
}

// Refund runs a REFUND of amount (field "baseamount" or "mainamount") of
// parent and returns its response element. With no amountField the whole
// settled amount is refunded (notes §6.7).
func (c *WSClient) Refund(ctx context.Context, site, parent, orderref string, amountField, amount string) (Result, error) {
	req := map[string]any{
		"requesttypedescriptions":    []string{"REFUND"},
		"sitereference":              site,
		"parenttransactionreference": parent,
		"orderreference":             orderref,
	}
	if amountField != "" {
		req[amountField] = amount
	}
	res, err := c.Do(ctx, req)
	if err != nil {
		return Result{}, err
	}
	return res[0], nil
}
