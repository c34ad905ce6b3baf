package engine

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/tenderpay/tender"
)

// Run checks due payments with their providers until ctx ends: terminal
// payments being worked on, shoppers' open payments, and payments in doubt.
// Several instances may run it against one database; each due payment is
// claimed by one of them.
func (e *Engine) Run(ctx context.Context) error {
	sem := make(chan struct{}, e.sched.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	purge := time.NewTicker(time.Hour)
	defer purge.Stop()
	subs := time.NewTicker(e.sched.Subscriptions)
	defer subs.Stop()
	// freed wakes the loop when a worker finishes while more may be due,
	// instead of sleeping a poll while due checks wait for a worker.
	freed := make(chan struct{}, 1)
	for {
		n, full, err := e.runOnce(ctx, sem, &wg, freed)
		if err != nil && ctx.Err() == nil {
			e.log.Error("reconcile: claim due payments", "err", err)
		}
		// Sleep until the next check this process knows of falls due (a
		// connector's asked check time), at most a poll: other instances'
		// payments are found by polling.
		wait := e.due.next(e.clock.Now(), e.sched.Poll)
		if n > 0 && !full {
			wait = 0 // claimed what workers were free: more may be due
		}
		var onFree <-chan struct{}
		if full {
			onFree = freed // every worker busy: claim again when one is free
		}
		select {
		case <-ctx.Done():
			return nil
		case <-onFree:
		case <-subs.C:
			e.discoverInBackground(ctx, &wg)
		case <-e.due.kick: // an earlier check time was noted
		case <-purge.C:
			if _, err := e.store.PurgeIdempotency(ctx, e.clock.Now()); err != nil {
				e.log.Error("purge idempotency keys", "err", err)
			}
			if _, err := e.store.PurgeWebhookDeliveries(ctx, e.clock.Now().Add(-e.hooks.Retention)); err != nil {
				e.log.Error("purge webhook deliveries", "err", err)
			}
		case <-time.After(wait):
		}
	}
}

// runOnce claims due payments for the free workers and starts them; full
// reports that every worker is busy (more may be due) and that freed will
// be signalled when one finishes.
func (e *Engine) runOnce(ctx context.Context, sem chan struct{}, wg *sync.WaitGroup, freed chan struct{}) (n int, full bool, err error) {
	// Claim only as many as there are free workers.
	free := cap(sem) - len(sem)
	if free == 0 {
		return 0, true, nil
	}
	due, err := e.store.ClaimDue(ctx, e.clock.Now().UTC(), e.sched.Lease, free)
	if err != nil {
		return 0, false, err
	}
	for _, p := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func(p *tender.Payment) {
			defer func() {
				<-sem
				select {
				case freed <- struct{}{}:
				default:
				}
				wg.Done()
			}()
			if _, err := e.reconcile(ctx, p.ID); err != nil && ctx.Err() == nil {
				e.log.Warn("reconcile: check payment", "payment", p.ID, "err", err)
			}
		}(p)
	}
	return len(due), len(due) == free, nil
}

// Check asks the provider about one payment now and applies the answer: its
// status while it is open, and every operation on it whose answer was lost.
func (e *Engine) Check(ctx context.Context, id string) (*tender.Payment, error) {
	if _, err := e.ownPayment(ctx, id); err != nil {
		return nil, err
	}
	unlock := e.locks.Lock("payment:" + id)
	defer unlock()
	return e.check(ctx, id)
}

// openStatus reports whether the provider has yet to decide the payment.
func openStatus(s tender.Status) bool { return !s.Settled() }

