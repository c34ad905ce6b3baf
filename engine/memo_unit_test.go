package engine

// Unit tests of memo and recent with a fake notice feed: what PostgreSQL's
// LISTEN/NOTIFY drives in production (and the SQLite-based engine tests
// never run). A key, locale or account kept in memory is what an API
// request is authenticated with, a provider's text shown in, or a payment
// created on: each must be dropped when a change is told, when notices
// may be lost, and when a notice raced the read that would keep it.

import (
	"fmt"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// fakeFeed is a noticeFeed whose notices the test sends.
type fakeFeed struct {
	lives   []func(bool)
	changes []func(kind, id string)
}

func (f *fakeFeed) WatchNotices(live func(bool), changed func(kind, id string)) {
	f.lives = append(f.lives, live)
	f.changes = append(f.changes, changed)
}

func (f *fakeFeed) live(on bool) {
	for _, l := range f.lives {
		l(on)
	}
}

func (f *fakeFeed) notice(kind, id string) {
	for _, c := range f.changes {
		c(kind, id)
	}
}

// liveMemo is a memo on a feed whose notices flow, with a TTL of a minute
// (only what the test does explains what it sees).
func liveMemo(t *testing.T) (*memo, *fakeFeed) {
	t.Helper()
	f := &fakeFeed{}
	m := newMemo(f)
	m.ttl = time.Minute
	f.live(true)
	return m, f
}

func keyOf(id string) *tender.APIKey {
	return &tender.APIKey{ID: id, Hash: "h-" + id, Scope: tender.ScopeTerminal, Terminals: []string{"till"}}
}

// keptKey keeps the key id as read now, under the generation key gives.
func keptKey(m *memo, id string) {
	_, gen := m.key("h-" + id)
	m.keepKey("h-"+id, keyOf(id), gen, time.Now())
}

func hasKey(m *memo, id string) bool {
	k, _ := m.key("h-" + id)
	return k != nil && k.ID == id
}

// TestMemoKeyKeptAndDropped: a key read while notices flow is served from
// memory, with its last use as touched; a notice of an API key's change
// (a revocation), a lost feed or the TTL drop it; while the feed is down
// nothing is kept.
func TestMemoKeyKeptAndDropped(t *testing.T) {
	m, f := liveMemo(t)
	keptKey(m, "a")
	if !hasKey(m, "a") {
		t.Fatal("a key read while notices flow was not kept")
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m.touched("h-a", at)
	if k, _ := m.key("h-a"); k == nil || !k.LastUsedAt.Equal(at) {
		t.Fatalf("kept key after touched: %+v; want last used at %s", k, at)
	}
	// What a caller changes of a served key is not what is kept.
	k, _ := m.key("h-a")
	k.Terminals[0] = "other"
	if k, _ := m.key("h-a"); k.Terminals[0] != "till" {
		t.Fatalf("a caller's change reached the kept key: %v", k.Terminals)
	}

	f.notice("api_key", "a")
	if hasKey(m, "a") {
		t.Fatal("a revoked key was served after its notice")
	}
	keptKey(m, "a")
	f.notice("merchant", "mer_1")
	if !hasKey(m, "a") {
		t.Fatal("a merchant's notice dropped the keys")
	}
	f.notice("something new", "x")
	if hasKey(m, "a") {
		t.Fatal("a notice of an unknown kind kept the keys")
	}

	keptKey(m, "a")
	f.live(false)
	if hasKey(m, "a") {
		t.Fatal("a key was served after the feed was lost")
	}
	keptKey(m, "a")
	if hasKey(m, "a") {
		t.Fatal("a key was kept while notices may be lost")
	}
	f.live(true)
	keptKey(m, "a")
	if !hasKey(m, "a") {
		t.Fatal("no key kept once notices flow again")
	}

	m.ttl = 50 * time.Millisecond
	m.keepKey("h-b", keyOf("b"), m.gen, time.Now().Add(-time.Second))
	if hasKey(m, "b") {
		t.Fatal("a key read longer than the TTL ago was served")
	}
}

// TestMemoReadRacingANotice: a key, locale or account read before a
// notice or a reconnect that came during the read is not kept,
// however the notices and reconnects add up (two notices and one
// reconnect bring no counter back to where the read started).
func TestMemoReadRacingANotice(t *testing.T) {
	for _, c := range []struct {
		name   string
		during func(f *fakeFeed)
	}{
		{"a notice", func(f *fakeFeed) { f.notice("account", "acct") }},
		{"a reconnect", func(f *fakeFeed) { f.live(false); f.live(true) }},
		{"a reconnect, then two notices", func(f *fakeFeed) {
			f.live(false)
			f.live(true)
			f.notice("account", "acct")
			f.notice("account", "acct")
		}},
		{"two notices, then a reconnect", func(f *fakeFeed) {
			f.notice("account", "acct")
			f.notice("account", "acct")
			f.live(false)
			f.live(true)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, f := liveMemo(t)
			acc := newRecent(f, "account", copyAccount)
			acc.ttl = time.Minute
			_, gen := m.key("h-a")
			_, _, lgen := m.locale("mer_1")
			_, agen := acc.get("acct")
			read := time.Now()
			c.during(f)
			m.keepKey("h-a", keyOf("a"), gen, read)
			m.keepLocale("mer_1", "de", lgen, read)
			acc.keep("acct", &tender.Account{ID: "acct"}, agen, read)
			if hasKey(m, "a") {
				t.Error("a key read before the notice was kept")
			}
			if _, ok, _ := m.locale("mer_1"); ok {
				t.Error("a locale read before the notice was kept")
			}
			if a, _ := acc.get("acct"); a != nil {
				t.Error("an account read before the notice was kept")
			}
		})
	}
}

// TestMemoLocaleKeptAndDropped: a merchant's default locale is kept while
// notices flow and dropped by a merchant's notice, a lost feed or the TTL.
func TestMemoLocaleKeptAndDropped(t *testing.T) {
	m, f := liveMemo(t)
	keep := func(merchant, l string) {
		_, _, gen := m.locale(merchant)
		m.keepLocale(merchant, l, gen, time.Now())
	}
	locale := func(merchant string) string {
		l, ok, _ := m.locale(merchant)
		if !ok {
			return "(none)"
		}
		return l
	}
	keep("mer_1", "de")
	keep("mer_2", "")
	if locale("mer_1") != "de" || locale("mer_2") != "" {
		t.Fatalf("kept locales %q, %q; want de and the empty default", locale("mer_1"), locale("mer_2"))
	}
	f.notice("api_key", "k")
	if locale("mer_1") != "de" {
		t.Fatal("an API key's notice dropped the locales")
	}
	f.notice("merchant", "mer_1")
	if locale("mer_1") != "(none)" {
		t.Fatal("a merchant's notice kept its locale")
	}
	keep("mer_1", "fr")
	f.live(false)
	if locale("mer_1") != "(none)" {
		t.Fatal("a locale was served after the feed was lost")
	}
	keep("mer_1", "fr")
	if locale("mer_1") != "(none)" {
		t.Fatal("a locale was kept while notices may be lost")
	}
	f.live(true)
	m.ttl = 50 * time.Millisecond
	_, _, gen := m.locale("mer_1")
	m.keepLocale("mer_1", "fr", gen, time.Now().Add(-time.Second))
	if locale("mer_1") != "(none)" {
		t.Fatal("a locale read longer than the TTL ago was served")
	}
}

// TestMemoAccounts: the accounts creates use are kept under their key
// (an id, or a merchant's default for a connector) until an account's
// notice or forgetAccounts, and served as copies.
func TestMemoAccounts(t *testing.T) {
	m, f := liveMemo(t)
	if m.account("acct") != nil {
		t.Fatal("an account never kept was served")
	}
	a := &tender.Account{ID: "acct", Connector: "script", Merchant: "mer_1", Settings: map[string]string{"site": "s1"}}
	m.keepAccount("acct", a)
	m.keepAccount(defaultAccountKey("mer_1", "script"), a)
	if got := m.account("acct"); got == nil || got.ID != "acct" || got.Settings["site"] != "s1" {
		t.Fatalf("kept account: %+v", got)
	}
	if got := m.account(defaultAccountKey("mer_1", "script")); got == nil || got.ID != "acct" {
		t.Fatalf("kept default account: %+v", got)
	}
	for _, other := range []string{defaultAccountKey("mer_2", "script"), defaultAccountKey("mer_1", "other"), defaultAccountKey("mer_1script", "")} {
		if got := m.account(other); got != nil {
			t.Fatalf("%q names the default of another merchant or connector, got %+v", other, got)
		}
	}
	m.account("acct").Settings["site"] = "changed"
	a.Settings["site"] = "changed too"
	if got := m.account("acct"); got.Settings["site"] != "s1" {
		t.Fatalf("a change by a caller reached the kept account: %v", got.Settings)
	}
	f.notice("api_key", "k")
	if m.account("acct") == nil {
		t.Fatal("an API key's notice dropped the accounts")
	}
	f.notice("account", "acct")
	if m.account("acct") != nil {
		t.Fatal("an account's notice kept it")
	}
	m.keepAccount("acct", a)
	m.forgetAccounts()
	if m.account("acct") != nil {
		t.Fatal("forgetAccounts kept the account")
	}
}

// TestMemoBounds: each kind keeps at most maxMemo entries (beyond, what
// was kept is dropped and kept anew), and below it every entry stays.
func TestMemoBounds(t *testing.T) {
	m, _ := liveMemo(t)
	acc := newRecent(nil, "account", copyAccount) // SQLite: no feed
	acc.ttl = time.Minute
	for i := range maxMemo {
		id := fmt.Sprint(i)
		keptKey(m, id)
		_, _, gen := m.locale(id)
		m.keepLocale(id, "de", gen, time.Now())
		m.keepAccount(id, &tender.Account{ID: id})
		_, agen := acc.get(id)
		acc.keep(id, &tender.Account{ID: id}, agen, time.Now())
	}
	// Below the bound nothing was dropped.
	for _, id := range []string{"0", "1", fmt.Sprint(maxMemo - 1)} {
		if !hasKey(m, id) {
			t.Errorf("key %s dropped below the bound", id)
		}
		if _, ok, _ := m.locale(id); !ok {
			t.Errorf("locale %s dropped below the bound", id)
		}
		if m.account(id) == nil {
			t.Errorf("account %s dropped below the bound", id)
		}
		if a, _ := acc.get(id); a == nil {
			t.Errorf("recent account %s dropped below the bound", id)
		}
	}
	// One more: the memory is bounded.
	id := fmt.Sprint(maxMemo)
	keptKey(m, id)
	_, _, gen := m.locale(id)
	m.keepLocale(id, "de", gen, time.Now())
	m.keepAccount(id, &tender.Account{ID: id})
	_, agen := acc.get(id)
	acc.keep(id, &tender.Account{ID: id}, agen, time.Now())
	if hasKey(m, "0") || len(m.keys) > maxMemo {
		t.Errorf("%d keys kept; want at most %d", len(m.keys), maxMemo)
	}
	if _, ok, _ := m.locale("0"); ok || len(m.locales) > maxMemo {
		t.Errorf("%d locales kept; want at most %d", len(m.locales), maxMemo)
	}
	if m.account("0") != nil || len(m.accounts) > maxMemo {
		t.Errorf("%d accounts kept; want at most %d", len(m.accounts), maxMemo)
	}
	if a, _ := acc.get("0"); a != nil || len(acc.m) > maxMemo {
		t.Errorf("%d recent accounts kept; want at most %d", len(acc.m), maxMemo)
	}
	if !hasKey(m, id) || m.account(id) == nil {
		t.Error("the entry past the bound was not kept")
	}
}

// TestRecentKeptAndDropped: an object kept by recent is dropped by a
// change of it (others stay), by a notice of what this version does not
// know (every one), by a lost feed and by the TTL; a notice of another
// kind keeps it.
func TestRecentKeptAndDropped(t *testing.T) {
	f := &fakeFeed{}
	k := newRecent(f, "merchant", copyMerchant)
	k.ttl = time.Minute
	keep := func(id string) {
		_, gen := k.get(id)
		k.keep(id, &tender.Merchant{ID: id, Metadata: map[string]string{"x": "1"}}, gen, time.Now())
	}
	has := func(id string) bool {
		m, _ := k.get(id)
		return m != nil && m.ID == id
	}
	keep("m1")
	if has("m1") {
		t.Fatal("kept before the feed was live")
	}
	f.live(true)
	keep("m1")
	keep("m2")
	if !has("m1") || !has("m2") {
		t.Fatal("not kept while notices flow")
	}
	got, _ := k.get("m1")
	got.Metadata["x"] = "changed"
	if got, _ := k.get("m1"); got.Metadata["x"] != "1" {
		t.Fatal("a caller's change reached the kept merchant")
	}
	f.notice("account", "m1")
	f.notice("api_key", "m1")
	if !has("m1") || !has("m2") {
		t.Fatal("a notice of another kind dropped a merchant")
	}
	f.notice("merchant", "m1")
	if has("m1") || !has("m2") {
		t.Fatalf("after m1's notice: m1 kept %v, m2 kept %v; want only m2", has("m1"), has("m2"))
	}
	keep("m1")
	f.notice("webhook_endpoint", "w")
	if has("m1") || has("m2") {
		t.Fatal("a notice of an unknown kind kept merchants")
	}
	keep("m1")
	f.live(false)
	if has("m1") {
		t.Fatal("served after the feed was lost")
	}
	f.live(true)
	k.ttl = 50 * time.Millisecond
	_, gen := k.get("m1")
	k.keep("m1", &tender.Merchant{ID: "m1"}, gen, time.Now().Add(-time.Second))
	if has("m1") {
		t.Fatal("served longer than the TTL after its read")
	}
}
