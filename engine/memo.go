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

// memo keeps API keys (by hash), merchants' default locales and the accounts creates use (by id, and
// by merchant and connector for defaults) in memory.
//
// API keys and locales are kept only while notices flow: a notice of a change drops
// every key, a lost connection drops them and keeps none until it is
// back, and a key read before a notice that arrives during the read is
// not kept (gen). Accounts need no notice: a create that uses a kept
// account has the store check, in its insert, that the account is still
// as kept (tender.CreateChecks), and reads it again if not.
type memo struct {
	mu       sync.Mutex
	ttl      time.Duration // memoTTL (tests make it longer)
	live     bool
	gen      uint64
	keys     map[string]memoKey
	locales  map[string]memoLocale // merchant → default locale
	accounts map[string]*tender.Account
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
	m := &memo{ttl: memoTTL, keys: map[string]memoKey{}, locales: map[string]memoLocale{}, accounts: map[string]*tender.Account{}}
	feed.WatchNotices(m.setLive, m.changed)
	return m
}

func (m *memo) setLive(live bool) {
	m.mu.Lock()
	m.live = live
	m.gen++
	clear(m.keys)
	clear(m.locales)
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
	default:
		clear(m.keys)
		clear(m.locales)
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
