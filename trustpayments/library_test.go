package trustpayments_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
	tp "github.com/tenderpay/tender/trustpayments"
)

func liveAccount(library, override string) *tender.Account {
	a := &tender.Account{ID: "tp-live", Connector: tp.Name, Environment: tender.EnvLive, Settings: map[string]string{
		tp.SettingSiteReference: "site12345", tp.SettingJWTUsername: "jwt@shop.example", tp.SettingWSUsername: "ws@shop.example",
	}, Credentials: map[string]string{tp.CredentialJWTSecret: "k", tp.CredentialWSPassword: "p"}}
	if library != "" {
		a.Settings[tp.SettingLibraryURL] = library
	}
	if override != "" {
		a.Settings[tp.SettingLibraryHostOverride] = override
	}
	return a
}

// TestLibraryHosts: the checkout loads st.js only from a host Trust Payments
// documents, unless the account names the other host in an explicit
// override, which is logged whenever such a page is served.
func TestLibraryHosts(t *testing.T) {
	for _, tc := range []struct {
		name, library, override, param string
	}{
		{"default", "", "", ""},
		{"documented CDN", "https://cdn.eu.trustpayments.com/js/latest/st.js", "", ""},
		{"US platform", "https://webservices.securetrading.us/js/v3/st.js", "", ""},
		{"any host", "https://evil.example/st.js", "", "settings." + tp.SettingLibraryURL},
		{"lookalike", "https://webservices.securetrading.net.evil.example/st.js", "", "settings." + tp.SettingLibraryURL},
		{"documented host, other port", "https://webservices.securetrading.net:8443/js/v3/st.js", "", "settings." + tp.SettingLibraryURL},
		{"loopback on a live account", "https://127.0.0.1/st.js", "", "settings." + tp.SettingLibraryURL},
		{"override for another host", "https://evil.example/st.js", "other.example", "settings." + tp.SettingLibraryHostOverride},
		{"explicit override", "https://st.shop.example/st.js", "st.shop.example", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tp.ParseConfig(liveAccount(tc.library, tc.override))
			got := ""
			if e := tender.AsError(err); e != nil {
				got = e.Param
			}
			if got != tc.param || (tc.param == "") != (err == nil) {
				t.Fatalf("ParseConfig = %v (param %q), want param %q", err, got, tc.param)
			}
		})
	}

	// The override is logged when the page is served.
	var logs bytes.Buffer
	e := newEnv(t)
	conn := tp.New(tp.Options{HTTPClient: e.srv.Client(), Clock: e.clock, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	p := e.start(1050, false)
	e.acct.Settings[tp.SettingLibraryURL] = "https://st.shop.example/st.js"
	e.acct.Settings[tp.SettingLibraryHostOverride] = "st.shop.example"
	if _, body, err := conn.CheckoutPage(context.Background(), e.op(p, 0)); err != nil || !bytes.Contains(body, []byte("https://st.shop.example/st.js")) {
		t.Fatalf("CheckoutPage: %v", err)
	}
	if !strings.Contains(logs.String(), "does not document") || !strings.Contains(logs.String(), "st.shop.example") {
		t.Fatalf("the override was not logged: %q", logs.String())
	}
}
