package sepay

import (
	"crypto/sha256"
	"sort"
	"sync"

	"github.com/tenderpay/tender"
)

// configCache keeps parsed account configurations: parsing the PEM private
// key and two certificates costs about a quarter of an RSA signature, and
// every call (each status check of a fleet of terminals) needed them. An
// entry is keyed by a SHA-256 of everything parseConfig reads, so a changed
// setting or rotated key is a new entry; the key material stays in memory
// only, as it does while a call runs.
type configCache struct {
	mu sync.Mutex
	m  map[[32]byte]*config
}

// maxCachedConfigs bounds the cache; when full it starts afresh (a POS
// vendor's thousand logins fit).
const maxCachedConfigs = 4096

func (c *configCache) get(a *tender.Account) (*config, error) {
	if a == nil {
		return parseConfig(a)
	}
	k := accountDigest(a)
	c.mu.Lock()
	cfg := c.m[k]
	c.mu.Unlock()
	if cfg != nil {
		return cfg, nil
	}
	cfg, err := parseConfig(a)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedConfigs {
		c.m = map[[32]byte]*config{}
	}
	c.m[k] = cfg
	c.mu.Unlock()
	return cfg, nil
}

func accountDigest(a *tender.Account) [32]byte {
	h := sha256.New()
	write := func(s string) {
		var n [8]byte
		for i := range n {
			n[i] = byte(len(s) >> (8 * i))
		}
		h.Write(n[:])
		h.Write([]byte(s))
	}
	write(a.Environment)
	for _, m := range []map[string]string{a.Settings, a.Credentials} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		write("")
		for _, k := range keys {
			write(k)
			write(m[k])
		}
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
