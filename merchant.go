package tender

import (
	"context"
	"time"
)

// DefaultMerchant is the id of the merchant every install has: a one-shop
// install uses it without knowing, and a database made before merchants
// existed has all its rows migrated into it. An object stored with no
// merchant belongs to it.
const DefaultMerchant = "mer_default"

// Merchant is one shop (or one customer of a POS vendor or platform).
// Accounts, terminals, payments, events, webhook endpoints, idempotency
// keys and API keys each belong to exactly one merchant; nothing is shared
// between merchants.
type Merchant struct {
	ID            string
	Name          string
	Country       string // ISO 3166-1 alpha-2, "" when not given
	DefaultLocale string // BCP 47, e.g. "nl-NL"; "" when not given
	// TimeZone is the IANA name of the zone the merchant's days are
	// counted in (the end-of-day report), e.g. "Europe/Athens"; "" is UTC.
	TimeZone  string
	Branding  Branding
	Metadata  map[string]string
	CreatedAt time.Time
}

// Branding is how Tender's hosted pages present a merchant.
type Branding struct {
	DisplayName string `json:"display_name,omitempty"`
	LogoURL     string `json:"logo_url,omitempty"`
	Color       string `json:"color,omitempty"` // "#rrggbb"
}

// MerchantOr returns id, or DefaultMerchant when id is empty.
func MerchantOr(id string) string {
	if id == "" {
		return DefaultMerchant
	}
	return id
}

type merchantKey struct{}

// WithMerchant returns a context in which the engine acts for merchant id:
// it finds only that merchant's objects and creates new ones for it. The
// API sets it from the caller's key (and Tender-Merchant header) on every
// request.
func WithMerchant(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, merchantKey{}, id)
}

// MerchantFrom returns the merchant ctx acts for: the one set by
// WithMerchant, or DefaultMerchant (in-process callers of a one-shop
// install, background work on behalf of the default merchant).
func MerchantFrom(ctx context.Context) string {
	id, _ := ctx.Value(merchantKey{}).(string)
	return MerchantOr(id)
}

// API key scopes.
const (
	// ScopePlatform manages merchants and acts for any merchant (the one
	// named by the Tender-Merchant header, else the default merchant).
	ScopePlatform = "platform"
	// ScopeMerchant acts for its merchant only.
	ScopeMerchant = "merchant"
	// ScopeTerminal creates payments on the terminals it names and reads
	// those payments, nothing else.
	ScopeTerminal = "terminal"
)

// MerchantFilter pages through merchants, in id order.
type MerchantFilter struct {
	Limit         int
	StartingAfter string
}

type localeKey struct{}

// WithLocale returns a context in which a page for a shopper is rendered
// in locale (BCP 47, e.g. "nl-NL"): the one Tender chose for the page, from
// the payment, its merchant or the browser. A connector's hosted checkout
// reads it with LocaleFrom.
func WithLocale(ctx context.Context, locale string) context.Context {
	return context.WithValue(ctx, localeKey{}, locale)
}

// LocaleFrom returns the locale set by WithLocale, or "".
func LocaleFrom(ctx context.Context) string {
	l, _ := ctx.Value(localeKey{}).(string)
	return l
}