func (e *Engine) check(ctx context.Context, id string) (*tender.Payment, error) {
	p, err := e.store.GetPayment(ctx, id)
	if err != nil {
		return nil, err
	}
	events, err := e.store.ListEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	c, ok := e.connectors[p.Connector]
	if !ok {
		return nil, tender.Errorf(tender.EInternal, "connector %q of payment %s is not configured on this server", p.Connector, p.ID)
	}
	now := e.clock.Now().UTC()
	ops := readOps(events)
	// Operations whose own call may still be running (in this process or
	// another) are left to it until the guard has passed.
	var due []openOp
	var later time.Time
	for _, o := range ops.open {
		if t := o.at.Add(e.guard()); t.After(now) && !e.answeredInDoubt(events, o) {
			if later.IsZero() || t.Before(later) {
				later = t
			}
			continue
		}
		due = append(due, o)
	}
	cancelOp := ""
	// What was just read is still the payment unless an operation below
	// changes it: the status check starts from it rather than reading it
	// (and its events) twice more.
	known, knownEvents := p, events
	if len(due) > 0 {
		known, knownEvents = nil, nil
	}
	for _, o := range due {
		switch o.kind {
		case tender.OpCancel:
			cancelOp = o.id
		default:
			if p, err = e.resolveMoneyOp(ctx, c, p, o); err != nil {
				return p, err
			}
		}
	}
	if cancelOp != "" {
		return e.resolveCancel(ctx, c, p, cancelOp)
	}
	if openStatus(p.Status) {
		// Once a cancel was asked for, no check may send the payment again,
		// whatever became of the cancel.
		return e.checkStatus(ctx, c, id, known, knownEvents, cancelAsked(events))
	}
	if len(due) > 0 {
		events = nil // resolved just now: followUp reads them again
	}
	if q, ran, err := e.followUp(ctx, p, events, now); ran {
		return q, err
	}
	// Nothing to ask now: settle the schedule (a later guard, or none).
	return e.mutate(ctx, id, func(p *tender.Payment, events []tender.Event) ([]tender.Event, bool, error) {
		next := time.Time{}
		if len(readOps(events).open) > 0 {
			next = later
			if next.IsZero() {
				next = now.Add(e.sched.Unknown[min(p.CheckCount, len(e.sched.Unknown)-1)])
			}
		}
		if openStatus(p.Status) || p.NextCheckAt.Equal(next) {
			return nil, false, nil
		}
		p.NextCheckAt = next
		return nil, true, nil
	})
}

// answeredInDoubt reports whether the call of operation o already came back
// without an answer (its process recorded it in doubt), so the reconciler
// need not wait for the guard.
func (e *Engine) answeredInDoubt(events []tender.Event, o openOp) bool {
	for _, ev := range events {
		if ev.Type != EvOpInDoubt {
			continue
		}
		var d struct {
			Kind tender.OpKind `json:"kind"`
			OpID string        `json:"op_id"`
		}
		if json.Unmarshal(ev.Data, &d) == nil && d.Kind == o.kind && d.OpID == o.id {
			return true
		}
	}
	return false
}

// checkStatus asks the provider for the payment's status and applies it.
// The answer was given about the copy the connector saw: if the payment
// changed meanwhile (a callback, another check), it is asked again about
// the new copy rather than writing over what changed. known and
// knownEvents, when set, are the payment and its events as just read; the
// store's version check still catches a change after that read.
func (e *Engine) checkStatus(ctx context.Context, c tender.Connector, id string, known *tender.Payment, knownEvents []tender.Event, cancelRequested bool) (*tender.Payment, error) {
	for attempt := 0; ; attempt++ {
		fromKnown := attempt == 0 && known != nil
		var p *tender.Payment
		if fromKnown {
			p = clonePayment(known) // the connector sees a copy: known stays as read
		} else {
			var err error
			if p, err = e.store.GetPayment(ctx, id); err != nil {
				return nil, err
			}
		}
		if !openStatus(p.Status) && !cancelRequested {
			return e.mutate(ctx, id, func(*tender.Payment, []tender.Event) ([]tender.Event, bool, error) { return nil, true, nil })
		}
		_, op, err := e.opFor(ctx, p, 0, p.OperationID)
		if err != nil {
			return nil, err
		}
		op.CancelRequested = cancelRequested
		pctx, cancel := e.providerContext(ctx)
		start := time.Now()
		u, callErr := c.Status(pctx, op)
		cancel()
		e.metrics.providerCall(p.Connector, "status", callErr, time.Since(start))
		e.terminalSeen(p, callErr)
		e.metrics.check(p.Connector, p.Status)

		seen := p.Version
		changed := false
		var from *tender.Payment // nil: mutate reads it again
		if fromKnown {
			from = known
		}
		var before tender.Status
		quiet := &quietSave{store: e.store}
		stored, err := e.mutateFrom(ctx, id, from, knownEvents, quiet.save(&before), func(p *tender.Payment, events []tender.Event) ([]tender.Event, bool, error) {
			if p.Version != seen && attempt < 3 {
				changed = true
				return nil, false, nil
			}
			if p.Version != seen {
				u.State = nil // asked three times over: keep what changed
			}
			before = p.Status
			return e.applyCheck(p, events, u, callErr), true, nil
		})
		if errors.Is(err, errQuietCheck) {
			e.terminalChanged(quiet.saved)
			e.due.add(quiet.saved.NextCheckAt)
			return quiet.saved, nil
		}
		if changed {
			continue
		}
		return stored, err
	}
}

