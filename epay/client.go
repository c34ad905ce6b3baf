package epay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

const maxBody = 1 << 20

// ImpactClient calls Impact's POS signing service (notes §6).
type ImpactClient struct {
	BaseURL string // e.g. https://einvoiceapi.impact.gr
	APIKey  string // sent as the APIKey header
	HTTP    *http.Client
}

// SignPOS asks Impact to sign a payment order. It returns the answer, its
// parsed clear text, or an *APIError / transport error.
func (c *ImpactClient) SignPOS(ctx context.Context, req SignPOSRequest) (SignPOSResponse, ClearText, error) {
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/PosTransactions/signpos", bytes.NewReader(body))
	if err != nil {
		return SignPOSResponse{}, ClearText{}, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("APIKey", c.APIKey)
	status, rb, err := send(c.HTTP, hr)
	if err != nil {
		return SignPOSResponse{}, ClearText{}, err
	}
	if status != http.StatusOK {
		return SignPOSResponse{}, ClearText{}, ParseErrorBody("impact", status, rb)
	}
	return ParseSignPOSResponse(rb)
}

func send(hc *http.Client, r *http.Request) (int, []byte, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(r)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

// WebECRClient calls ePay's WebECR backend (notes §7). It logs in with
// User/Password, keeps the JWT pair and refreshes it transparently when the
// backend says the access token is no longer valid. The per-terminal API
// key is given with each call. Safe for concurrent use.
type WebECRClient struct {
	BaseURL    string // e.g. https://webecr.epayworldwide.com:11007
	PathPrefix string // "" for ePay; "/api/v2.2" on Mellon-style hosts
	User       string
	Password   string
	HTTP       *http.Client

	mu      sync.Mutex
	access  string
	refresh string
	// Logins and Refreshes count token requests (for tests and metrics).
	Logins, Refreshes int
}

// ErrAuth means ePay refused the login (wrong User/Password).
var ErrAuth = errors.New("webecr: login refused")

func (c *WebECRClient) url(path string) string {
	return strings.TrimRight(c.BaseURL, "/") + c.PathPrefix + path
}

// Login gets a fresh token pair.
func (c *WebECRClient) Login(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loginLocked(ctx)
}

func (c *WebECRClient) loginLocked(ctx context.Context) error {
	var tr TokenResponse
	status, err := c.post(ctx, "/token/", "", "", TokenRequest{Username: c.User, Password: c.Password}, &tr)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && (status == 401 || status == 400) {
			return fmt.Errorf("%w: %v", ErrAuth, err)
		}
		return err
	}
	if tr.Access == "" {
		return errors.New("webecr: token answer without access token")
	}
	c.Logins++
	c.access, c.refresh = tr.Access, tr.Refresh
	return nil
}

// renew replaces a rejected access token: refresh first, login if that fails.
func (c *WebECRClient) renew(ctx context.Context, rejected string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.access != rejected && c.access != "" {
		return nil // another call renewed it meanwhile
	}
	if c.refresh != "" {
		var tr TokenResponse
		if _, err := c.post(ctx, "/token/refresh/", "", "", RefreshRequest{Refresh: c.refresh}, &tr); err == nil && tr.Access != "" {
			c.Refreshes++
			c.access = tr.Access
			if tr.Refresh != "" {
				c.refresh = tr.Refresh
			}
			return nil
		}
	}
	return c.loginLocked(ctx)
}

func (c *WebECRClient) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.access == "" {
		if err := c.loginLocked(ctx); err != nil {
			return "", err
		}
	}
	return c.access, nil
}

// call does an authenticated request; on 401 it renews the token and tries
// once more. DRF authenticates before it acts, so the retry never doubles
// an operation.
func (c *WebECRClient) call(ctx context.Context, method, path, apiKey string, in, out any) (int, error) {
	tok, err := c.token(ctx)
	if err != nil {
		return 0, err
	}
	status, err := c.do(ctx, method, path, tok, apiKey, in, out)
	if status == http.StatusUnauthorized {
		// Expired or revoked access token ("token_not_valid"); a wrong API
		// key is 403, so any 401 here is about the JWT.
		if err := c.renew(ctx, tok); err != nil {
			return 0, err
		}
		tok, err = c.token(ctx)
		if err != nil {
			return 0, err
		}
		return c.do(ctx, method, path, tok, apiKey, in, out)
	}
	return status, err
}

func (c *WebECRClient) post(ctx context.Context, path, tok, apiKey string, in, out any) (int, error) {
	return c.do(ctx, http.MethodPost, path, tok, apiKey, in, out)
}

