package api

import "net/http"

// routes is the whole HTTP surface at a glance.
func (s *Server) routes() {
	api := func(h http.HandlerFunc) http.Handler { return s.observe(s.authenticate(h)) }
	open := func(h http.HandlerFunc) http.Handler { return s.observe(h) }

	// The description of all of this (api/openapi.json), for anyone.
	s.mux.Handle("GET /v1/openapi.json", open(s.openapi))

	s.mux.Handle("POST /v1/payments", api(s.createPayment))
	s.mux.Handle("GET /v1/payments", api(s.listPayments))
	s.mux.Handle("GET /v1/payments/{id}", api(s.getPayment))
	s.mux.Handle("POST /v1/payments/{id}/cancel", api(s.cancelPayment))
	s.mux.Handle("POST /v1/payments/{id}/capture", api(s.capturePayment))
	s.mux.Handle("POST /v1/payments/{id}/refunds", api(s.refundPayment))
	s.mux.Handle("GET /v1/payments/{id}/events", api(s.listEvents))

	s.mux.Handle("POST /v1/terminals", api(s.createTerminal))
	s.mux.Handle("GET /v1/terminals", api(s.listTerminals))
	s.mux.Handle("GET /v1/terminals/{id}", api(s.getTerminal))
	s.mux.Handle("POST /v1/terminals/{id}", api(s.updateTerminal))

	s.mux.Handle("POST /v1/accounts", api(s.createAccount))
	s.mux.Handle("GET /v1/accounts", api(s.listAccounts))
	s.mux.Handle("GET /v1/accounts/{id}", api(s.getAccount))
	s.mux.Handle("POST /v1/accounts/{id}", api(s.updateAccount))

	s.mux.Handle("POST /v1/webhook_endpoints", api(s.createWebhookEndpoint))
	s.mux.Handle("GET /v1/webhook_endpoints", api(s.listWebhookEndpoints))
	s.mux.Handle("GET /v1/webhook_endpoints/{id}", api(s.getWebhookEndpoint))
	s.mux.Handle("DELETE /v1/webhook_endpoints/{id}", api(s.deleteWebhookEndpoint))
	s.mux.Handle("GET /v1/webhook_endpoints/{id}/deliveries", api(s.listWebhookDeliveries))
	s.mux.Handle("POST /v1/webhook_endpoints/{id}/roll_secret", api(s.rollWebhookSecret))
	s.mux.Handle("POST /v1/webhook_endpoints/{id}/deliveries/{delivery}/retry", api(s.retryWebhookDelivery))

	// Providers and shoppers: authenticated by the provider's own MAC or
	// signature, never by an API key.
	s.mux.Handle("/callbacks/{connector}/{account}/{path...}", open(s.callback))
	s.mux.Handle("GET /pay/{id}", open(s.paymentPage))

	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", s.metricsHandler())
	s.mux.Handle("/v1/", api(s.notFound))
	s.mux.HandleFunc("GET /{$}", s.home)
}
