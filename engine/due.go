package engine

import (
	"container/heap"
	"sync"
	"time"
)

// dueTimes is when this process knows checks fall due: the check time of
// every payment it wrote (mutate), so that the reconciler wakes when a
// check is due, the time a connector asked for, rather than at its next
// poll. Another instance's payments are found by the poll (Schedule.Poll);
// a time whose payment was settled or claimed meanwhile costs one empty
// claim.
type dueTimes struct {
	mu   sync.Mutex
	h    timeHeap
	kick chan struct{} // wakes Run when an earlier time is added
}

// maxDueTimes bounds the heap; beyond it the poll finds the rest.
const maxDueTimes = 100000

// dueGrain groups check times that are close together into one claim:
// a fleet's checks fall due every few milliseconds, and each claim is a
// write transaction.
const dueGrain = 20 * time.Millisecond

func newDueTimes() *dueTimes { return &dueTimes{kick: make(chan struct{}, 1)} }

// add notes that a check falls due at t.
func (d *dueTimes) add(t time.Time) {
	if t.IsZero() {
		return
	}
	t = t.Truncate(dueGrain).Add(dueGrain) // never early
	d.mu.Lock()
	earliest := len(d.h) == 0 || t.Before(d.h[0])
	if len(d.h) < maxDueTimes && (len(d.h) == 0 || !t.Equal(d.h[0])) {
		heap.Push(&d.h, t)
	}
	d.mu.Unlock()
	if earliest {
		select {
		case d.kick <- struct{}{}:
		default:
		}
	}
}

// next returns how long until the earliest noted time after now (at most
// max), dropping the times that have passed.
func (d *dueTimes) next(now time.Time, max time.Duration) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.h) > 0 && !d.h[0].After(now) {
		heap.Pop(&d.h)
	}
	if len(d.h) == 0 {
		return max
	}
	return min(d.h[0].Sub(now), max)
}

type timeHeap []time.Time

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *timeHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
