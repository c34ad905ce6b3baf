package engine

import (
	"maps"
	"sync"
	"time"

	"github.com/tenderpay/tender"
)

// noticeFeed is what a store offers for keeping what every request reads
// in memory across instances: a notice of each change committed by any
// instance (PostgreSQL: LISTEN/NOTIFY). A store without it (SQLite, whose
// reads are in-process and cheap) is read every time.
type noticeFeed interface {
	// WatchNotices calls changed(kind, id) once a change of an object of
	// kind ("api_key") has committed, live(false) as soon as notices may
	// be lost (the listening connection dropped) and live(true) once they
	// flow again, until the store is closed.
	WatchNotices(live func(bool), changed func(kind, id string))
}

// memoTTL bounds how long a kept API key is used without reading it
// again, whatever the notices: a notice in flight, or a change made
// behind Tender's back (SQL by hand), holds on every instance within it.
const memoTTL = time.Second

// maxMemo bounds each kind of entry kept.
const maxMemo = 4096

// memo keeps API keys (by hash), merchants (whole, and their default
// locales) and the accounts creates use (by id, and by merchant and
// connector for defaults) in memory.
//
// API keys and merchants are kept only while notices flow: a notice of a
// change drops every key (or merchant), a lost connection drops them and
// keeps none until it is back, and one read before a notice that arrives
// during the read is not kept (gen). Accounts need no notice: a create
// that uses a kept account has the store check, in its insert, that the
// account is still as kept (tender.CreateChecks), and reads it again if
// not; a notice of an account's change drops them all the same, sparing
// that refused insert.
type memo struct {
	mu        sync.Mutex
	ttl       time.Duration // memoTTL (tests make it longer)
	live      bool
	gen       uint64
	keys      map[string]memoKey
	locales   map[string]memoLocale // merchant → default locale
	merchants map[string]memoMerchant
	accounts  map[string]*tender.Account
}

type memoMerchant struct {
	m    tender.Merchant
	read time.Time
}

type memoLocale struct {
	locale string
	read   time.Time
}

type memoKey struct {
	k    tender.APIKey
	read time.Time
}

func newMemo(feed noticeFeed) *memo {
	m := &memo{ttl: memoTTL, keys: map[string]memoKey{}, locales: map[string]memoLocale{},
		merchants: map[string]memoMerchant{}, accounts: map[string]*tender.Account{}}
	feed.WatchNotices(m.setLive, m.changed)
	return m
}

func (m *memo) setLive(live bool) {
	m.mu.Lock()
	m.live = live
	m.gen++
	clear(m.keys)
	clear(m.locales)
	clear(m.merchants)
	m.mu.Unlock()
}

func (m *memo) changed(kind, id string) {
	m.mu.Lock()
	m.gen++
	switch kind {
	case "api_key":
		clear(m.keys) // revocations are rare: drop them all
	case "merchant":
		clear(m.locales)
		clear(m.merchants)
	case "account":
		clear(m.accounts)
	default:
		clear(m.keys)
		clear(m.locales)
		clear(m.merchants)
		clear(m.accounts)
	}
	m.mu.Unlock()
}

// key returns the kept key of hash, if one was read within memoTTL, and
// the generation to keep a key read now under.
func (m *memo) key(hash string) (*tender.APIKey, uint64) {
	if m == nil {
		return nil, 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.keys[hash]
	if !ok || !m.live || time.Since(e.read) >= m.ttl {
		return nil, m.gen
	}
	k := e.k
	k.Terminals = append([]string(nil), k.Terminals...)
	return &k, m.gen
}

// keepKey keeps k, read from the store at read, unless a notice came or
// notices stopped since gen.
func (m *memo) keepKey(hash string, k *tender.APIKey, gen uint64, read time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.live || m.gen != gen {
		return
	}
	if len(m.keys) >= maxMemo {
		clear(m.keys)
	}
	c := *k
	c.Terminals = append([]string(nil), k.Terminals...)
	m.keys[hash] = memoKey{k: c, read: read}
}

// touched records that the key of hash was last used at.
func (m *memo) touched(hash string, at time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	if e, ok := m.keys[hash]; ok {
		e.k.LastUsedAt = at
		m.keys[hash] = e
	}
	m.mu.Unlock()
}

// locale returns the kept default locale of merchant, and the generation
// to keep one read now under.
func (m *memo) locale(merchant string) (string, bool, uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.locales[merchant]
	if !ok || !m.live || time.Since(e.read) >= m.ttl {
		return "", false, m.gen
	}
	return e.locale, true, m.gen
}

func (m *memo) keepLocale(merchant, locale string, gen uint64, read time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.live || m.gen != gen {
		return
	}
	if len(m.locales) >= maxMemo {
		clear(m.locales)
	}
	m.locales[merchant] = memoLocale{locale: locale, read: read}
}

// merchant returns a copy of the kept merchant with id, if one was read
// within the TTL, and the generation to keep one read now under.
func (m *memo) merchant(id string) (*tender.Merchant, uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.merchants[id]
	if !ok || !m.live || time.Since(e.read) >= m.ttl {
		return nil, m.gen
	}
	c := e.m
	c.Metadata = maps.Clone(e.m.Metadata)
	return &c, m.gen
}

// keepMerchant keeps mc, read from the store at read, unless a notice
// came or notices stopped since gen.
func (m *memo) keepMerchant(mc *tender.Merchant, gen uint64, read time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.live || m.gen != gen {
		return
	}
	if len(m.merchants) >= maxMemo {
		clear(m.merchants)
	}
	c := *mc
	c.Metadata = maps.Clone(mc.Metadata)
	m.merchants[mc.ID] = memoMerchant{m: c, read: read}
}

func defaultAccountKey(merchant, connector string) string {
	return "default\x00" + merchant + "\x00" + connector
}

// account returns a copy of the account kept under key, or nil.
func (m *memo) account(key string) *tender.Account {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[key]
	if a == nil {
		return nil
	}
	return copyAccount(a)
}

func (m *memo) keepAccount(key string, a *tender.Account) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.accounts) >= maxMemo {
		clear(m.accounts)
	}
	m.accounts[key] = copyAccount(a)
}

