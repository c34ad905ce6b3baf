package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/tenderpay/tender"
)

// Legacy names the rows a store's migration test writes into a database
// made by the migrations before merchants (up to 003), one in every
// table, before it migrates that database to the current schema.
var Legacy = struct {
	Payment, Account, Terminal, APIKey, APIKeyHash, Endpoint, EndpointAll, IdemScope, IdemKey string
	// AllEvents is what an endpoint made for "all events" stored then.
	AllEvents string
}{
	Payment: "pay00000000000000legacy", Account: "sepay-legacy", Terminal: "till-legacy",
	APIKey: "key_legacy", APIKeyHash: "legacyhash", Endpoint: "we_legacy", EndpointAll: "we_legacy_all",
	AllEvents: `["payment.created","payment.requires_action","payment.processing","payment.unknown","payment.authorized",` +
		`"payment.partially_captured","payment.captured","payment.partially_refunded","payment.refunded","payment.canceled",` +
		`"payment.failed","payment.capture_succeeded","payment.refund_succeeded"]`,
	IdemScope: "key_legacy", IdemKey: "order-1",
}

// CheckLegacyMigrated checks that s, migrated from a database holding the
// Legacy rows, kept every one of them and moved them into the default
// merchant: the account stays the connector's default, the old key a
// platform key, the endpoint receives the payment's new events, and the
// in-flight idempotency record still answers for its key.
func CheckLegacyMigrated(t *testing.T, s tender.Store) {
	t.Helper()
	ctx := context.Background()
	def := tender.DefaultMerchant
	if _, err := s.GetMerchant(ctx, def); err != nil {
		t.Fatalf("default merchant after migration: %v", err)
	}
	p, err := s.GetPayment(ctx, Legacy.Payment)
	if err != nil {
		t.Fatalf("legacy payment: %v", err)
	}
	if p.Merchant != def || p.Amount != 1234 || p.Account != Legacy.Account || p.Terminal != Legacy.Terminal || p.OperationID != "op-legacy" {
		t.Errorf("legacy payment = %+v", p)
	}
	evs, err := s.ListEvents(ctx, p.ID)
	if err != nil || len(evs) != 1 || evs[0].Merchant != def || evs[0].Type != "payment.created" {
		t.Errorf("legacy events = %+v, %v", evs, err)
	}
	if found, err := s.PaymentByOperation(ctx, "op-legacy"); err != nil || found.ID != p.ID {
		t.Errorf("PaymentByOperation(legacy) = %v, %v", found, err)
	}
	a, err := s.DefaultAccount(ctx, def, "sepay")
	if err != nil || a.ID != Legacy.Account || a.Merchant != def || a.Settings["login"] != "L1" {
		t.Errorf("legacy default account = %+v, %v", a, err)
	}
	term, err := s.GetTerminal(ctx, Legacy.Terminal)
	if err != nil || term.Merchant != def || term.Account != Legacy.Account {
		t.Errorf("legacy terminal = %+v, %v", term, err)
	}
	k, err := s.APIKeyByHash(ctx, Legacy.APIKeyHash)
	if err != nil || k.ID != Legacy.APIKey || k.Merchant != def || k.Scope != tender.ScopePlatform || !k.RevokedAt.IsZero() {
		t.Errorf("legacy API key = %+v, %v", k, err)
	}
	w, err := s.GetWebhookEndpoint(ctx, Legacy.Endpoint)
	if err != nil || w.Merchant != def {
		t.Fatalf("legacy endpoint = %+v, %v", w, err)
	}
	ws, _, err := s.ListWebhookEndpoints(ctx, tender.ListFilter{Limit: 10, Merchant: def})
	if err != nil || len(ws) != 2 {
		t.Errorf("default merchant's endpoints = %v, %v", ws, err)
	}
	// Discrepancy events became webhook types later: the endpoint made for
	// all events gets them, the one that chose two types does not.
	all, err := s.GetWebhookEndpoint(ctx, Legacy.EndpointAll)
	if err != nil || !slices.Contains(all.Events, "payment.discrepancy") || !slices.Contains(all.Events, "payment.discrepancy_resolved") || len(all.Events) != 17 {
		t.Errorf("legacy all-events endpoint = %+v, %v; want the discrepancy types added", all, err)
	}
	// So did a subscription's pause and resume (migration 014).
	if !slices.Contains(all.Events, "payment.subscription_paused") || !slices.Contains(all.Events, "payment.subscription_resumed") {
		t.Errorf("legacy all-events endpoint = %+v; want the subscription types added", all)
	}
	if slices.Contains(w.Events, "payment.discrepancy") || slices.Contains(w.Events, "payment.subscription_paused") {
		t.Errorf("legacy endpoint of two types got %v", w.Events)
	}
	// The endpoint still gets the payment's events.
	p.Status = tender.StatusProcessing
	if err := s.UpdatePayment(ctx, p, tender.Event{Type: "payment.processing"}); err != nil {
		t.Fatal(err)
	}
	ds, _, err := s.ListWebhookDeliveries(ctx, tender.DeliveryFilter{EndpointID: w.ID, Limit: 10})
	if err != nil || len(ds) != 2 {
		t.Errorf("deliveries of the legacy endpoint = %+v, %v; want the old and the new one", ds, err)
	}
	// The in-flight record keeps its scope and key: a retry across the
	// upgrade finds it, never a second reservation.
	existing, err := s.ReserveIdempotency(ctx, &tender.IdempotencyRecord{Scope: Legacy.IdemScope, Key: Legacy.IdemKey,
		RequestHash: "other", CreatedAt: base, ExpiresAt: base.Add(1e12), LockedUntil: base.Add(1e9)})
	if err != nil || existing == nil || existing.RequestHash != "legacy-hash" {
		t.Errorf("legacy idempotency record = %+v, %v", existing, err)
	}
}
