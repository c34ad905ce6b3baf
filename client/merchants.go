package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Merchant is the API's merchant object. Only a platform key reads and
// writes merchants.
type Merchant struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Name          string            `json:"name"`
	Country       *string           `json:"country"`
	DefaultLocale *string           `json:"default_locale"`
	TimeZone      string            `json:"time_zone"` // IANA name the merchant's days are counted in; "UTC" by default
	Branding      Branding          `json:"branding"`
	Metadata      map[string]string `json:"metadata"`
	CreatedAt     time.Time         `json:"created_at"`
}

// Branding is how a merchant's hosted pages look.
type Branding struct {
	DisplayName *string `json:"display_name"`
	LogoURL     *string `json:"logo_url"`
	Color       *string `json:"color"`
}

// SetBranding is a merchant's branding in a request; it replaces the
// branding as a whole.
type SetBranding struct {
	DisplayName string `json:"display_name,omitempty"`
	LogoURL     string `json:"logo_url,omitempty"` // an absolute https URL
	Color       string `json:"color,omitempty"`    // "#rrggbb"
}

// CreateMerchant is the body of POST /v1/merchants; an empty ID is made up.
type CreateMerchant struct {
	ID            string            `json:"id,omitempty"`
	Name          string            `json:"name"`
	Country       string            `json:"country,omitempty"`        // ISO 3166-1 alpha-2, e.g. "NL"
	DefaultLocale string            `json:"default_locale,omitempty"` // BCP 47, e.g. "nl-NL"
	TimeZone      string            `json:"time_zone,omitempty"`      // IANA name, e.g. "Europe/Athens"; "" is UTC
	Branding      *SetBranding      `json:"branding,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

// UpdateMerchant is the body of POST /v1/merchants/{id}: nil fields stay
// as they are; "" removes Country or DefaultLocale; Branding and Metadata
// replace the old ones when not nil.
type UpdateMerchant struct {
	Name          *string           `json:"name,omitempty"`
	Country       *string           `json:"country,omitempty"`
	DefaultLocale *string           `json:"default_locale,omitempty"`
	TimeZone      *string           `json:"time_zone,omitempty"` // IANA name; "" is UTC
	Branding      *SetBranding      `json:"branding,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

// API key scopes.
const (
	ScopePlatform = "platform" // every merchant; Tender-Merchant (WithMerchant) picks one
	ScopeMerchant = "merchant" // one merchant
	ScopeTerminal = "terminal" // payments on some terminals of one merchant
)

// APIKey is the API's API key object. Secret is set only in the answer
// that made the key (CreateAPIKey, RollAPIKey): Tender keeps only its hash.
type APIKey struct {
	ID         string     `json:"id"`
	Object     string     `json:"object"`
	Name       *string    `json:"name"`
	Prefix     string     `json:"prefix"`
	Scope      string     `json:"scope"`
	Merchant   *string    `json:"merchant"` // nil for a platform key
	Terminals  []string   `json:"terminals,omitempty"`
	Secret     string     `json:"secret,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// CreateAPIKey is the body of POST /v1/api_keys. An empty Merchant is the
// caller's merchant (a platform key's: its Tender-Merchant); only a
// platform key may create a platform key.
type CreateAPIKey struct {
	Name      string   `json:"name,omitempty"`
	Scope     string   `json:"scope"`
	Merchant  string   `json:"merchant,omitempty"`
	Terminals []string `json:"terminals,omitempty"`
}

// CreateMerchant creates a merchant (platform keys only).
func (c *Client) CreateMerchant(ctx context.Context, m CreateMerchant, opts ...CallOption) (*Merchant, error) {
	var out Merchant
	return result(&out, c.do(ctx, http.MethodPost, "/v1/merchants", nil, m, &out, opts...))
}

// ListMerchants returns a page of merchants (platform keys only).
func (c *Client) ListMerchants(ctx context.Context, limit int, startingAfter string) (*List[Merchant], error) {
	var out List[Merchant]
	return result(&out, c.do(ctx, http.MethodGet, "/v1/merchants", page(limit, startingAfter), nil, &out))
}

// GetMerchant returns a merchant (platform keys only).
func (c *Client) GetMerchant(ctx context.Context, id string) (*Merchant, error) {
	var out Merchant
	return result(&out, c.do(ctx, http.MethodGet, "/v1/merchants/"+url.PathEscape(id), nil, nil, &out))
}

// UpdateMerchant changes a merchant (platform keys only).
func (c *Client) UpdateMerchant(ctx context.Context, id string, m UpdateMerchant, opts ...CallOption) (*Merchant, error) {
	var out Merchant
	return result(&out, c.do(ctx, http.MethodPost, "/v1/merchants/"+url.PathEscape(id), nil, m, &out, opts...))
}

// CreateAPIKey makes an API key; the answer holds its secret, the only
// time it is shown. The API does not replay this call by Idempotency-Key
// (it never stores the secret), so the client never sends it twice: if the
// answer is lost, list the keys and revoke the one that came of it.
func (c *Client) CreateAPIKey(ctx context.Context, k CreateAPIKey, opts ...CallOption) (*APIKey, error) {
	var out APIKey
	return result(&out, c.do(ctx, http.MethodPost, "/v1/api_keys", nil, k, &out, append(opts, noRetry)...))
}

// ListAPIKeys returns a page of API keys: for a platform key every
// merchant's (with WithMerchant, that merchant's), for a merchant key its
// merchant's.
func (c *Client) ListAPIKeys(ctx context.Context, limit int, startingAfter string) (*List[APIKey], error) {
	var out List[APIKey]
	return result(&out, c.do(ctx, http.MethodGet, "/v1/api_keys", page(limit, startingAfter), nil, &out))
}

// RevokeAPIKey revokes an API key at once.
func (c *Client) RevokeAPIKey(ctx context.Context, id string, opts ...CallOption) (*APIKey, error) {
	var out APIKey
	return result(&out, c.do(ctx, http.MethodPost, "/v1/api_keys/"+url.PathEscape(id)+"/revoke", nil, struct{}{}, &out, opts...))
}

// RollAPIKey replaces an API key by a new one of the same name, scope,
// merchant and terminals (its secret is in the answer only) and revokes
// the old one at once. Like CreateAPIKey it is never sent twice.
func (c *Client) RollAPIKey(ctx context.Context, id string, opts ...CallOption) (*APIKey, error) {
	var out APIKey
	return result(&out, c.do(ctx, http.MethodPost, "/v1/api_keys/"+url.PathEscape(id)+"/roll", nil, struct{}{}, &out, append(opts, noRetry)...))
}

// noRetry marks a call that must not be sent again after a lost answer.
func noRetry(c *call) { c.noRetry = true }
