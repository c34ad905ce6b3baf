package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/postgres"
	"github.com/tenderpay/tender/seal"
)

// Two instances on one PostgreSQL database, each keeping API keys and
// accounts in memory (memo): what one changes, the other never serves
// once the change committed and its notice arrived, and it reads again
// when it cannot know (a lost notice connection). Their TTL is made a
// minute, so that only the notices can explain what they see.

// pgInstances returns a world on a PostgreSQL schema of its own and two
// engines on it, each with a store (a pool and a listener) of its own.
func pgInstances(t *testing.T) (conn *script, a, b *Engine, sql *pgx.Conn, schema string) {
	dsn := os.Getenv("TENDER_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("set TENDER_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run it")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("TENDER_TEST_POSTGRES is set but PostgreSQL is unreachable: %v", err)
	}
	t.Cleanup(func() { admin.Close(ctx) })
	var r [8]byte
	rand.Read(r[:])
	schema = "tender_test_" + hex.EncodeToString(r[:])
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`) })
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	open := func() tender.Store {
		db, err := postgres.OpenConfig(ctx, cfg.Copy())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	conn = &script{}
	clock := &fakeClock{}
	instance := func() *Engine {
		sealer, err := seal.New(bytes.Repeat([]byte{9}, seal.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		e, err := New(Options{Store: open(), Connectors: []tender.Connector{conn}, Sealer: sealer, Clock: clock,
			Schedule: faultSchedule, PublicURL: "http://tender.test"})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a, b = instance(), instance()
	for _, e := range []*Engine{a, b} {
		if e.memo == nil {
			t.Fatal("an engine on PostgreSQL keeps nothing in memory")
		}
		e.memo.mu.Lock()
		e.memo.ttl = time.Minute
		e.memo.mu.Unlock()
		waitLive(t, e)
	}
	if _, err := a.CreateAccount(ctx, &tender.Account{ID: "acct", Connector: "script", Environment: tender.EnvSandbox, Default: true,
		Settings: map[string]string{"v": "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `SET search_path = `+schema); err != nil {
		t.Fatal(err)
	}
	return conn, a, b, admin, schema
}

// waitLive waits until e's memo hears notices.
func waitLive(t *testing.T, e *Engine) {
	t.Helper()
	within(t, 5*time.Second, "the memo to listen", func() bool {
		e.memo.mu.Lock()
		defer e.memo.mu.Unlock()
		return e.memo.live
	})
}

// within waits for ok, at most d.
func within(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("waited %v for %s", d, what)
		}
	}
}

func kept(e *Engine, secret string) bool {
	e.memo.mu.Lock()
	defer e.memo.mu.Unlock()
	_, ok := e.memo.keys[HashAPIKey(secret)]
	return ok
}

func TestMemoRevokedKeyAcrossInstances(t *testing.T) {
	_, a, b, sql, schema := pgInstances(t)
	ctx := context.Background()
	secret, k, err := a.CreateAPIKey(ctx, "pos")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := b.Authenticate(ctx, secret); err != nil {
			t.Fatalf("B: a new key: %v", err)
		}
	}
	if !kept(b, secret) {
		t.Fatal("B did not keep the key it read")
	}
	// A change behind Tender's back (no notice) is not seen within the
	// TTL: B does serve from memory.
	if _, err := sql.Exec(ctx, `UPDATE api_keys SET name = 'renamed' WHERE id = $1`, k.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Authenticate(ctx, secret); err != nil || got.Name != "pos" {
		t.Fatalf("B before any notice: %+v, %v; want the key as kept", got, err)
	}

	// Revoked on A: refused on A at once, and on B once the notice is in.
	if _, err := a.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, secret); tender.ErrorCodeOf(err) != tender.EUnauthorized {
		t.Fatalf("A after its revocation: %v; want unauthorized", err)
	}
	start := time.Now()
	within(t, 2*time.Second, "B to refuse the revoked key", func() bool {
		_, err := b.Authenticate(ctx, secret)
		return tender.ErrorCodeOf(err) == tender.EUnauthorized
	})
	t.Logf("B refused the key revoked on A %v after the revocation's commit", time.Since(start).Round(time.Millisecond))

	// The notice connection drops: B forgets what it kept, and keeps
	// nothing until it listens again.
	secret2, k2, err := a.CreateAPIKey(ctx, "pos 2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, secret2); err != nil || !kept(b, secret2) {
		t.Fatalf("B: a second key: %v (kept %v)", err, kept(b, secret2))
	}
	if _, err := sql.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE id = $1`, k2.ID); err != nil {
		t.Fatal(err) // behind Tender's back: no notice
	}
	if _, err := sql.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
		"tender notices "+schema); err != nil {
		t.Fatal(err)
	}
	within(t, 2*time.Second, "B to forget its keys when its notices stop", func() bool {
		_, err := b.Authenticate(ctx, secret2)
		return tender.ErrorCodeOf(err) == tender.EUnauthorized
	})
	waitLive(t, b)
	if _, err := b.Authenticate(ctx, secret2); tender.ErrorCodeOf(err) != tender.EUnauthorized {
		t.Fatalf("B listening again: %v; want the key revoked", err)
	}
}

