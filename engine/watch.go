package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tenderpay/tender"
)

// changeFeed is what a store offers for waking long-polls on other
// instances' changes: the payments updated after a time. Both stores have
// it (internal/sqldb); a store without it leaves each waiter to re-read its
// payment every second.
type changeFeed interface {
	PaymentsChangedSince(ctx context.Context, since time.Time, limit int) ([]string, []time.Time, error)
}

// Feed polling: how often the one poller of an instance reads the change
// feed while anybody waits, and how far back it looks each time. The
// overlap covers a commit that lands after later ones (updated_at is
// stamped before the commit) and clocks of instances that differ a little;
// a change seen twice is woken once (seen).
const (
	feedEvery   = 100 * time.Millisecond
	feedOverlap = 5 * time.Second
	feedLimit   = 10000
)

// watchers wakes long-polls when a payment changes: at once for a change
// made in this process (notify), and within feedEvery for one made by
// another instance, through one poller of the store's change feed shared
// by all waiters, which runs only while somebody waits.
type watchers struct {
	feed changeFeed // nil: no feed
	now  func() time.Time
	log  *slog.Logger

	mu      sync.Mutex
	subs    map[string]map[chan struct{}]struct{}
	parked  map[string]map[*parked]struct{} // WatchPayment's waiters, by payment
	polling bool
	// Deadlines of the parked waiters: one timer for all of them.
	deadlines parkedHeap
	timer     *time.Timer
	read      func(id string) *tender.Payment // the store's copy, for parked waiters (nil: unreadable)
}

func newWatchers(feed changeFeed, now func() time.Time, log *slog.Logger) *watchers {
	return &watchers{feed: feed, now: now, log: log, subs: map[string]map[chan struct{}]struct{}{},
		parked: map[string]map[*parked]struct{}{}}
}

func (w *watchers) subscribe(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.subs[id] == nil {
		w.subs[id] = map[chan struct{}]struct{}{}
	}
	w.subs[id][ch] = struct{}{}
	w.startPollLocked()
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		delete(w.subs[id], ch)
		if len(w.subs[id]) == 0 {
			delete(w.subs, id)
		}
		w.mu.Unlock()
	}
}

func (w *watchers) notify(id string) {
	w.mu.Lock()
	w.wakeLocked(id, nil)
	w.mu.Unlock()
}

// notifyStored is notify for a change this process just committed: p is
// the payment as stored, which its parked waiters are answered with
// rather than reading it back.
func (w *watchers) notifyStored(p *tender.Payment) {
	w.mu.Lock()
	w.wakeLocked(p.ID, p)
	w.mu.Unlock()
}

func (w *watchers) startPollLocked() {
	if w.feed != nil && !w.polling {
		w.polling = true
		go w.poll()
	}
}

// wakeLocked wakes the waiters of id; stored, when set, is the payment
// as this process just committed it (nil: parked waiters read it).
func (w *watchers) wakeLocked(id string, stored *tender.Payment) {
	for ch := range w.subs[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	if len(w.parked[id]) > 0 {
		if stored != nil {
			p := clonePayment(stored)
			go w.answerParked(id, p)
		} else {
			go w.checkParked(id) // a short-lived reader, not one per waiter
		}
	}
}

// poll reads the change feed and wakes the waiters of changed payments
// until nobody waits.
func (w *watchers) poll() {
	ctx := context.Background()
	since := w.now().Add(-feedOverlap)
	seen := map[string]time.Time{} // last update woken, per payment, within the overlap
	t := time.NewTicker(feedEvery)
	defer t.Stop()
	for range t.C {
		w.mu.Lock()
		if len(w.subs) == 0 && len(w.parked) == 0 {
			w.polling = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ids, times, err := w.feed.PaymentsChangedSince(qctx, since.Add(-feedOverlap), feedLimit)
		cancel()
		if err != nil {
			w.log.Warn("long-poll: read the change feed", "err", err)
			continue
		}
		w.mu.Lock()
		for i, id := range ids {
			if times[i].After(since) {
				since = times[i]
			}
			if seen[id].Equal(times[i]) {
				continue
			}
			seen[id] = times[i]
			w.wakeLocked(id, nil)
		}
		w.mu.Unlock()
		for id, at := range seen {
			if at.Before(since.Add(-2 * feedOverlap)) {
				delete(seen, id)
			}
		}
	}
}
