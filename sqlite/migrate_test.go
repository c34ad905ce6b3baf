package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenderpay/tender/sqlite"
	"github.com/tenderpay/tender/storetest"
)

// TestMigrateLegacy builds a database as the last release before
// merchants made it (migrations 001 to 003, a row in every table), opens
// it with the current code and checks that nothing was lost and all of it
// belongs to the default merchant.
func TestMigrateLegacy(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tender.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`)
	for i, f := range []string{"001_init.sql", "002_webhooks.sql", "003_faults.sql"} {
		body, err := os.ReadFile(filepath.Join("migrations", f))
		if err != nil {
			t.Fatal(err)
		}
		exec(string(body))
		exec(`INSERT INTO schema_migrations VALUES (?, 0)`, i+1)
	}
	L := storetest.Legacy
	const t0 = 1740830000000000
	exec(`INSERT INTO accounts (id, connector, environment, is_default, settings, sealed, created_at)
		VALUES (?, 'sepay', 'live', 1, '{"login":"L1"}', x'0102', ?)`, L.Account, t0)
	exec(`INSERT INTO terminals (id, connector, account, provider_id, label, settings, sealed, created_at)
		VALUES (?, 'sepay', ?, 'SID1', 'front', NULL, NULL, ?)`, L.Terminal, L.Account, t0)
	exec(`INSERT INTO payments (id, amount, currency, status, connector, account, terminal, operation_id, version, created_at, updated_at)
		VALUES (?, 1234, 'EUR', 'captured', 'sepay', ?, ?, 'op-legacy', 3, ?, ?)`, L.Payment, L.Account, L.Terminal, t0, t0)
	exec(`INSERT INTO events (payment_id, type, data, created_at) VALUES (?, 'payment.created', '{}', ?)`, L.Payment, t0)
	exec(`INSERT INTO api_keys (id, name, hash, prefix, created_at) VALUES (?, 'default', ?, 'tender_sk_ab', ?)`, L.APIKey, L.APIKeyHash, t0)
	exec(`INSERT INTO webhook_endpoints (id, url, description, events, sealed, created_at)
		VALUES (?, 'https://shop.example/h', '', '["payment.created","payment.processing"]', x'01', ?)`, L.Endpoint, t0)
	exec(`INSERT INTO webhook_endpoints (id, url, description, events, sealed, created_at)
		VALUES (?, 'https://shop.example/all', '', ?, x'01', ?)`, L.EndpointAll, L.AllEvents, t0)
	exec(`INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payment_id, status, created_at)
		VALUES (?, 1, 'payment.created', ?, 'succeeded', ?)`, L.Endpoint, L.Payment, t0)
	exec(`INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code) VALUES (1, 1, ?, 200)`, t0)
	exec(`INSERT INTO idempotency_keys (scope, key, request_hash, done, created_at, expires_at, locked_until)
		VALUES (?, ?, 'legacy-hash', 0, ?, 4102444800000000, 4102444800000000)`, L.IdemScope, L.IdemKey, t0)
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("sqlite.Open (migrating): %v", err)
	}
	defer db.Close()
	storetest.CheckLegacyMigrated(t, db)
}