// A create on B uses the account as stored when its payment is, whatever
// B kept: a changed account, a default moved to another account.
func TestMemoChangedAccountAcrossInstances(t *testing.T) {
	conn, a, b, _, _ := pgInstances(t)
	ctx := context.Background()
	seen := make(chan *tender.Account, 1)
	conn.start.Set(func(_ context.Context, op *tender.Op) (tender.Update, error) {
		seen <- op.Account
		return tender.Update{Status: tender.StatusAuthorized, ProviderReference: "ref-" + op.ID}, nil
	})
	n := 0
	create := func(want, v string) {
		t.Helper()
		n++
		fn, render := createOnce(b, onlinePayment)
		resp, err := b.IdempotentCreate(ctx, "key", "k"+string(rune('a'+n)), "h", fn, render)
		if err != nil || resp.Status != 201 {
			t.Fatalf("create on B = %d %s, %v", resp.Status, resp.Body, err)
		}
		acct := <-seen
		if acct.ID != want || acct.Settings["v"] != v {
			t.Fatalf("the provider got account %s (v=%s), want %s (v=%s)", acct.ID, acct.Settings["v"], want, v)
		}
		id, _ := paymentOf(t, resp)
		if p, err := b.Store().GetPayment(ctx, id); err != nil || p.Account != want {
			t.Fatalf("payment stored on account %v (%v), want %s", p, err, want)
		}
	}
	create("acct", "1")
	create("acct", "1") // from memory
	if b.memo.account(defaultAccountKey(tender.DefaultMerchant, "script")) == nil {
		t.Fatal("B did not keep the default account")
	}
	if _, err := a.UpdateAccount(ctx, "acct", AccountChange{Settings: map[string]string{"v": "2"}}); err != nil {
		t.Fatal(err)
	}
	create("acct", "2")
	if _, err := a.CreateAccount(ctx, &tender.Account{ID: "acct2", Connector: "script", Environment: tender.EnvSandbox,
		Settings: map[string]string{"v": "3"}}); err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := a.UpdateAccount(ctx, "acct2", AccountChange{Default: &yes}); err != nil {
		t.Fatal(err)
	}
	create("acct2", "3")
}

// A merchant's default locale changed on A reaches B's provider calls once
// the notice is in.
func TestMemoMerchantLocaleAcrossInstances(t *testing.T) {
	_, a, b, _, _ := pgInstances(t)
	ctx := context.Background()
	p := &tender.Payment{Merchant: tender.DefaultMerchant}
	if l := b.opLocale(ctx, p); l != "" {
		t.Fatalf("B: locale %q before any is set", l)
	}
	m, err := a.Store().GetMerchant(ctx, tender.DefaultMerchant)
	if err != nil {
		t.Fatal(err)
	}
	m.DefaultLocale = "nl"
	if err := a.Store().UpdateMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	within(t, 2*time.Second, "B to use the new locale", func() bool { return b.opLocale(ctx, p) == "nl" })
}
