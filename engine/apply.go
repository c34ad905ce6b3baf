package engine

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sort"
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
	EvCancelDone       = "payment.cancel_succeeded"
	EvDiscrepancy      = "payment.discrepancy"
	EvOpInDoubt        = "payment.operation_in_doubt" // a capture, refund or cancel whose answer was lost
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

// mutate loads the payment and its events, applies fn and stores the result
// with the events fn returns, retrying when another writer got there first
// (the version check makes one writer win, across instances too). fn
// returns changed=false to store nothing. Whatever fn did, a payment with
// nothing open (settled, no operation in doubt) is due for no check, and
// one with an operation open always has a check due, so that a crash
// never leaves work nobody looks at.
func (e *Engine) mutate(ctx context.Context, id string, fn func(p *tender.Payment, events []tender.Event) (newEvents []tender.Event, changed bool, err error)) (*tender.Payment, error) {
	return e.mutateFrom(ctx, id, nil, nil, nil, fn)
}

// saveFunc stores a changed payment with its new events (UpdatePayment,
// or a variant that stores more in the same transaction).
type saveFunc func(ctx context.Context, p *tender.Payment, events []tender.Event) error

// mutateFrom is mutate that starts from known, the payment as this
// process just stored or read it, with its events past (known nil: read
// both), sparing a re-read, and saves with save (nil: UpdatePayment). A
// known that is stale by then fails the version check; that conflict
// reads the payment again, as mutate does.
func (e *Engine) mutateFrom(ctx context.Context, id string, known *tender.Payment, knownEvents []tender.Event, save saveFunc,
	fn func(p *tender.Payment, events []tender.Event) (newEvents []tender.Event, changed bool, err error)) (*tender.Payment, error) {
	if save == nil {
		save = func(ctx context.Context, p *tender.Payment, events []tender.Event) error {
			return e.store.UpdatePayment(ctx, p, events...)
		}
	}
	for attempt := 0; ; attempt++ {
		var p *tender.Payment
		var past []tender.Event
		if attempt == 0 && known != nil {
			p, past = clonePayment(known), slices.Clone(knownEvents)
		} else {
			var err error
			if p, err = e.store.GetPayment(ctx, id); err != nil {
				return nil, err
			}
			if past, err = e.store.ListEvents(ctx, id); err != nil {
				return nil, err
			}
		}
		events, changed, err := fn(p, past)
		if err != nil {
			return p, err
		}
		if !changed {
			return p, nil
		}
		e.settleSchedule(p, append(past, events...))
		p.UpdatedAt = e.clock.Now().UTC()
		err = save(ctx, p, events)
		if errors.Is(err, tender.ErrVersionConflict) && attempt < 20 {
			continue
		}
		if err != nil {
			return nil, err
		}
		e.watch.notifyStored(p)
		e.terminalChanged(p)
		e.kickWebhooks()
		e.due.add(p.NextCheckAt)
		return p, nil
	}
}

// clonePayment copies p so that changing the copy's fields and maps
// leaves p alone.
func clonePayment(p *tender.Payment) *tender.Payment {
	q := *p
	q.Details = maps.Clone(p.Details)
	q.Metadata = maps.Clone(p.Metadata)
	if p.NextAction != nil {
		na := *p.NextAction
		q.NextAction = &na
	}
	if p.Failure != nil {
		f := *p.Failure
		q.Failure = &f
	}
	if p.Receipt != nil {
		r := *p.Receipt
		q.Receipt = &r
	}
	return &q
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
			if u.Captured > 0 {
				p.CapturedAmount = u.Captured
			}
		}
		if to == tender.StatusUnknown || from == tender.StatusUnknown {
			p.CheckCount = 0
		}
		e.metrics.transition(p.Connector, string(to))
	}
	if e.saveCard(p, u) {
		changed = true
	}
	e.schedule(p, u.CheckIn, statusChanged)
	var followUp []tender.Event
	if u.FollowUp > 0 {
		// Recorded even when nothing else changed: a follow-up's own
		// answer may ask for one more (a checkout that stays usable
		// longer than the first follow-up waits).
		followUp = []tender.Event{e.followUpEvent(u.FollowUp, source)}
	}
	if !changed {
		return followUp, followUp != nil, nil
	}
	data := map[string]any{"status": p.Status, "source": source}
	if statusChanged {
		data["previous_status"] = from
		if to == tender.StatusCaptured {
			data["captured_amount"] = p.CapturedAmount // what the end of day counts (reports.go)
		}
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
	if p.SavedMethod != nil {
		data["payment_method"] = p.SavedMethod.ID
	}
	typ := EvUpdated
	if statusChanged {
		typ = statusEvent(to)
	}
	return append([]tender.Event{e.newEvent(typ, data)}, followUp...), true, nil
}

