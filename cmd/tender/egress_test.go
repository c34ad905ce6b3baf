package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/trustpayments"
)

// TestProviderCallsDialPublicOnly: outside sandbox mode a provider endpoint
// on a loopback, link-local (cloud metadata) or private address is never
// dialled, whatever the account says; in sandbox mode the simulators on
// loopback are reached.
func TestProviderCallsDialPublicOnly(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()

	for _, u := range []string{srv.URL + "/json/", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]:1/"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "POST", u, nil)
		_, err := providerClient(false).Do(req)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "not public") {
			t.Errorf("%s: %v, want refused as not public", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the loopback server was reached %d times", hits.Load())
	}

	// A live Trust Payments account whose webservices_url is on loopback:
	// the status check fails without a request leaving Tender.
	conn := trustpayments.New(trustpayments.Options{HTTPClient: providerClient(false)})
	acct := &tender.Account{ID: "tp-live", Connector: trustpayments.Name, Environment: tender.EnvLive, Settings: map[string]string{
		trustpayments.SettingSiteReference: "site12345", trustpayments.SettingJWTUsername: "jwt@shop.example",
		trustpayments.SettingWSUsername: "ws@shop.example", trustpayments.SettingWebservicesURL: strings.Replace(srv.URL, "http:", "https:", 1) + "/json/",
	}, Credentials: map[string]string{trustpayments.CredentialJWTSecret: "k", trustpayments.CredentialWSPassword: "p"}}
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 100, Currency: "GBP", Connector: trustpayments.Name, Account: acct.ID,
		Status: tender.StatusUnknown, CreatedAt: time.Now()}
	if _, err := conn.Status(context.Background(), &tender.Op{Payment: p, Account: acct}); err == nil || !strings.Contains(err.Error(), "not public") {
		t.Errorf("Status = %v, want the loopback endpoint refused", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("the loopback server was reached %d times", hits.Load())
	}

	// Sandbox mode: the simulators listen on loopback.
	res, err := providerClient(true).Post(srv.URL+"/json/", "application/json", nil)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	res.Body.Close()
	if hits.Load() != 1 {
		t.Fatalf("sandbox: %d requests reached the simulator, want 1", hits.Load())
	}
}
