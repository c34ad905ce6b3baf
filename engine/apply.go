package engine

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/tenderpay/tender"
)

// Event types written by the engine.
const (
	EvCreated          = "payment.created"
	EvUpdated          = "payment.updated" // provider data changed, status did not
	EvCheckFailed      = "payment.check_failed"
	EvCaptureRequest   = "payment.capture_requested"
	EvCaptureFailed    = "payment.capture_failed"
	EvCaptureDone      = "payment.capture_succeeded"
	EvRefundRequest    = "payment.refund_requested"
	EvRefundFailed     = "payment.refund_failed"
	EvRefundDone       = "payment.refund_succeeded"
	EvCancelRequest    = "payment.cancel_requested"
	EvCancelFailed     = "payment.cancel_failed"
	EvCallbackDenied   = "callback.rejected"
	EvTransitionDenied = "payment.transition_rejected"
)

// statusEvent is the event type of a change into status s, e.g.
// "payment.captured".
func statusEvent(s tender.Status) string { return "payment." + string(s) }

func (e *Engine) newEvent(typ string, data any) tender.Event {
	var raw json.RawMessage
	if data != nil {
		raw, _ = json.Marshal(data)
	}
	return tender.Event{Type: typ, Data: raw, CreatedAt: e.clock.Now().UTC()}
}

// mutate loads the payment, applies fn and stores the result with the events
// fn returns, retrying when another writer got there first. fn returns
// changed=false to store nothing.
func (e *Engine) mutate(ctx context.Context, id string, fn func(p *tender.Payment) (events []tender.Event, changed bool, err error)) (*tender.Payment, error) {
	for attempt := 0; ; attempt++ {
		p, err := e.store.GetPayment(ctx, id)
		if err != nil {
			return nil, err
		}
		events, changed, err := fn(p)
		if err != nil {
			return p, err
		}
		if !changed {
			return p, nil
		}
		p.UpdatedAt = e.clock.Now().UTC()
		err = e.store.UpdatePayment(ctx, p, events...)
		if errors.Is(err, tender.ErrVersionConflict) && attempt < 20 {
			continue
		}
		if err != nil {
			return nil, err
		}
		e.watch.notify(p.ID)
		e.kickWebhooks()
		return p, nil
	}
}

// applyUpdate merges what a connector reported into p, in memory, and
// returns the events that record it. It enforces the state machine: an
// update that would make an illegal transition is refused with EConflict and
// nothing of it is applied.
func (e *Engine) applyUpdate(p *tender.Payment, u tender.Update, source string) ([]tender.Event, bool, error) {
	from := p.Status
	to := u.Status
	if to != "" && to != from {
		if err := from.Transition(to); err != nil {
			return nil, false, err
		}
	}
	changed := false
	if u.ProviderReference != "" && u.ProviderReference != p.ProviderReference {
		p.ProviderReference = u.ProviderReference
		changed = true
	}
	if u.NextAction != nil {
		p.NextAction = u.NextAction
		changed = true
	}
	if u.Failure != nil {
		p.Failure = u.Failure
		changed = true
	}
	if u.Receipt != nil {
		p.Receipt = u.Receipt
		changed = true
	}
	if len(u.Details) > 0 {
		if p.Details == nil {
			p.Details = map[string]string{}
		}
		for k, v := range u.Details {
			if p.Details[k] != v {
				p.Details[k] = v
				changed = true
			}
		}
	}
	if u.State != nil && string(u.State) != string(p.State) {
		p.State = u.State
		changed = true
	}
	statusChanged := to != "" && to != from
	if statusChanged {
		p.Status = to
		changed = true
		if to != tender.StatusRequiresAction {
			p.NextAction = nil
		}
		// A sale that completes in one step (a terminal, or an online
		// payment with automatic capture) captures the whole amount.
		if to == tender.StatusCaptured && p.CapturedAmount == 0 {
			p.CapturedAmount = p.Amount
		}
		if to == tender.StatusUnknown || from == tender.StatusUnknown {
			p.CheckCount = 0
		}
		e.metrics.transition(p.Connector, string(to))
	}
	e.schedule(p, u.CheckIn, statusChanged)
	if !changed {
		return nil, false, nil
	}
	data := map[string]any{"status": p.Status, "source": source}
	if statusChanged {
		data["previous_status"] = from
	}
	if u.Note != "" {
		data["note"] = u.Note
	}
	if u.Failure != nil {
		data["failure"] = u.Failure
	}
	if u.ProviderReference != "" {
		data["provider_reference"] = u.ProviderReference
	}
	if len(u.Details) > 0 {
		data["details"] = maps.Clone(u.Details)
	}
	typ := EvUpdated
	if statusChanged {
		typ = statusEvent(to)
	}
	return []tender.Event{e.newEvent(typ, data)}, true, nil
}

// schedule sets when the payment's provider is next asked about it.
func (e *Engine) schedule(p *tender.Payment, checkIn time.Duration, statusChanged bool) {
	now := e.clock.Now().UTC()
	var wait time.Duration
	switch p.Status {
	case tender.StatusProcessing:
		wait = e.sched.Processing
	case tender.StatusRequiresAction:
		wait = e.sched.RequiresAction
	case tender.StatusUnknown:
		i := min(p.CheckCount, len(e.sched.Unknown)-1)
		wait = e.sched.Unknown[i]
	default:
		p.NextCheckAt = time.Time{}
		return
	}
	if checkIn > 0 && p.Status != tender.StatusUnknown {
		wait = checkIn
	}
	if statusChanged || p.NextCheckAt.IsZero() || checkIn > 0 || p.NextCheckAt.After(now.Add(wait)) || p.NextCheckAt.Before(now) {
		p.NextCheckAt = now.Add(wait)
	}
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// watchers wakes long-polls when a payment changes in this process. Other
// processes' changes are seen by the long-poll's periodic re-read.
type watchers struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

func newWatchers() *watchers { return &watchers{subs: map[string]map[chan struct{}]struct{}{}} }

func (w *watchers) subscribe(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.subs[id] == nil {
		w.subs[id] = map[chan struct{}]struct{}{}
	}
	w.subs[id][ch] = struct{}{}
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
	for ch := range w.subs[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	w.mu.Unlock()
}