// schedule sets when the payment's provider is next asked about it, for an
// open status; the check time a connector asks for (checkIn) wins. Settled
// payments are left to settleSchedule.
func (e *Engine) schedule(p *tender.Payment, checkIn time.Duration, statusChanged bool) {
	now := e.clock.Now().UTC()
	var wait time.Duration
	switch p.Status {
	case tender.StatusProcessing:
		wait = e.sched.Processing
	case tender.StatusRequiresAction:
		wait = e.sched.RequiresAction
	case tender.StatusUnknown, tender.StatusPending:
		i := min(p.CheckCount, len(e.sched.Unknown)-1)
		wait = e.sched.Unknown[i]
	default:
		return
	}
	if checkIn > 0 {
		wait = checkIn
	}
	if statusChanged || p.NextCheckAt.IsZero() || checkIn > 0 || p.NextCheckAt.After(now.Add(wait)) || p.NextCheckAt.Before(now) {
		p.NextCheckAt = now.Add(wait)
	}
}

// settleSchedule makes the check time agree with what is open: for a
// settled payment with no operation open, its pending follow-up's time or
// none, a check soon for one with an operation open and none due (its
// follow-up waits until no operation is open).
func (e *Engine) settleSchedule(p *tender.Payment, events []tender.Event) {
	if !p.Status.Settled() {
		if p.NextCheckAt.IsZero() {
			e.schedule(p, 0, false)
		}
		return
	}
	if len(readOps(events).open) == 0 {
		p.NextCheckAt = followUpDue(events, e.sched.Unknown)
		return
	}
	if p.NextCheckAt.IsZero() {
		i := min(p.CheckCount, len(e.sched.Unknown)-1)
		p.NextCheckAt = e.clock.Now().UTC().Add(e.sched.Unknown[i])
	}
}

// dueBy makes the payment due for a check no later than t.
func (e *Engine) dueBy(p *tender.Payment, t time.Time) {
	if p.NextCheckAt.IsZero() || t.Before(p.NextCheckAt) {
		p.NextCheckAt = t
	}
}

// moneyMoved are the statuses in which the provider holds or took money.
var moneyMoved = []tender.Status{tender.StatusAuthorized, tender.StatusPartiallyCaptured, tender.StatusCaptured,
	tender.StatusPartiallyRefunded, tender.StatusRefunded}

// contradicts reports whether a verified answer that the state machine
// refuses says the opposite of Tender's record (money moved against none),
// rather than being stale (an earlier step of the way the payment went).
func contradicts(recorded, reported tender.Status) bool {
	noMoney := func(s tender.Status) bool { return s == tender.StatusFailed || s == tender.StatusCanceled }
	return statusIn(recorded, moneyMoved) && noMoney(reported) || noMoney(recorded) && statusIn(reported, moneyMoved)
}

// discrepancy flags p for a person and returns the event that records why
// (none when p is already flagged for the same reason).
func (e *Engine) discrepancy(p *tender.Payment, why string) []tender.Event {
	if p.Discrepancy == why {
		return nil
	}
	e.log.Error("payment discrepancy", "payment", p.ID, "connector", p.Connector, "status", p.Status, "why", why)
	e.metrics.discrepancy(p.Connector)
	p.Discrepancy = why
	return []tender.Event{e.newEvent(EvDiscrepancy, map[string]any{"status": p.Status, "discrepancy": why})}
}

// applyVerified applies what the provider verifiably said (a status answer,
// a callback). An answer the state machine cannot take changes no status:
// a stale one is noted, one that contradicts the record is a discrepancy.
// The connector's own Discrepancy and an amount taken other than the
// payment's are raised too.
func (e *Engine) applyVerified(p *tender.Payment, u tender.Update, source string) []tender.Event {
	from := p.Status
	events, _, err := e.applyUpdate(p, u, source)
	if err != nil {
		reported := u.Status
		u.Status, u.Failure, u.NextAction = "", nil, nil
		events, _, _ = e.applyUpdate(p, u, source)
		if contradicts(from, reported) {
			events = append(events, e.discrepancy(p, "the provider reports "+string(reported)+" ("+source+") for a "+string(from)+" payment")...)
		} else {
			events = append(events, e.newEvent(EvTransitionDenied, map[string]any{"status": from, "reported": reported, "source": source}))
		}
	}
	if u.Discrepancy != "" {
		events = append(events, e.discrepancy(p, u.Discrepancy)...)
	} else if u.Captured > 0 && u.Captured != p.Amount && p.Status == tender.StatusCaptured && from != tender.StatusCaptured {
		events = append(events, e.discrepancy(p, "the provider took "+tender.FormatMinor(u.Captured, p.Currency)+" "+p.Currency+
			"; the payment was for "+tender.FormatMinor(p.Amount, p.Currency))...)
	}
	return events
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
