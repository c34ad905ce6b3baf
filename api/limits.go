package api

import (
	"sync"

	"github.com/tenderpay/tender"
)

// DefaultMaxPollsPerKey is how many long-polls (GET /v1/payments/{id}?wait=)
// one API key may hold open at once on one instance, unless
// Options.MaxPollsPerKey says otherwise: a shop that opens thousands
// cannot take every connection and goroutine of an instance that other
// merchants share. A POS needs one per terminal.
const DefaultMaxPollsPerKey = 64

// pollLimiter counts the open long-polls of each API key.
type pollLimiter struct {
	max  int
	mu   sync.Mutex
	open map[string]int
}

func newPollLimiter(max int) *pollLimiter {
	if max <= 0 {
		max = DefaultMaxPollsPerKey
	}
	return &pollLimiter{max: max, open: map[string]int{}}
}

// acquire takes one of key's long-polls, or returns ERateLimited when all
// are open; release gives it back.
func (l *pollLimiter) acquire(key string) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key] >= l.max {
		return nil, tender.Errorf(tender.ERateLimited, "this API key has %d long-polls open already; wait for one to end, or poll without ?wait=", l.max)
	}
	l.open[key]++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.open[key]--; l.open[key] <= 0 {
			delete(l.open, key)
		}
	}, nil
}
