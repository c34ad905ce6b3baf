package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/postgres"
	"github.com/tenderpay/tender/storetest"
)

// envDSN names the variable that points the tests at a PostgreSQL server.
const envDSN = "TENDER_TEST_POSTGRES"

// testDSN returns the server to test against. Unset: the tests skip. Set
// but unreachable: they fail, so a CI that means to test PostgreSQL never
// passes without doing so.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(envDSN)
	if dsn == "" {
		tb.Skipf("PostgreSQL tests skipped: set %s, e.g. %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable", envDSN, envDSN)
	}
	return dsn
}

// requireServer skips or fails t once, rather than in every subtest.
func requireServer(t *testing.T) {
	t.Helper()
	dsn := testDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("%s is set but PostgreSQL is unreachable: %v", envDSN, err)
	}
	conn.Close(ctx)
}

// newSchema creates a schema of the test's own and returns a pool
// configuration whose connections use it; the schema is dropped when the
// test ends.
func newSchema(tb testing.TB) *pgxpool.Config {
	tb.Helper()
	dsn := testDSN(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("%s is set but PostgreSQL is unreachable: %v", envDSN, err)
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "tender_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close(ctx)
		tb.Fatalf("create schema: %v", err)
	}
	admin.Close(ctx)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		tb.Fatalf("parse %s: %v", envDSN, err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	return cfg
}

func open(tb testing.TB) *postgres.DB {
	tb.Helper()
	cfg := newSchema(tb)
	db, err := postgres.OpenConfig(context.Background(), cfg.Copy())
	if err != nil {
		tb.Fatalf("postgres.OpenConfig: %v", err)
	}
	tb.Cleanup(func() { db.Close() }) // runs before the schema is dropped
	return db
}

func TestStore(t *testing.T) {
	requireServer(t)
	storetest.Run(t, func(t *testing.T) tender.Store { return open(t) })
}

// TestMigrateConcurrently starts several instances on one empty schema at
// once: the advisory lock lets exactly one apply the migrations and none fail.
func TestMigrateConcurrently(t *testing.T) {
	cfg := newSchema(t)
	var wg sync.WaitGroup
	errs := make([]error, 5)
	dbs := make([]*postgres.DB, 5)
	for i := range errs {
		wg.Go(func() {
			dbs[i], errs[i] = postgres.OpenConfig(context.Background(), cfg.Copy())
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		return
	}
	if err := dbs[0].Migrate(context.Background()); err != nil {
		t.Errorf("Migrate again: %v", err)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	if n != len(files) {
		t.Errorf("schema_migrations has %d rows, want one per migration (%d)", n, len(files))
	}
}

// TestOpenUnreachable: a server that does not answer is an error at Open,
// and the message does not leak the password.
func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://u:s3cret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error leaks the password: %v", err)
	}
	if _, err := postgres.Open(ctx, "postgres://u:s3cret@[bad"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open(bad DSN) = %v; want an error without the password", err)
	}
}

// TestCredentialsNeverStored: whatever Credentials hold, no column of the
// row carries them.
func TestCredentialsNeverStored(t *testing.T) {
	ctx := context.Background()
	cfg := newSchema(t)
	db, err := postgres.OpenConfig(ctx, cfg.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := &tender.Account{ID: "a1", Connector: "computop", Settings: map[string]string{"merchant_id": "M"},
		Credentials: map[string]string{"hmac_key": "PLAIN-SECRET-1"}, Sealed: []byte("opaque")}
	term := &tender.Terminal{ID: "t1", Connector: "epay", Account: "a1",
		Credentials: map[string]string{"api_key": "PLAIN-SECRET-2"}, Sealed: []byte("opaque")}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTerminal(ctx, term); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var rows string
	if err := pool.QueryRow(ctx, `SELECT (SELECT json_agg(a)::text FROM accounts a) || (SELECT json_agg(t)::text FROM terminals t)`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rows, "PLAIN-SECRET") || !strings.Contains(rows, "merchant_id") {
		t.Errorf("stored rows %s: want settings and no plain credentials", rows)
	}
}

func BenchmarkCreatePayment(b *testing.B) { storetest.BenchCreatePayment(b, open(b)) }

func BenchmarkUpdatePayment(b *testing.B) { storetest.BenchUpdatePayment(b, open(b)) }

// TestUpdateOneTripAtomic: an update's statements go in one batch, which
// PostgreSQL runs as one implicit transaction: a statement that fails
// after the payment's update (an event the database refuses) leaves the
// payment as it was.
func TestUpdateOneTripAtomic(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	p := &tender.Payment{ID: "pay_atomic", Amount: 100, Currency: "EUR", Status: tender.StatusPending, Connector: "sepay"}
	if err := db.CreatePayment(ctx, p); err != nil {
		t.Fatal(err)
	}
	changed := *p
	changed.Status = tender.StatusCaptured
	err := db.UpdatePayment(ctx, &changed, tender.Event{Type: "payment.captured"}, tender.Event{Type: "bad", Data: json.RawMessage(`{not json`)})
	if err == nil {
		t.Fatal("an update with an event the database refuses succeeded")
	}
	got, err := db.GetPayment(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.Status != tender.StatusPending {
		t.Errorf("after the failed batch: version %d, status %s; want 1, pending", got.Version, got.Status)
	}
	if evs, err := db.ListEvents(ctx, p.ID); err != nil || len(evs) != 0 {
		t.Errorf("after the failed batch: events %+v, %v; want none", evs, err)
	}
	// The same update without the refused event is taken.
	if err := db.UpdatePayment(ctx, &changed, tender.Event{Type: "payment.captured"}); err != nil {
		t.Fatal(err)
	}
	if got := mustGetPG(t, db, p.ID); got.Version != 2 || got.Status != tender.StatusCaptured {
		t.Errorf("after the update: version %d, status %s; want 2, captured", got.Version, got.Status)
	}
}

func mustGetPG(t *testing.T, db *postgres.DB, id string) *tender.Payment {
	t.Helper()
	p, err := db.GetPayment(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
