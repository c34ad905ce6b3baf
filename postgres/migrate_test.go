package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenderpay/tender/postgres"
	"github.com/tenderpay/tender/storetest"
)

// TestMigrateLegacy builds a schema as the last release before merchants
// made it (migrations 001 to 003, a row in every table), opens it with the
// current code and checks that nothing was lost and all of it belongs to
// the default merchant.
func TestMigrateLegacy(t *testing.T) {
	ctx := context.Background()
	cfg := newSchema(t)
	pool, err := pgxpool.NewWithConfig(ctx, cfg.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
	for i, f := range []string{"001_init.sql", "002_webhooks.sql", "003_faults.sql"} {
		body, err := os.ReadFile(filepath.Join("migrations", f))
		if err != nil {
			t.Fatal(err)
		}
		exec(string(body))
		exec(`INSERT INTO schema_migrations (version) VALUES ($1)`, i+1)
	}
	L := storetest.Legacy
	const t0 = `'2025-03-01 12:00:00+00'`
	exec(`INSERT INTO accounts (id, connector, environment, is_default, settings, sealed, created_at)
		VALUES ($1, 'sepay', 'live', true, '{"login":"L1"}', '\x0102', `+t0+`)`, L.Account)
	exec(`INSERT INTO terminals (id, connector, account, provider_id, label, created_at)
		VALUES ($1, 'sepay', $2, 'SID1', 'front', `+t0+`)`, L.Terminal, L.Account)
	exec(`INSERT INTO payments (id, amount, currency, status, connector, account, terminal, operation_id, version, created_at, updated_at)
		VALUES ($1, 1234, 'EUR', 'captured', 'sepay', $2, $3, 'op-legacy', 3, `+t0+`, `+t0+`)`, L.Payment, L.Account, L.Terminal)
	exec(`INSERT INTO events (payment_id, type, data, created_at) VALUES ($1, 'payment.created', '{}', `+t0+`)`, L.Payment)
	exec(`INSERT INTO api_keys (id, name, hash, prefix, created_at) VALUES ($1, 'default', $2, 'tender_sk_ab', `+t0+`)`, L.APIKey, L.APIKeyHash)
	exec(`INSERT INTO webhook_endpoints (id, url, description, events, sealed, created_at)
		VALUES ($1, 'https://shop.example/h', '', '["payment.created","payment.processing"]', '\x01', `+t0+`)`, L.Endpoint)
	exec(`INSERT INTO webhook_endpoints (id, url, description, events, sealed, created_at)
		VALUES ($1, 'https://shop.example/all', '', $2, '\x01', `+t0+`)`, L.EndpointAll, L.AllEvents)
	exec(`INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payment_id, status, created_at)
		SELECT $1, id, 'payment.created', $2, 'succeeded', `+t0+` FROM events`, L.Endpoint, L.Payment)
	exec(`INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code) SELECT id, 1, ` + t0 + `, 200 FROM webhook_deliveries`)
	exec(`INSERT INTO idempotency_keys (scope, key, request_hash, done, created_at, expires_at, locked_until)
		VALUES ($1, $2, 'legacy-hash', false, `+t0+`, '2100-01-01Z', '2100-01-01Z')`, L.IdemScope, L.IdemKey)
	pool.Close()

	db, err := postgres.OpenConfig(ctx, cfg.Copy())
	if err != nil {
		t.Fatalf("postgres.OpenConfig (migrating): %v", err)
	}
	defer db.Close()
	storetest.CheckLegacyMigrated(t, db)
}
