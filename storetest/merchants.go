package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

func testMerchants(t *testing.T, s tender.Store) {
	ctx := context.Background()
	// Every store has the default merchant from its migrations.
	def, err := s.GetMerchant(ctx, tender.DefaultMerchant)
	if err != nil {
		t.Fatalf("GetMerchant(default): %v", err)
	}
	if def.ID != tender.DefaultMerchant || def.CreatedAt.IsZero() {
		t.Errorf("default merchant = %+v", def)
	}
	m := &tender.Merchant{ID: "mer_b", Name: "Bakkerij B", Country: "NL", DefaultLocale: "nl-NL", TimeZone: "Europe/Amsterdam",
		Branding: tender.Branding{DisplayName: "Bakker B", LogoURL: "https://b.example/logo.png", Color: "#aa3300"},
		Metadata: map[string]string{"crm": "42"}, CreatedAt: base}
	if err := s.CreateMerchant(ctx, m); err != nil {
		t.Fatalf("CreateMerchant: %v", err)
	}
	want := *m
	want.CreatedAt = at(0)
	got, err := s.GetMerchant(ctx, "mer_b")
	if err != nil {
		t.Fatalf("GetMerchant: %v", err)
	}
	diff(t, "GetMerchant", &want, got)
	wantCode(t, "CreateMerchant(same id)", s.CreateMerchant(ctx, &tender.Merchant{ID: "mer_b"}), tender.EConflict)
	_, err = s.GetMerchant(ctx, "mer_missing")
	wantCode(t, "GetMerchant(missing)", err, tender.ENotFound)

	if err := s.CreateMerchant(ctx, &tender.Merchant{ID: "mer_a", Name: "A", CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	page, more, err := s.ListMerchants(ctx, tender.MerchantFilter{Limit: 2})
	if err != nil || !more || len(page) != 2 || page[0].ID != "mer_a" || page[1].ID != "mer_b" {
		t.Fatalf("ListMerchants = %v, %v, %v", merchantIDs(page), more, err)
	}
	page, more, err = s.ListMerchants(ctx, tender.MerchantFilter{Limit: 2, StartingAfter: "mer_b"})
	if err != nil || more || len(page) != 1 || page[0].ID != tender.DefaultMerchant {
		t.Fatalf("ListMerchants(after mer_b) = %v, %v, %v", merchantIDs(page), more, err)
	}

	upd := want
	upd.Name, upd.Country, upd.TimeZone, upd.Branding, upd.Metadata = "Bakkerij B & Zn", "BE", "Europe/Brussels", tender.Branding{Color: "#000000"}, nil
	upd.CreatedAt = base.Add(time.Hour) // ignored
	if err := s.UpdateMerchant(ctx, &upd); err != nil {
		t.Fatalf("UpdateMerchant: %v", err)
	}
	got, _ = s.GetMerchant(ctx, "mer_b")
	upd.CreatedAt = at(0)
	diff(t, "updated merchant", &upd, got)
	wantCode(t, "UpdateMerchant(missing)", s.UpdateMerchant(ctx, &tender.Merchant{ID: "mer_missing"}), tender.ENotFound)
}

func merchantIDs(ms []*tender.Merchant) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func testAPIKeyLifecycle(t *testing.T, s tender.Store) {
	ctx := context.Background()
	term := &tender.APIKey{ID: "key_b", Name: "till", Hash: "h-b", Prefix: "tender_sk_bb", Scope: tender.ScopeTerminal,
		Merchant: "mer_b", Terminals: []string{"till-1", "till-2"}, CreatedAt: base}
	plat := &tender.APIKey{ID: "key_a", Name: "platform", Hash: "h-a", Prefix: "tender_sk_aa", CreatedAt: base}
	for _, k := range []*tender.APIKey{term, plat} {
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatalf("CreateAPIKey: %v", err)
		}
	}
	got, err := s.GetAPIKey(ctx, "key_b")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "terminal key", &tender.APIKey{ID: "key_b", Name: "till", Hash: "h-b", Prefix: "tender_sk_bb", Scope: tender.ScopeTerminal,
		Merchant: "mer_b", Terminals: []string{"till-1", "till-2"}, CreatedAt: at(0)}, got)
	_, err = s.GetAPIKey(ctx, "key_missing")
	wantCode(t, "GetAPIKey(missing)", err, tender.ENotFound)

	all, more, err := s.ListAPIKeys(ctx, tender.ListFilter{Limit: 10})
	if err != nil || more || len(all) != 2 || all[0].ID != "key_a" || all[1].ID != "key_b" {
		t.Fatalf("ListAPIKeys = %v, %v, %v", all, more, err)
	}
	own, _, err := s.ListAPIKeys(ctx, tender.ListFilter{Limit: 10, Merchant: "mer_b"})
	if err != nil || len(own) != 1 || own[0].ID != "key_b" {
		t.Fatalf("ListAPIKeys(mer_b) = %v, %v", own, err)
	}

	// A use is recorded, then not again within the interval.
	if err := s.TouchAPIKey(ctx, "key_b", base.Add(time.Minute), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchAPIKey(ctx, "key_b", base.Add(90*time.Second), time.Minute); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetAPIKey(ctx, "key_b")
	if !got.LastUsedAt.Equal(at(time.Minute)) {
		t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, at(time.Minute))
	}
	if err := s.TouchAPIKey(ctx, "key_b", base.Add(3*time.Minute), time.Minute); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetAPIKey(ctx, "key_b")
	if !got.LastUsedAt.Equal(at(3 * time.Minute)) {
		t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, at(3*time.Minute))
	}

	// Revoked once; a second revoke keeps the first time.
	if err := s.RevokeAPIKey(ctx, "key_b", base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, "key_b", base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err = s.APIKeyByHash(ctx, "h-b")
	if err != nil || !got.RevokedAt.Equal(at(time.Hour)) {
		t.Errorf("revoked key = %+v, %v; want RevokedAt %v", got, err, at(time.Hour))
	}
	wantCode(t, "RevokeAPIKey(missing)", s.RevokeAPIKey(ctx, "key_missing", base), tender.ENotFound)
}

