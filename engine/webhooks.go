package engine

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// WebhookEventTypes are the events a merchant's webhook endpoint may
// receive, and by default receives: a payment created, each status it
// enters, each capture or refund that moved money (a second partial
// refund changes no status, so only refund_succeeded tells of it), a
// discrepancy and its resolution, and a subscription's pause or resume
// once the provider confirmed it. The engine's other events (requests,
// failed checks, rejected callbacks) are its own bookkeeping and are never
// sent.
var WebhookEventTypes = []string{
	EvCreated,
	statusEvent(tender.StatusRequiresAction),
	statusEvent(tender.StatusProcessing),
	statusEvent(tender.StatusUnknown),
	statusEvent(tender.StatusAuthorized),
	statusEvent(tender.StatusPartiallyCaptured),
	statusEvent(tender.StatusCaptured),
	statusEvent(tender.StatusPartiallyRefunded),
	statusEvent(tender.StatusRefunded),
	statusEvent(tender.StatusCanceled),
	statusEvent(tender.StatusFailed),
	EvCaptureDone,
	EvRefundDone,
	EvDiscrepancy,
	EvDiscrepancyResolved,
	EvSubscriptionPaused,
	EvSubscriptionResumed,
}

// webhookSecretPrefix starts every signing secret, so that a leaked one is
// easy to recognise (and to find with secret scanners).
const webhookSecretPrefix = "whsec_"

const maxWebhookURL = 2048

// WebhookEndpointRequest is what a merchant gives to register an endpoint.
type WebhookEndpointRequest struct {
	URL         string
	Description string
	// Events to receive; nil means all of WebhookEventTypes.
	Events []string
}

// CreateWebhookEndpoint validates and stores an endpoint with a new
// signing secret, sealed at rest. The returned endpoint carries the plain
// secret in Secret: the only time it is shown.
func (e *Engine) CreateWebhookEndpoint(ctx context.Context, r WebhookEndpointRequest) (*tender.WebhookEndpoint, error) {
	if err := e.validateWebhookURL(r.URL); err != nil {
		return nil, err
	}
	if err := validateText("description", r.Description, 200); err != nil {
		return nil, err
	}
	events, err := webhookEvents(r.Events)
	if err != nil {
		return nil, err
	}
	secret, err := newWebhookSecret()
	if err != nil {
		return nil, err
	}
	w := &tender.WebhookEndpoint{
		ID:          tender.NewID("we"),
		Merchant:    tender.MerchantFrom(ctx),
		URL:         r.URL,
		Description: r.Description,
		Events:      events,
		Secret:      secret,
		CreatedAt:   e.clock.Now().UTC(),
	}
	if w.Sealed, err = e.sealer.Seal([]byte(w.Secret), webhookSealContext(w.ID)); err != nil {
		return nil, err
	}
	if err := e.store.CreateWebhookEndpoint(ctx, w); err != nil {
		return nil, err
	}
	w.Sealed = nil
	return w, nil
}

// webhookSealContext binds a sealed secret to its endpoint: copied to
// another row, it does not open.
func webhookSealContext(id string) string { return "webhook_endpoint:" + id }

// validateWebhookURL accepts an absolute https URL (http too when the
// server allows it, in sandbox mode) without user info: a secret in a URL
// ends up in logs and proxies, and the signature already authenticates
// Tender to the receiver.
func (e *Engine) validateWebhookURL(raw string) error {
	if strings.TrimSpace(raw) == "" {
		return tender.Invalid("url", "url is required: the https URL that receives the events")
	}
	if len(raw) > maxWebhookURL {
		return tender.Invalid("url", "url must be at most %d characters", maxWebhookURL)
	}
	if err := validateText("url", raw, maxWebhookURL); err != nil {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return tender.Invalid("url", "url must be an absolute URL such as https://shop.example/tender/webhooks")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !e.hooks.AllowHTTP {
			return tender.Invalid("url", "url must use https (http is accepted in sandbox mode only)")
		}
	default:
		return tender.Invalid("url", "url must use https, not %q", u.Scheme)
	}
	if u.User != nil {
		// Not echoed: the user info may be a password.
		return tender.Invalid("url", "url must not contain a user name or password; the webhook-signature header authenticates each delivery")
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return tender.Invalid("url", "url must not contain a fragment (#...)")
	}
	if e.hooks.PublicOnly {
		host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
		if a, ok := literalAddr(host); ok && !PublicAddr(a) {
			return tender.Invalid("url", "url must not point at %s: it is not a public address (webhooks reach the public internet only)", a)
		}
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			return tender.Invalid("url", "url must not point at localhost (webhooks reach the public internet only)")
		}
	}
	return nil
}