// forgetAccounts drops the kept accounts (one was found changed).
func (m *memo) forgetAccounts() {
	if m == nil {
		return
	}
	m.mu.Lock()
	clear(m.accounts)
	m.mu.Unlock()
}

func copyAccount(a *tender.Account) *tender.Account {
	c := *a
	c.Settings, c.Credentials = maps.Clone(a.Settings), maps.Clone(a.Credentials)
	c.Sealed = append([]byte(nil), a.Sealed...)
	return &c
}

// opened keeps accounts with their credentials opened, by id, for what
// checks a provider's callback with them (HandleCallback) and for the
// shopper's pages. Unlike a create, a callback's verification has no
// insert to check the account in, so what is kept is bounded in time:
//
//   - On PostgreSQL an account is kept only while notices flow (as API
//     keys), for the TTL at most: a change committed on any instance
//     (UpdateAccount notifies in its transaction) drops it everywhere
//     once its notice arrives (milliseconds), and within the TTL (1 s) in
//     any case; a lost listening connection drops everything kept.
//   - On SQLite (one process: every change of an account is this
//     engine's) an account is dropped when this engine changes it, after
//     the change committed; one changed behind Tender's back (SQL by
//     hand) is used for the TTL at most.
//
// An account read before a change that is told during the read is not
// kept (gen).
type opened struct {
	mu   sync.Mutex
	ttl  time.Duration
	live bool // notices flow (always, without a feed)
	gen  uint64
	m    map[string]memoOpened
}

type memoOpened struct {
	a    *tender.Account
	read time.Time
}

// newOpened returns accounts kept while feed's notices flow, or, with no
// feed, until this process changes them.
func newOpened(feed noticeFeed) *opened {
	o := &opened{ttl: memoTTL, live: feed == nil, m: map[string]memoOpened{}}
	if feed != nil {
		feed.WatchNotices(o.setLive, func(kind, id string) {
			switch kind {
			case "account":
				o.changed(id)
			case "api_key", "merchant":
			default: // a notice of what this version does not know
				o.changed("")
			}
		})
	}
	return o
}

func (o *opened) setLive(live bool) {
	o.mu.Lock()
	o.live = live
	o.gen++
	clear(o.m)
	o.mu.Unlock()
}

// changed drops the account with id (told of a change, or changed
// here); "" drops every account.
func (o *opened) changed(id string) {
	o.mu.Lock()
	o.gen++
	if id == "" {
		clear(o.m)
	} else {
		delete(o.m, id)
	}
	o.mu.Unlock()
}

// account returns a copy of the kept account with id, if one was read
// within the TTL, and the generation to keep one read now under.
func (o *opened) account(id string) (*tender.Account, uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.m[id]
	if !ok || !o.live || time.Since(e.read) >= o.ttl {
		return nil, o.gen
	}
	return copyAccount(e.a), o.gen
}

// keep keeps a, read from the store at read, unless a change was told
// or notices stopped since gen.
func (o *opened) keep(a *tender.Account, gen uint64, read time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.live || o.gen != gen {
		return
	}
	if len(o.m) >= maxMemo {
		clear(o.m)
	}
	o.m[a.ID] = memoOpened{a: copyAccount(a), read: read}
}