func (c *WebECRClient) do(ctx context.Context, method, path, tok, apiKey string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = c.url(path)
	}
	r, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, err
	}
	r.Header.Set("Accept", "application/json")
	if in != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	if apiKey != "" {
		r.Header.Set("X-Api-Key", apiKey)
	}
	status, rb, err := send(c.HTTP, r)
	if err != nil {
		return 0, err
	}
	if status < 200 || status > 299 {
		return status, ParseErrorBody("webecr", status, rb)
	}
	if out != nil {
		if err := json.Unmarshal(rb, out); err != nil {
			return status, fmt.Errorf("webecr: unparseable answer to %s %s: %w", method, path, err)
		}
	}
	return status, nil
}

// Redeem turns the one-time code shown by a terminal into its API key
// (POST /authorization/redeem/, Bearer only; notes §7.2).
func (c *WebECRClient) Redeem(ctx context.Context, code string) (string, error) {
	var rr RedeemResponse
	if _, err := c.call(ctx, http.MethodPost, "/authorization/redeem/", "", RedeemRequest{Type: "webecr", Code: code}, &rr); err != nil {
		return "", err
	}
	if rr.ID == "" {
		return "", errors.New("webecr: redeem answer without Id")
	}
	return rr.ID, nil
}

// maxPages bounds how many pages a list call follows.
const maxPages = 50

func list[T any](ctx context.Context, c *WebECRClient, path, apiKey string) ([]T, error) {
	var all []T
	for range maxPages {
		var p Page[T]
		if _, err := c.call(ctx, http.MethodGet, path, apiKey, nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Results...)
		if p.Next == nil || *p.Next == "" {
			return all, nil
		}
		next, err := c.sameHost(*p.Next)
		if err != nil {
			return nil, err
		}
		path = next
	}
	return all, nil
}

// sameHost allows following a pagination link only to the configured host,
// so the bearer token and API key never go elsewhere.
func (c *WebECRClient) sameHost(next string) (string, error) {
	base, err1 := url.Parse(c.BaseURL)
	u, err2 := url.Parse(next)
	if err1 != nil || err2 != nil || u.Host != base.Host || u.Scheme != base.Scheme {
		return "", errors.New("webecr: pagination link to another host")
	}
	return u.String(), nil
}

// Terminals lists the terminals visible with apiKey whose TID is tid
// (all when tid is "").
func (c *WebECRClient) Terminals(ctx context.Context, apiKey, tid string) ([]TerminalRecord, error) {
	path := "/terminal/"
	if tid != "" {
		path += "?TerminalID=" + url.QueryEscape(tid)
	}
	return list[TerminalRecord](ctx, c, path, apiKey)
}

// ResolveTerminal returns the backend id of the terminal with TID tid: the
// id in /terminal/{id}/ is not the TID (notes §7.3).
func (c *WebECRClient) ResolveTerminal(ctx context.Context, apiKey, tid string) (string, error) {
	for _, filter := range []string{tid, ""} { // filtered first, then a full scan
		ts, err := c.Terminals(ctx, apiKey, filter)
		if err != nil {
			return "", err
		}
		for _, t := range ts {
			if t.TerminalID == tid && t.ID != "" {
				return string(t.ID), nil
			}
		}
	}
	return "", fmt.Errorf("webecr: no terminal with TID %s", tid)
}

// TxnInit starts a transaction intent on terminal id.
func (c *WebECRClient) TxnInit(ctx context.Context, apiKey, terminalID string, req TxnInitRequest) (Intent, error) {
	var raw json.RawMessage
	if _, err := c.call(ctx, http.MethodPost, "/terminal/"+url.PathEscape(terminalID)+"/txninit/", apiKey, req, &raw); err != nil {
		return Intent{}, err
	}
	return ParseIntent(raw)
}

// Void voids a transaction (or withdraws a pending intent) on terminal id.
func (c *WebECRClient) Void(ctx context.Context, apiKey, terminalID string, req VoidRequest) (Intent, error) {
	var raw json.RawMessage
	if _, err := c.call(ctx, http.MethodPost, "/terminal/"+url.PathEscape(terminalID)+"/txnvoid/", apiKey, req, &raw); err != nil {
		return Intent{}, err
	}
	return ParseIntent(raw)
}

// IntentsByReference lists the intents with CustomerReference ref.
func (c *WebECRClient) IntentsByReference(ctx context.Context, apiKey, ref string) ([]Intent, error) {
	return list[Intent](ctx, c, "/transactionintent/?CustomerReference="+url.QueryEscape(ref), apiKey)
}

// Transactions lists the host transaction records of TID since t.
func (c *WebECRClient) Transactions(ctx context.Context, apiKey, tid string, since time.Time) ([]Transaction, error) {
	q := url.Values{"TID": {tid}, "Timestamp_min": {since.UTC().Format("2006-01-02T15:04:05Z")}}
	return list[Transaction](ctx, c, "/transaction/?"+q.Encode(), apiKey)
}
