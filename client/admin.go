package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// CreateAccount creates a provider account.
func (c *Client) CreateAccount(ctx context.Context, a CreateAccount, opts ...CallOption) (*Account, error) {
	var out Account
	return result(&out, c.do(ctx, http.MethodPost, "/v1/accounts", nil, a, &out, opts...))
}

// GetAccount returns a provider account.
func (c *Client) GetAccount(ctx context.Context, id string) (*Account, error) {
	var out Account
	return result(&out, c.do(ctx, http.MethodGet, "/v1/accounts/"+url.PathEscape(id), nil, nil, &out))
}

// UpdateAccount changes a provider account.
func (c *Client) UpdateAccount(ctx context.Context, id string, a UpdateAccount, opts ...CallOption) (*Account, error) {
	var out Account
	return result(&out, c.do(ctx, http.MethodPost, "/v1/accounts/"+url.PathEscape(id), nil, a, &out, opts...))
}

// CreateTerminal registers a terminal.
func (c *Client) CreateTerminal(ctx context.Context, t CreateTerminal, opts ...CallOption) (*Terminal, error) {
	var out Terminal
	return result(&out, c.do(ctx, http.MethodPost, "/v1/terminals", nil, t, &out, opts...))
}

// UpdateTerminal changes a terminal.
func (c *Client) UpdateTerminal(ctx context.Context, id string, t UpdateTerminal, opts ...CallOption) (*Terminal, error) {
	var out Terminal
	return result(&out, c.do(ctx, http.MethodPost, "/v1/terminals/"+url.PathEscape(id), nil, t, &out, opts...))
}

// GetWebhookEndpoint returns a webhook endpoint (never its secret).
func (c *Client) GetWebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error) {
	var out WebhookEndpoint
	return result(&out, c.do(ctx, http.MethodGet, "/v1/webhook_endpoints/"+url.PathEscape(id), nil, nil, &out))
}

// ListWebhookEndpoints returns a page of webhook endpoints.
func (c *Client) ListWebhookEndpoints(ctx context.Context, limit int, startingAfter string) (*List[WebhookEndpoint], error) {
	var out List[WebhookEndpoint]
	return result(&out, c.do(ctx, http.MethodGet, "/v1/webhook_endpoints", page(limit, startingAfter), nil, &out))
}

// RollWebhookSecret gives an endpoint a new secret (in the answer only);
// the old one keeps signing next to it for 24 hours.
func (c *Client) RollWebhookSecret(ctx context.Context, id string, opts ...CallOption) (*WebhookEndpoint, error) {
	var out WebhookEndpoint
	return result(&out, c.do(ctx, http.MethodPost, "/v1/webhook_endpoints/"+url.PathEscape(id)+"/roll_secret", nil, struct{}{}, &out, opts...))
}

// ListWebhookDeliveries returns an endpoint's recent deliveries, newest
// first (startingAfter: a delivery id, 0 for the first page).
func (c *Client) ListWebhookDeliveries(ctx context.Context, endpointID string, limit int, startingAfter int64) (*List[WebhookDelivery], error) {
	q := page(limit, "")
	if startingAfter > 0 {
		q.Set("starting_after", strconv.FormatInt(startingAfter, 10))
	}
	var out List[WebhookDelivery]
	return result(&out, c.do(ctx, http.MethodGet, "/v1/webhook_endpoints/"+url.PathEscape(endpointID)+"/deliveries", q, nil, &out))
}

// RetryWebhookDelivery sends a finished delivery again at once.
func (c *Client) RetryWebhookDelivery(ctx context.Context, endpointID string, id int64, opts ...CallOption) (*WebhookDelivery, error) {
	var out WebhookDelivery
	path := "/v1/webhook_endpoints/" + url.PathEscape(endpointID) + "/deliveries/" + strconv.FormatInt(id, 10) + "/retry"
	return result(&out, c.do(ctx, http.MethodPost, path, nil, struct{}{}, &out, opts...))
}
