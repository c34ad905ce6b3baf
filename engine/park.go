package engine

import (
	"container/heap"
	"context"
	"time"

	"github.com/tenderpay/tender"
)

// parked is a long-poll waiting without a goroutine of its own
// (WatchPayment): a few words in the watchers' maps and deadline heap.
type parked struct {
	id       string
	initial  tender.Status
	version  int64 // of the payment it started from
	deadline time.Time
	done     func(*tender.Payment)
	index    int // in the deadline heap; -1 once it left
}

// readParked reads a payment for the parked waiters; nil when it cannot
// be read (they wait on, or at their deadline are answered without it).
func (e *Engine) readParked(id string) *tender.Payment {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := e.store.GetPayment(ctx, id)
	if err != nil {
		e.log.Warn("long-poll: read payment", "payment", id, "err", err)
		return nil
	}
	return p
}

// WatchPayment is WaitPayment for a caller that does not want to hold a
// goroutine while it waits, such as an HTTP server with thousands of
// long-polls (api hands the connection over): it returns at once. When
// the payment is settled already or wait is not positive it returns the
// payment and a nil stop; otherwise done is called later, once, on a
// short-lived goroutine, with the payment when its status differs from the
// one it has now, when it is settled, or at the deadline (nil then if the
// payment could not be read). stop withdraws
// the waiter and reports whether it did (false: done was called or is
// being called).
func (e *Engine) WatchPayment(ctx context.Context, id string, wait time.Duration, done func(*tender.Payment)) (p *tender.Payment, stop func() bool, err error) {
	p, err = e.ownPayment(ctx, id)
	if err != nil || wait <= 0 || p.Status.Settled() {
		return p, nil, err
	}
	w := e.watch
	k := &parked{id: id, initial: p.Status, version: p.Version, deadline: time.Now().Add(wait), done: done}
	w.mu.Lock()
	if w.parked[id] == nil {
		w.parked[id] = map[*parked]struct{}{}
	}
	w.parked[id][k] = struct{}{}
	heap.Push(&w.deadlines, k)
	if w.deadlines[0] == k {
		w.armLocked()
	}
	w.startPollLocked()
	w.mu.Unlock()
	// A change committed between the read above and the registration
	// woke nobody: look once more.
	go w.checkParked(id)
	return p, func() bool { return w.unpark(k) }, nil
}

// unpark removes k; it reports whether k was still parked.
func (w *watchers) unpark(k *parked) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.unparkLocked(k)
}

func (w *watchers) unparkLocked(k *parked) bool {
	if k.index < 0 {
		return false
	}
	heap.Remove(&w.deadlines, k.index)
	if m := w.parked[k.id]; m != nil {
		delete(m, k)
		if len(m) == 0 {
			delete(w.parked, k.id)
		}
	}
	return true
}

// armLocked sets the one timer to the earliest deadline.
func (w *watchers) armLocked() {
	if len(w.deadlines) == 0 {
		return
	}
	d := time.Until(w.deadlines[0].deadline)
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.expire)
		return
	}
	w.timer.Reset(d)
}

// expire answers the waiters whose deadline has come with the payment as
// it is then.
func (w *watchers) expire() {
	now := time.Now()
	w.mu.Lock()
	ids := map[string]bool{}
	var due []*parked
	for len(w.deadlines) > 0 && !w.deadlines[0].deadline.After(now) {
		k := w.deadlines[0]
		w.unparkLocked(k)
		due = append(due, k)
		ids[k.id] = true
	}
	w.armLocked()
	w.mu.Unlock()
	if len(due) == 0 {
		return
	}
	go func() {
		for id := range ids {
			// nil when the payment cannot be read: done then answers
			// without it.
			p := w.read(id)
			for _, k := range due {
				if k.id == id {
					k.done(p)
				}
			}
		}
	}()
}

// checkParked reads payment id once and answers each of its parked
// waiters whose payment's status moved on or settled.
func (w *watchers) checkParked(id string) {
	if p := w.read(id); p != nil {
		w.answerParked(id, p)
	}
}

// answerParked answers each parked waiter of payment id that p, a
// version of it newer than the one the waiter started from, tells of a
// status that moved on or settled. A version the waiter has seen already
// (a change answered late, after the waiter read a later one) is no news.
func (w *watchers) answerParked(id string, p *tender.Payment) {
	w.mu.Lock()
	var fire []*parked
	for k := range w.parked[id] {
		if p.Version > k.version && (p.Status != k.initial || p.Status.Settled()) {
			fire = append(fire, k)
		}
	}
	for _, k := range fire {
		w.unparkLocked(k)
	}
	if len(fire) > 0 {
		w.armLocked()
	}
	w.mu.Unlock()
	for _, k := range fire {
		k.done(p)
	}
}

type parkedHeap []*parked

func (h parkedHeap) Len() int           { return len(h) }
func (h parkedHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h parkedHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *parkedHeap) Push(x any) {
	k := x.(*parked)
	k.index = len(*h)
	*h = append(*h, k)
}
func (h *parkedHeap) Pop() any {
	old := *h
	k := old[len(old)-1]
	old[len(old)-1] = nil
	k.index = -1
	*h = old[:len(old)-1]
	return k
}