// testMerchantScoping checks what the store itself keeps apart between
// merchants: lists, default accounts, the outbox and the events.
func testMerchantScoping(t *testing.T, s tender.Store) {
	ctx := context.Background()
	for _, a := range []*tender.Account{
		{ID: "sepay-a", Merchant: "mer_a", Connector: "sepay", Default: true, CreatedAt: base},
		{ID: "sepay-b", Merchant: "mer_b", Connector: "sepay", Default: true, CreatedAt: base},
		{ID: "sepay-b2", Merchant: "mer_b", Connector: "sepay", CreatedAt: base},
	} {
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatalf("CreateAccount(%s): %v (one default per merchant and connector)", a.ID, err)
		}
	}
	for _, m := range []string{"mer_a", "mer_b"} {
		d, err := s.DefaultAccount(ctx, m, "sepay")
		if err != nil || d.Merchant != m {
			t.Errorf("DefaultAccount(%s) = %+v, %v", m, d, err)
		}
	}
	// Making sepay-b2 the default clears only mer_b's previous default.
	if err := s.UpdateAccount(ctx, &tender.Account{ID: "sepay-b2", Default: true}, nil); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.DefaultAccount(ctx, "mer_b", "sepay"); d == nil || d.ID != "sepay-b2" {
		t.Errorf("DefaultAccount(mer_b) after update = %+v", d)
	}
	if d, _ := s.DefaultAccount(ctx, "mer_a", "sepay"); d == nil || d.ID != "sepay-a" {
		t.Errorf("DefaultAccount(mer_a) after mer_b's update = %+v", d)
	}
	as, _, err := s.ListAccounts(ctx, tender.ListFilter{Limit: 10, Merchant: "mer_b"})
	if err != nil || len(as) != 2 || as[0].ID != "sepay-b" || as[1].ID != "sepay-b2" {
		t.Errorf("ListAccounts(mer_b) = %v, %v", as, err)
	}
	for _, term := range []*tender.Terminal{
		{ID: "t-a", Merchant: "mer_a", Connector: "sepay", Account: "sepay-a", CreatedAt: base},
		{ID: "t-b", Merchant: "mer_b", Connector: "sepay", Account: "sepay-b", CreatedAt: base},
	} {
		if err := s.CreateTerminal(ctx, term); err != nil {
			t.Fatal(err)
		}
	}
	ts, _, err := s.ListTerminals(ctx, tender.ListFilter{Limit: 10, Merchant: "mer_a"})
	if err != nil || len(ts) != 1 || ts[0].ID != "t-a" || ts[0].Merchant != "mer_a" {
		t.Errorf("ListTerminals(mer_a) = %v, %v", ts, err)
	}

	hookA := &tender.WebhookEndpoint{ID: "we_a", Merchant: "mer_a", URL: "https://a.example/h", Events: []string{"payment.created"}, CreatedAt: base}
	hookB := &tender.WebhookEndpoint{ID: "we_b", Merchant: "mer_b", URL: "https://b.example/h", Events: []string{"payment.created"}, CreatedAt: base}
	for _, w := range []*tender.WebhookEndpoint{hookA, hookB} {
		if err := s.CreateWebhookEndpoint(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	ws, _, err := s.ListWebhookEndpoints(ctx, tender.ListFilter{Limit: 10, Merchant: "mer_b"})
	if err != nil || len(ws) != 1 || ws[0].ID != "we_b" || ws[0].Merchant != "mer_b" {
		t.Errorf("ListWebhookEndpoints(mer_b) = %v, %v", ws, err)
	}

	pa := minimalPayment()
	pa.Merchant, pa.Account = "mer_a", "sepay-a"
	mustCreate(t, s, pa, tender.Event{Type: "payment.created"})
	pb := minimalPayment()
	pb.Merchant, pb.Account = "mer_b", "sepay-b"
	mustCreate(t, s, pb, tender.Event{Type: "payment.created"})
	pb.Status = tender.StatusProcessing
	if err := s.UpdatePayment(ctx, pb, tender.Event{Type: "payment.created"}); err != nil {
		t.Fatal(err)
	}
	// Webhook endpoints receive only their merchant's events.
	if ds := deliveries(t, s, "we_a"); len(ds) != 1 || ds[0].PaymentID != pa.ID {
		t.Errorf("deliveries of mer_a's endpoint = %+v; want only payment %s", ds, pa.ID)
	}
	if ds := deliveries(t, s, "we_b"); len(ds) != 2 || ds[0].PaymentID != pb.ID || ds[1].PaymentID != pb.ID {
		t.Errorf("deliveries of mer_b's endpoint = %+v; want two of payment %s", ds, pb.ID)
	}
	evs, err := s.ListEvents(ctx, pb.ID)
	if err != nil || len(evs) != 2 || evs[0].Merchant != "mer_b" || evs[1].Merchant != "mer_b" {
		t.Errorf("events of mer_b's payment = %+v, %v", evs, err)
	}
	got := mustGet(t, s, pb.ID)
	if got.Merchant != "mer_b" {
		t.Errorf("payment merchant after update = %q", got.Merchant)
	}
	ps, _, err := s.ListPayments(ctx, tender.PaymentFilter{Limit: 10, Merchant: "mer_a"})
	if err != nil || len(ps) != 1 || ps[0].ID != pa.ID {
		t.Errorf("ListPayments(mer_a) = %v, %v", ids(ps), err)
	}
	ps, _, err = s.ListPayments(ctx, tender.PaymentFilter{Limit: 10})
	if err != nil || len(ps) != 2 {
		t.Errorf("ListPayments(all merchants) = %v, %v", ids(ps), err)
	}
}