// quietSave stores a check that learned nothing new: no event, the same
// status (a terminal still at work, most of a polled fleet's checks). It
// answers errQuietCheck once it has stored it, so that mutate does not
// wake the payment's waiters: they wait for its status to change, and
// each would read the payment for nothing.
type quietSave struct {
	store tender.Store
	saved *tender.Payment
}

var errQuietCheck = errors.New("engine: a check stored without news")

func (q *quietSave) save(before *tender.Status) saveFunc {
	return func(ctx context.Context, p *tender.Payment, events []tender.Event) error {
		if err := q.store.UpdatePayment(ctx, p, events...); err != nil || len(events) > 0 || p.Status != *before {
			return err
		}
		q.saved = p
		return errQuietCheck
	}
}

// applyCheck applies a status answer (or its failure) to p.
func (e *Engine) applyCheck(p *tender.Payment, events []tender.Event, u tender.Update, callErr error) []tender.Event {
	p.CheckCount++
	now := e.clock.Now().UTC()
	var out []tender.Event
	if callErr != nil {
		// Nothing learned; try again on the schedule. A payment stuck
		// pending (its start never recorded) is in doubt.
		if p.Status == tender.StatusPending {
			ev, _, _ := e.applyUpdate(p, tender.Update{Status: tender.StatusUnknown, Note: "the start's answer was never recorded"}, "status")
			out = append(out, ev...)
		}
		p.NextCheckAt = time.Time{}
		e.schedule(p, 0, false)
		out = append(out, e.newEvent(EvCheckFailed, map[string]any{"error": tender.ErrorMessageOf(callErr), "check": p.CheckCount}))
	} else {
		before := p.Status
		out = append(out, e.applyVerified(p, u, "status")...)
		if p.Status == before {
			// No news: the next check follows the schedule from now,
			// or the time the connector asked for.
			p.NextCheckAt = time.Time{}
			e.schedule(p, u.CheckIn, false)
		}
	}
	out = append(out, e.overdue(p, events, now)...)
	return out
}

// overdue flags a payment that has been open longer than MaxOpen and that
// Tender could not resolve, even by canceling it: a person must settle it,
// and its terminal is free meanwhile. (The cancel itself is sent by
// resolveOverdue before.)
func (e *Engine) overdue(p *tender.Payment, events []tender.Event, now time.Time) []tender.Event {
	if p.Status != tender.StatusProcessing && p.Status != tender.StatusUnknown && p.Status != tender.StatusPending {
		return nil
	}
	if now.Sub(p.CreatedAt) < e.sched.MaxOpen || p.Discrepancy != "" {
		return nil
	}
	tried := false
	for _, ev := range events {
		if ev.Type == EvCancelRequest {
			tried = true
		}
	}
	if !tried {
		return nil
	}
	return e.discrepancy(p, "the payment has been "+string(p.Status)+" for more than "+e.sched.MaxOpen.String()+
		" and the provider could not cancel it; check it with the provider (its terminal is free again)")
}

// autoCancelID is the operation id of the cancel Tender sends by itself for
// a payment open too long: the same for every instance and every try.
func autoCancelID(paymentID string) string { return "auto-cancel-" + paymentID }

