package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// ListPaymentMethods returns a page of the merchant's saved cards, oldest
// first.
func (c *Client) ListPaymentMethods(ctx context.Context, f ListPaymentMethods) (*List[PaymentMethod], error) {
	q := url.Values{}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Customer != "" {
		q.Set("customer", f.Customer)
	}
	if f.StartingAfter != "" {
		q.Set("starting_after", f.StartingAfter)
	}
	if f.Detached {
		q.Set("detached", "true")
	}
	var out List[PaymentMethod]
	return result(&out, c.do(ctx, http.MethodGet, "/v1/payment_methods", q, nil, &out))
}

// GetPaymentMethod returns one saved card.
func (c *Client) GetPaymentMethod(ctx context.Context, id string) (*PaymentMethod, error) {
	var out PaymentMethod
	return result(&out, c.do(ctx, http.MethodGet, "/v1/payment_methods/"+url.PathEscape(id), nil, nil, &out))
}

// DetachPaymentMethod stops a saved card from being charged again.
func (c *Client) DetachPaymentMethod(ctx context.Context, id string, opts ...CallOption) (*PaymentMethod, error) {
	var out PaymentMethod
	return result(&out, c.do(ctx, http.MethodPost, "/v1/payment_methods/"+url.PathEscape(id)+"/detach", nil, struct{}{}, &out, opts...))
}
