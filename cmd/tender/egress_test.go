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

// TestLiveAccountEndpointsPublic: a live account whose endpoints are on a
// literal non-public address is refused when it is created or changed,
// naming the setting.
func TestLiveAccountEndpointsPublic(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	base := `"site_reference": "site12345", "jwt_username": "jwt@shop.example", "webservices_username": "ws@shop.example"`
	creds := `"credentials": {"jwt_secret": "s", "webservices_password": "p"}`
	for i, bad := range []string{`"webservices_url": "https://127.0.0.1/json/"`, `"webservices_url": "https://0x7f000001/json/"`,
		`"webservices_url": "https://[::1]:8443/json/"`, `"term_url": "https://169.254.169.254/latest/"`} {
		status, m := p.call("POST", "/v1/accounts", `{"id": "tp-live-`+string(rune('a'+i))+`", "connector": "trustpayments", "environment": "live",
			"settings": {`+base+`, `+bad+`}, `+creds+`}`)
		if status != 400 || !strings.HasPrefix(m["error"].(map[string]any)["param"].(string), "settings.") {
			t.Errorf("%s: %d %v, want 400 naming the setting", bad, status, m)
		}
	}
	p.mustCall("POST", "/v1/accounts", `{"id": "tp-live", "connector": "trustpayments", "environment": "live", "settings": {`+base+`}, `+creds+`}`, 201)
	if status, m := p.call("POST", "/v1/accounts/tp-live", `{"settings": {"webservices_url": "https://10.0.0.5/json/"}}`); status != 400 ||
		m["error"].(map[string]any)["param"] != "settings.webservices_url" {
		t.Errorf("update to a private address: %d %v", status, m)
	}
}
