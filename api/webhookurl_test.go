package api_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/engine"
	"github.com/tenderpay/tender/seal"
	"github.com/tenderpay/tender/sqlite"
)

// TestWebhookURLLiteralNonPublicRefused: outside sandbox mode a webhook URL
// whose host is a literal non-public address, in whatever spelling, is
// refused at registration with a 400 naming url; public hosts are taken.
func TestWebhookURLLiteralNonPublicRefused(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tender.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	sealer, _ := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	eng, err := engine.New(engine.Options{Store: store, Connectors: []tender.Connector{&testConnector{status: map[string]tender.Status{}}}, Sealer: sealer,
		Webhooks: engine.WebhookOptions{Object: api.PaymentObject, Client: engine.PublicOnlyClient(), PublicOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.NewServer(eng, api.Options{}))
	t.Cleanup(srv.Close)
	key, _, err := eng.CreateAPIKey(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, eng: eng, key: key}
	for _, host := range []string{"127.0.0.1", "127.1", "0x7f000001", "2130706433", "0177.0.0.1", "[::1]", "[::ffff:127.0.0.1]",
		"169.254.169.254", "10.0.0.1", "192.168.1.10", "0.0.0.0", "[fe80::1%25eth0]", "localhost", "api.localhost", "LOCALHOST."} {
		r := e.do("POST", "/v1/webhook_endpoints", `{"url":"https://`+host+`:8443/hooks"}`)
		if r.status != 400 {
			t.Errorf("%s: status %d, want 400: %s", host, r.status, r.body)
			continue
		}
		er := r.json(t)["error"].(map[string]any)
		if er["param"] != "url" || !strings.Contains(er["message"].(string), "public") && !strings.Contains(er["message"].(string), "localhost") {
			t.Errorf("%s: %v", host, er)
		}
	}
	for _, host := range []string{"shop.example", "93.184.216.34", "[2a00:1450:4001::1]", "127.0.0.1.nip.example"} {
		e.mustDo("POST", "/v1/webhook_endpoints", `{"url":"https://`+host+`/hooks"}`, 201)
	}
}
