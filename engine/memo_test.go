package engine

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"strings"
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
		e, err := New(Options{Store: open(), Connectors: []tender.Connector{conn, &callbackConn{script: conn, name: "signed", f: signedCallback}},
			Sealer: sealer, Clock: clock,
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
		e.opened.mu.Lock()
		e.opened.ttl = time.Minute
		e.opened.mu.Unlock()
		e.shops.mu.Lock()
		e.shops.ttl = time.Minute
		e.shops.mu.Unlock()
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

// waitLive waits until e's memos hear notices.
func waitLive(t *testing.T, e *Engine) {
	t.Helper()
	within(t, 5*time.Second, "the memo to listen", func() bool {
		e.memo.mu.Lock()
		defer e.memo.mu.Unlock()
		e.opened.mu.Lock()
		defer e.opened.mu.Unlock()
		e.shops.mu.Lock()
		defer e.shops.mu.Unlock()
		return e.memo.live && e.opened.live && e.shops.live
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

// signedCallback is a provider's callback that proves itself with an
// HMAC of its body under the account's credential "key", in X-Sig.
func signedCallback(_ context.Context, cb *tender.Callback) (*tender.CallbackResult, error) {
	if !hmac.Equal([]byte(sign(cb.Account.Credentials["key"], cb.Body)), []byte(cb.Request.Header.Get("X-Sig"))) {
		return nil, tender.Errorf(tender.EInvalid, "the signature does not verify")
	}
	return &tender.CallbackResult{StatusCode: 200}, nil
}

func sign(key string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// callbackSignedWith sends e a callback to account id signed with key and
// says whether e took it.
func callbackSignedWith(t *testing.T, e *Engine, id, key string) bool {
	t.Helper()
	body := []byte("result=ok")
	r := httptest.NewRequest("POST", "/callbacks/signed/"+id+"/notify", strings.NewReader(string(body)))
	r.Header.Set("X-Sig", sign(key, body))
	_, err := e.HandleCallback(context.Background(), "signed", id, "notify", r, body)
	if err != nil && tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("callback: %v", err)
	}
	return err == nil
}

func keptOpened(e *Engine, id string) bool {
	e.opened.mu.Lock()
	defer e.opened.mu.Unlock()
	_, ok := e.opened.m[id]
	return ok
}

// A provider's callback is checked with the account as stored, whatever
// B kept of it: a credential rotated on A makes B refuse the old key once
// the notice is in, and B takes the new key at once (a refusal by what
// it kept reads the account again), even when nothing tells it (a change
// behind Tender's back).
func TestMemoCallbackAccountAcrossInstances(t *testing.T) {
	_, a, b, sql, schema := pgInstances(t)
	ctx := context.Background()
	if _, err := a.CreateAccount(ctx, &tender.Account{ID: "sig", Connector: "signed", Environment: tender.EnvSandbox,
		Credentials: map[string]string{"key": "k1"}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if !callbackSignedWith(t, b, "sig", "k1") {
			t.Fatal("B refused a callback signed with the account's key")
		}
	}
	if !keptOpened(b, "sig") {
		t.Fatal("B did not keep the account it verified a callback with")
	}
	if callbackSignedWith(t, b, "sig", "forged") {
		t.Fatal("B took a callback signed with another key")
	}

	// Rotated on A: B refuses the old key once the notice is in.
	if _, err := a.UpdateAccount(ctx, "sig", AccountChange{Credentials: map[string]string{"key": "k2"}}); err != nil {
		t.Fatal(err)
	}
	if callbackSignedWith(t, a, "sig", "k1") {
		t.Fatal("A took the key it rotated away")
	}
	start := time.Now()
	within(t, 2*time.Second, "B to refuse the rotated key", func() bool { return !callbackSignedWith(t, b, "sig", "k1") })
	t.Logf("B refused the key rotated on A %v after the rotation's commit", time.Since(start).Round(time.Millisecond))
	for range 3 {
		if !callbackSignedWith(t, b, "sig", "k2") {
			t.Fatal("B refused a callback signed with the rotated key")
		}
		if callbackSignedWith(t, b, "sig", "k1") {
			t.Fatal("B took the old key again")
		}
	}
	if !keptOpened(b, "sig") {
		t.Fatal("B did not keep the rotated account")
	}

	// Rotated behind Tender's back (no notice): B, keeping k2, takes k2
	// within the TTL (what the bound allows), takes a callback signed with
	// k3 all the same, and from then on refuses k2.
	sealed, err := a.sealCredentials("account", "sig", map[string]string{"key": "k3"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sql.Exec(ctx, `UPDATE accounts SET sealed = $1 WHERE id = 'sig'`, sealed); err != nil {
		t.Fatal(err)
	}
	if !callbackSignedWith(t, b, "sig", "k2") {
		t.Fatal("B refused the key it kept, with no notice of a change")
	}
	if !callbackSignedWith(t, b, "sig", "k3") {
		t.Fatal("B refused a callback signed with the key as stored")
	}
	if callbackSignedWith(t, b, "sig", "k2") {
		t.Fatal("B took the key it had kept after it read the account again")
	}

	// The notice connection drops: B keeps no account until it listens
	// again.
	if !callbackSignedWith(t, b, "sig", "k3") || !keptOpened(b, "sig") {
		t.Fatal("B did not keep the account")
	}
	if _, err := sql.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
		"tender notices "+schema); err != nil {
		t.Fatal(err)
	}
	within(t, 2*time.Second, "B to forget its accounts when its notices stop", func() bool { return !keptOpened(b, "sig") })
	waitLive(t, b)
	if !callbackSignedWith(t, b, "sig", "k3") {
		t.Fatal("B listening again refused the stored key")
	}
}

// On SQLite (one process) an account this engine changes is never used as
// it was for a callback after the change, nor a merchant for a page.
func TestMemoCallbackAccountSQLite(t *testing.T) {
	w := newWorld(t)
	e, err := New(Options{Store: w.store, Sealer: w.engine(faultSchedule).sealer, Clock: w.clock, Schedule: faultSchedule,
		PublicURL: "http://tender.test", Connectors: []tender.Connector{&callbackConn{script: w.conn, name: "signed", f: signedCallback}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.CreateAccount(ctx, &tender.Account{ID: "sig", Connector: "signed", Environment: tender.EnvSandbox,
		Credentials: map[string]string{"key": "k1"}}); err != nil {
		t.Fatal(err)
	}
	if !callbackSignedWith(t, e, "sig", "k1") || !keptOpened(e, "sig") {
		t.Fatal("the account's key was refused, or the account not kept")
	}
	if _, err := e.UpdateAccount(ctx, "sig", AccountChange{Credentials: map[string]string{"key": "k2"}}); err != nil {
		t.Fatal(err)
	}
	if callbackSignedWith(t, e, "sig", "k1") {
		t.Fatal("the key rotated away was taken after the rotation")
	}
	if !callbackSignedWith(t, e, "sig", "k2") {
		t.Fatal("the rotated key was refused")
	}

	// So is a merchant for its pages.
	if m, err := e.PageMerchant(ctx, tender.DefaultMerchant); err != nil || m.Branding.DisplayName != "" {
		t.Fatalf("PageMerchant = %+v, %v", m, err)
	}
	if _, err := e.UpdateMerchant(ctx, tender.DefaultMerchant, MerchantRequest{Branding: &tender.Branding{DisplayName: "Shop"}}); err != nil {
		t.Fatal(err)
	}
	if m, err := e.PageMerchant(ctx, tender.DefaultMerchant); err != nil || m.Branding.DisplayName != "Shop" {
		t.Fatalf("PageMerchant after the change = %+v, %v; want the new branding", m, err)
	}
}

// A merchant's branding changed on A shows on B's pages once the notice is
// in; until then (or a change behind Tender's back) B uses what it kept.
func TestMemoPageMerchantAcrossInstances(t *testing.T) {
	_, a, b, sql, _ := pgInstances(t)
	ctx := context.Background()
	name := func() string {
		m, err := b.PageMerchant(ctx, tender.DefaultMerchant)
		if err != nil {
			t.Fatal(err)
		}
		return m.Branding.DisplayName
	}
	if got := name(); got != "" {
		t.Fatalf("B: display name %q before any is set", got)
	}
	if _, err := sql.Exec(ctx, `UPDATE merchants SET branding = '{"display_name": "by hand"}' WHERE id = $1`, tender.DefaultMerchant); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "" {
		t.Fatalf("B before any notice: display name %q; want the merchant as kept", got)
	}
	m, err := a.Store().GetMerchant(ctx, tender.DefaultMerchant)
	if err != nil {
		t.Fatal(err)
	}
	m.Branding.DisplayName = "Shop"
	if err := a.Store().UpdateMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	within(t, 2*time.Second, "B to show the new branding", func() bool { return name() == "Shop" })
}
