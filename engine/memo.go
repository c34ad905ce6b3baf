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

// memo keeps API keys (by hash), merchants' default locales and the
// accounts creates use (by id, and by merchant and connector for
// defaults) in memory.
//
// API keys and locales are kept only while notices flow: a notice of a
// change drops every key (or locale), a lost connection drops them and
// keeps none until it is back, and one read before a notice that arrives
// during the read is not kept (gen). Accounts need no notice: a create
// that uses a kept account has the store check, in its insert, that the
// account is still as kept (tender.CreateChecks), and reads it again if
// not; a notice of an account's change drops them all the same, sparing
// that refused insert.
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
	case "account":
		clear(m.accounts)
	default:
		clear(m.keys)
		clear(m.locales)
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

// recent keeps objects of one kind by id: accounts with their credentials
// opened, for what checks a provider's callback with them (HandleCallback)
// and for the shopper's pages, and merchants for those pages. Unlike a
// create, a callback's verification has no insert to check the account
// in, so what is kept is bounded in time:
//
//   - On PostgreSQL an object is kept only while notices flow (as API
//     keys), for the TTL at most: a change committed on any instance
//     (UpdateAccount and UpdateMerchant notify in their transaction)
//     drops it everywhere once its notice arrives (milliseconds), and
//     within the TTL (1 s) in any case; a lost listening connection
//     drops everything kept.
//   - On SQLite (one process: every change is this engine's) an object
//     is dropped when this engine changes it, after the change committed;
//     one changed behind Tender's back (SQL by hand) is used for the TTL
//     at most.
//
// An object read before a change that is told during the read is not
// kept (gen).
type recent[T any] struct {
	mu   sync.Mutex
	ttl  time.Duration
	live bool // notices flow (always, without a feed)
	gen  uint64
	m    map[string]recentEntry[T]
	copy func(*T) *T
}

type recentEntry[T any] struct {
	v    *T
	read time.Time
}

// newRecent returns objects of kind ("account", "merchant") kept while
// feed's notices flow, or, with no feed, until this process changes them;
// copy copies one (what is kept is never what a caller changes).
func newRecent[T any](feed noticeFeed, kind string, copy func(*T) *T) *recent[T] {
	k := &recent[T]{ttl: memoTTL, live: feed == nil, m: map[string]recentEntry[T]{}, copy: copy}
	if feed != nil {
		feed.WatchNotices(k.setLive, func(what, id string) {
			switch what {
			case kind:
				k.changed(id)
			case "api_key", "account", "merchant":
			default: // a notice of what this version does not know
				k.changed("")
			}
		})
	}
	return k
}

func (k *recent[T]) setLive(live bool) {
	k.mu.Lock()
	k.live = live
	k.gen++
	clear(k.m)
	k.mu.Unlock()
}

// changed drops the object with id (told of a change, or changed here);
// "" drops every one.
func (k *recent[T]) changed(id string) {
	k.mu.Lock()
	k.gen++
	if id == "" {
		clear(k.m)
	} else {
		delete(k.m, id)
	}
	k.mu.Unlock()
}

// get returns a copy of the kept object with id, if one was read within
// the TTL, and the generation to keep one read now under.
func (k *recent[T]) get(id string) (*T, uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.m[id]
	if !ok || !k.live || time.Since(e.read) >= k.ttl {
		return nil, k.gen
	}
	return k.copy(e.v), k.gen
}

// keep keeps v, read from the store at read, unless a change was told or
// notices stopped since gen.
func (k *recent[T]) keep(id string, v *T, gen uint64, read time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.live || k.gen != gen {
		return
	}
	if len(k.m) >= maxMemo {
		clear(k.m)
	}
	k.m[id] = recentEntry[T]{v: k.copy(v), read: read}
}

func copyMerchant(m *tender.Merchant) *tender.Merchant {
	c := *m
	c.Metadata = maps.Clone(m.Metadata)
	return &c
}