// resolveOverdue cancels a payment that stayed processing or unknown for
// longer than MaxOpen, where the provider allows, once.
func (e *Engine) resolveOverdue(ctx context.Context, p *tender.Payment) (*tender.Payment, error) {
	if p.Status != tender.StatusProcessing && p.Status != tender.StatusUnknown && p.Status != tender.StatusPending {
		return p, nil
	}
	if e.clock.Now().Sub(p.CreatedAt) < e.sched.MaxOpen || p.Discrepancy != "" {
		return p, nil
	}
	events, err := e.store.ListEvents(ctx, p.ID)
	if err != nil {
		return p, err
	}
	for _, ev := range events {
		if ev.Type == EvCancelRequest {
			return p, nil // tried already: overdue() hands it to a person
		}
	}
	e.log.Warn("payment open too long: canceling it", "payment", p.ID, "status", p.Status)
	q, err := e.cancel(ctx, p.ID, autoCancelID(p.ID))
	if q == nil {
		q = p
	}
	if err != nil && ctx.Err() == nil {
		e.log.Warn("automatic cancel", "payment", p.ID, "err", err)
	}
	return q, nil
}

// resolveCancel settles a cancel whose answer was lost (or whose
// confirmation failed): the provider's status decides; an authorization
// the provider still holds is canceled again with the same id.
func (e *Engine) resolveCancel(ctx context.Context, c tender.Connector, p *tender.Payment, opID string) (*tender.Payment, error) {
	if remainderOpen(p.Status) {
		return e.cancel(ctx, p.ID, opID)
	}
	return e.confirmCancel(ctx, c, p.ID, opID, nil, nil)
}

// resolveMoneyOp asks the provider about a capture or refund whose answer
// was lost, and books it or releases its reservation.
func (e *Engine) resolveMoneyOp(ctx context.Context, c tender.Connector, p *tender.Payment, o openOp) (*tender.Payment, error) {
	m := opByKind(o.kind)
	oc, ok := c.(tender.OperationChecker)
	var outcome tender.OpOutcome = tender.OpPending
	var u tender.Update
	var callErr error
	if ok {
		_, op, err := e.opFor(ctx, p, o.amount, o.id)
		if err != nil {
			return p, err
		}
		pctx, cancel := e.providerContext(ctx)
		start := time.Now()
		outcome, u, callErr = oc.CheckOperation(pctx, o.kind, op)
		cancel()
		e.metrics.providerCall(p.Connector, "check_"+m.name(), callErr, time.Since(start))
	}
	now := e.clock.Now().UTC()
	return e.mutate(ctx, p.ID, func(p *tender.Payment, events []tender.Event) ([]tender.Event, bool, error) {
		if _, open := readOps(events).find(o.kind, o.id); !open {
			return nil, false, nil // resolved meanwhile
		}
		switch {
		case callErr == nil && outcome == tender.OpSucceeded:
			evs, _ := e.bookOp(p, events, m, o.id, o.amount, u)
			return evs, true, nil
		case callErr == nil && outcome == tender.OpFailed:
			return e.endOp(p, events, o.kind, o.id, false, "the provider did not carry it out"), true, nil
		}
		p.CheckCount++
		e.dueBy(p, now.Add(e.sched.Unknown[min(p.CheckCount, len(e.sched.Unknown)-1)]))
		var out []tender.Event
		if callErr != nil {
			out = append(out, e.newEvent(EvCheckFailed, map[string]any{"error": tender.ErrorMessageOf(callErr), "op_id": o.id, "source": m.name()}))
		}
		if now.Sub(o.at) >= e.sched.MaxOpen {
			why := m.name() + " " + o.id + " of " + tender.FormatMinor(o.amount, p.Currency) + " " + p.Currency + " is still in doubt"
			if !ok {
				why += "; the provider cannot be asked about it"
			}
			out = append(out, e.discrepancy(p, why+": check it with the provider")...)
		}
		return out, true, nil
	})
}

// reconcile is one claimed check: the payment's status and operations, then
// the active resolution of a payment open too long.
func (e *Engine) reconcile(ctx context.Context, id string) (*tender.Payment, error) {
	unlock := e.locks.Lock("payment:" + id)
	defer unlock()
	p, err := e.check(ctx, id)
	if err != nil || p == nil {
		return p, err
	}
	return e.resolveOverdue(ctx, p)
}

// cancelAsked reports whether a cancel of the payment was ever requested.
func cancelAsked(events []tender.Event) bool {
	for _, ev := range events {
		if ev.Type == EvCancelRequest {
			return true
		}
	}
	return false
}