func webhookEvents(req []string) ([]string, error) {
	if req == nil {
		return slices.Clone(WebhookEventTypes), nil
	}
	if len(req) == 0 {
		return nil, tender.Invalid("events", "events must list at least one event type; leave it out to receive all of them")
	}
	var out []string
	for i, typ := range req {
		if !slices.Contains(WebhookEventTypes, typ) {
			return nil, tender.Invalid("events", "events[%d] %q is not an event type a webhook can receive; they are %s",
				i, truncate(typ, 64), strings.Join(WebhookEventTypes, ", "))
		}
		if !slices.Contains(out, typ) {
			out = append(out, typ)
		}
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// GetWebhookEndpoint returns an endpoint without its secret.
func (e *Engine) GetWebhookEndpoint(ctx context.Context, id string) (*tender.WebhookEndpoint, error) {
	w, err := e.ownEndpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	w.Sealed = nil
	return w, nil
}

// ownEndpoint returns the endpoint with id if it belongs to the merchant
// ctx acts for; another merchant's is not found, as a missing one.
func (e *Engine) ownEndpoint(ctx context.Context, id string) (*tender.WebhookEndpoint, error) {
	w, err := e.store.GetWebhookEndpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	if w.Merchant != tender.MerchantFrom(ctx) {
		return nil, notFound("webhook endpoint", id)
	}
	return w, nil
}

// ListWebhookEndpoints pages through endpoints, without their secrets.
func (e *Engine) ListWebhookEndpoints(ctx context.Context, f tender.ListFilter) ([]*tender.WebhookEndpoint, bool, error) {
	if err := checkListFilter(&f); err != nil {
		return nil, false, err
	}
	f.Connector = ""
	f.Merchant = tender.MerchantFrom(ctx)
	list, more, err := e.store.ListWebhookEndpoints(ctx, f)
	for _, w := range list {
		w.Sealed = nil
	}
	return list, more, err
}

// newWebhookSecret returns a new signing secret: whsec_ and 32 random
// bytes in standard base64, as the Standard Webhooks libraries decode it.
func newWebhookSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return webhookSecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// WebhookSecretOverlap is how long a rolled secret stays valid: deliveries
// are signed with the old and the new one until then, so the merchant can
// deploy the new secret without a gap.
const WebhookSecretOverlap = 24 * time.Hour

// RollWebhookSecret gives an endpoint a new signing secret, returned in
// Secret (the only time it is shown). The old one stays valid for
// WebhookSecretOverlap, or until the next roll.
func (e *Engine) RollWebhookSecret(ctx context.Context, id string) (*tender.WebhookEndpoint, error) {
	w, err := e.ownEndpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	secret, err := newWebhookSecret()
	if err != nil {
		return nil, err
	}
	sealed, err := e.sealer.Seal([]byte(secret), webhookSealContext(w.ID))
	if err != nil {
		return nil, err
	}
	if err := e.store.RollWebhookSecret(ctx, id, sealed, e.clock.Now().UTC().Add(WebhookSecretOverlap)); err != nil {
		return nil, err
	}
	w.Sealed, w.Secret = sealed, secret
	return w, nil
}

// previousWebhookSecret opens the secret a roll replaced while it is
// still valid at now; "" if there is none.
func (e *Engine) previousWebhookSecret(ctx context.Context, id string, now time.Time) (string, error) {
	sealed, err := e.store.PreviousWebhookSecret(ctx, id, now)
	if err != nil || sealed == nil {
		return "", err
	}
	raw, err := e.sealer.Open(sealed, webhookSealContext(id))
	if err != nil {
		return "", tender.Wrap(tender.EInternal, err, "the previous signing secret of webhook endpoint %q does not open with this server's master key", id)
	}
	return string(raw), nil
}

// RetryWebhookDelivery sends a finished delivery (succeeded, failed or
// canceled) again at once. The payload is the payment as it is now.
func (e *Engine) RetryWebhookDelivery(ctx context.Context, endpointID string, id int64) (*tender.WebhookDelivery, error) {
	if _, err := e.ownEndpoint(ctx, endpointID); err != nil {
		return nil, err
	}
	d, err := e.store.RetryWebhookDelivery(ctx, endpointID, id, e.clock.Now().UTC())
	if err != nil {
		return nil, err
	}
	e.kickWebhooks()
	return d, nil
}

// DeleteWebhookEndpoint deletes an endpoint: it receives nothing more, and
// what it had still to receive is canceled.
func (e *Engine) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	if _, err := e.ownEndpoint(ctx, id); err != nil {
		return err
	}
	return e.store.DeleteWebhookEndpoint(ctx, id, e.clock.Now().UTC())
}

// WebhookEndpointSecret opens the signing secret of an endpoint. It serves
// the dispatcher, and the replay of the very request that created the
// endpoint (same API key and Idempotency-Key), which must return what the
// first response did.
func (e *Engine) WebhookEndpointSecret(ctx context.Context, id string) (string, error) {
	w, err := e.ownEndpoint(ctx, id)
	if err != nil {
		return "", err
	}
	return e.openWebhookSecret(w)
}

func (e *Engine) openWebhookSecret(w *tender.WebhookEndpoint) (string, error) {
	raw, err := e.sealer.Open(w.Sealed, webhookSealContext(w.ID))
	if err != nil {
		return "", tender.Wrap(tender.EInternal, err, "the signing secret of webhook endpoint %q does not open with this server's master key", w.ID)
	}
	return string(raw), nil
}

// ListWebhookDeliveries pages through an endpoint's deliveries, newest
// first.
func (e *Engine) ListWebhookDeliveries(ctx context.Context, f tender.DeliveryFilter) ([]*tender.WebhookDelivery, bool, error) {
	if f.Limit == 0 {
		f.Limit = 10
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, false, tender.Invalid("limit", "limit must be between 1 and 100")
	}
	// A deleted endpoint is gone for the API, its list of deliveries with
	// it; the rows stay in the database as a record of what was sent.
	if _, err := e.ownEndpoint(ctx, f.EndpointID); err != nil {
		return nil, false, err
	}
	return e.store.ListWebhookDeliveries(ctx, f)
}
