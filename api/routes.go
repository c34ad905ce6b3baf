package api

import (
	"net/http"

	"github.com/tenderpay/tender"
)

// routes is the whole HTTP surface at a glance.
func (s *Server) routes() {
	const (
		platform = tender.ScopePlatform
		merchant = tender.ScopeMerchant
		terminal = tender.ScopeTerminal
	)
	// api requires an API key of one of the scopes; the handler then acts
	// for the key's merchant (or the platform key's Tender-Merchant).
	api := func(h http.HandlerFunc, scopes ...string) http.Handler {
		return s.observe(s.authenticate(s.scope(h, scopes...)))
	}
	open := func(h http.HandlerFunc) http.Handler { return s.observe(h) }

	// The description of all of this (api/openapi.json), for anyone.
	s.mux.Handle("GET /v1/openapi.json", open(s.openapi))

	// A terminal key pays on its terminals and reads those payments (and
	// those terminals).
	s.mux.Handle("POST /v1/payments", api(s.createPayment, platform, merchant, terminal))
	s.mux.Handle("GET /v1/payments", api(s.listPayments, platform, merchant, terminal))
	s.mux.Handle("GET /v1/payments/{id}", api(s.getPayment, platform, merchant, terminal))
	s.mux.Handle("POST /v1/payments/{id}/cancel", api(s.cancelPayment, platform, merchant))
	s.mux.Handle("POST /v1/payments/{id}/capture", api(s.capturePayment, platform, merchant))
	s.mux.Handle("POST /v1/payments/{id}/refunds", api(s.refundPayment, platform, merchant))
	s.mux.Handle("GET /v1/payments/{id}/events", api(s.listEvents, platform, merchant, terminal))
	s.mux.Handle("POST /v1/payments/{id}/resolve_discrepancy", api(s.resolveDiscrepancy, platform, merchant))
	s.mux.Handle("POST /v1/payments/{id}/subscription/pause", api(s.pauseSubscription, platform, merchant))
	s.mux.Handle("POST /v1/payments/{id}/subscription/resume", api(s.resumeSubscription, platform, merchant))

	// Saved cards of the merchant's customers (methods.go).
	s.mux.Handle("GET /v1/payment_methods", api(s.listPaymentMethods, platform, merchant))
	s.mux.Handle("GET /v1/payment_methods/{id}", api(s.getPaymentMethod, platform, merchant))
	s.mux.Handle("POST /v1/payment_methods/{id}/detach", api(s.detachPaymentMethod, platform, merchant))

	s.mux.Handle("POST /v1/terminals", api(s.createTerminal, platform, merchant))
	s.mux.Handle("GET /v1/terminals", api(s.listTerminals, platform, merchant))
	s.mux.Handle("GET /v1/terminals/{id}", api(s.getTerminal, platform, merchant, terminal))
	s.mux.Handle("POST /v1/terminals/{id}", api(s.updateTerminal, platform, merchant))

	// End of day; a terminal key sees its terminals' only.
	s.mux.Handle("GET /v1/reports/daily", api(s.dailyReport, platform, merchant, terminal))

	s.mux.Handle("POST /v1/accounts", api(s.createAccount, platform, merchant))
	s.mux.Handle("GET /v1/accounts", api(s.listAccounts, platform, merchant))
	s.mux.Handle("GET /v1/accounts/{id}", api(s.getAccount, platform, merchant))
	s.mux.Handle("POST /v1/accounts/{id}", api(s.updateAccount, platform, merchant))

	s.mux.Handle("POST /v1/webhook_endpoints", api(s.createWebhookEndpoint, platform, merchant))
	s.mux.Handle("GET /v1/webhook_endpoints", api(s.listWebhookEndpoints, platform, merchant))
	s.mux.Handle("GET /v1/webhook_endpoints/{id}", api(s.getWebhookEndpoint, platform, merchant))
	s.mux.Handle("DELETE /v1/webhook_endpoints/{id}", api(s.deleteWebhookEndpoint, platform, merchant))
	s.mux.Handle("GET /v1/webhook_endpoints/{id}/deliveries", api(s.listWebhookDeliveries, platform, merchant))
	s.mux.Handle("POST /v1/webhook_endpoints/{id}/roll_secret", api(s.rollWebhookSecret, platform, merchant))
	s.mux.Handle("POST /v1/webhook_endpoints/{id}/deliveries/{delivery}/retry", api(s.retryWebhookDelivery, platform, merchant))

	s.mux.Handle("POST /v1/merchants", api(s.createMerchant, platform))
	s.mux.Handle("GET /v1/merchants", api(s.listMerchants, platform))
	s.mux.Handle("GET /v1/merchants/{id}", api(s.getMerchant, platform))
	s.mux.Handle("POST /v1/merchants/{id}", api(s.updateMerchant, platform))

	s.mux.Handle("POST /v1/api_keys", api(s.createAPIKey, platform, merchant))
	s.mux.Handle("GET /v1/api_keys", api(s.listAPIKeys, platform, merchant))
	s.mux.Handle("POST /v1/api_keys/{id}/revoke", api(s.revokeAPIKey, platform, merchant))
	s.mux.Handle("POST /v1/api_keys/{id}/roll", api(s.rollAPIKey, platform, merchant))

	// Providers and shoppers: authenticated by the provider's own MAC or
	// signature, never by an API key.
	s.mux.Handle("/callbacks/{connector}/{account}/{path...}", open(s.callback))
	s.mux.Handle("GET /pay/{id}", open(s.paymentPage))
	s.mux.Handle("POST /pay/{id}/cancel", open(s.cancelByShopper))

	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", s.metricsHandler())
	s.mux.Handle("/v1/", api(s.notFound, platform, merchant, terminal))
	s.mux.HandleFunc("GET /{$}", s.home)
}
