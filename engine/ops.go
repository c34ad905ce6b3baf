package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tenderpay/tender"
)

// opEvent is the data of the *_requested / *_succeeded / *_failed events of
// a capture, refund or cancel. A requested event reserves its operation
// until an end event names the same op_id, so that concurrent or in-doubt
// operations can never take more than the payment allows, across instances
// too: every reservation is a version-checked update of the payment.
type opEvent struct {
	OpID   string `json:"op_id"`
	Amount int64  `json:"amount,omitempty"`
	Error  string `json:"error,omitempty"`
}

// openOp is an operation requested and not yet ended.
type openOp struct {
	kind   tender.OpKind
	id     string
	amount int64
	at     time.Time // when it was requested
}

// opTypes are the event types of each kind of operation.
var opTypes = map[tender.OpKind][3]string{
	tender.OpCapture: {EvCaptureRequest, EvCaptureDone, EvCaptureFailed},
	tender.OpRefund:  {EvRefundRequest, EvRefundDone, EvRefundFailed},
	tender.OpCancel:  {EvCancelRequest, EvCancelDone, EvCancelFailed},
}

// opLedger is what a payment's events say of its operations.
type opLedger struct {
	open []openOp
	done map[string]int64 // op id → amount, of operations that succeeded
	seen map[string]bool  // op ids that ended, either way
}

func readOps(events []tender.Event) opLedger {
	l := opLedger{done: map[string]int64{}, seen: map[string]bool{}}
	byType := map[string]struct {
		kind tender.OpKind
		pos  int
	}{}
	for k, ts := range opTypes {
		for i, t := range ts {
			byType[t] = struct {
				kind tender.OpKind
				pos  int
			}{k, i}
		}
	}
	open := map[string]openOp{}
	var order []string
	for _, ev := range events {
		bt, ok := byType[ev.Type]
		if !ok {
			continue
		}
		var d opEvent
		if json.Unmarshal(ev.Data, &d) != nil || d.OpID == "" {
			continue
		}
		key := string(bt.kind) + ":" + d.OpID
		switch bt.pos {
		case 0:
			if _, dup := open[key]; !dup && !l.seen[key] {
				order = append(order, key)
			}
			open[key] = openOp{kind: bt.kind, id: d.OpID, amount: d.Amount, at: ev.CreatedAt}
		case 1:
			delete(open, key)
			l.seen[key] = true
			l.done[key] = d.Amount
		case 2:
			delete(open, key)
			l.seen[key] = true
		}
	}
	for _, k := range order {
		if o, ok := open[k]; ok {
			l.open = append(l.open, o)
		}
	}
	return l
}

// reserved sums the open operations of kind other than opID.
func (l opLedger) reserved(kind tender.OpKind, opID string) int64 {
	var n int64
	for _, o := range l.open {
		if o.kind == kind && o.id != opID {
			n += o.amount
		}
	}
	return n
}

// find returns the open operation of kind with id.
func (l opLedger) find(kind tender.OpKind, id string) (openOp, bool) {
	for _, o := range l.open {
		if o.kind == kind && o.id == id {
			return o, true
		}
	}
	return openOp{}, false
}

// has reports whether an operation of kind other than id is open.
func (l opLedger) has(kind tender.OpKind, except string) bool {
	for _, o := range l.open {
		if o.kind == kind && o.id != except {
			return true
		}
	}
	return false
}

func (l opLedger) succeeded(kind tender.OpKind, id string) (int64, bool) {
	a, ok := l.done[string(kind)+":"+id]
	return a, ok
}

type moneyOp struct {
	kind    tender.OpKind
	allowed []tender.Status
	// room is how much the operation may still move, before reservations.
	room func(p *tender.Payment) int64
	// call asks the provider.
	call func(c tender.Connector, ctx context.Context, op *tender.Op) (tender.Update, error)
}

func (m moneyOp) name() string     { return string(m.kind) }
func (m moneyOp) types() [3]string { return opTypes[m.kind] }
func (m moneyOp) reqType() string  { return m.types()[0] }
func (m moneyOp) doneType() string { return m.types()[1] }
func (m moneyOp) verb() string {
	return map[tender.OpKind]string{tender.OpCapture: "captured", tender.OpRefund: "refunded"}[m.kind]
}
func (m moneyOp) isCapture() bool { return m.kind == tender.OpCapture }
func opByKind(k tender.OpKind) moneyOp {
	return map[tender.OpKind]moneyOp{tender.OpCapture: captureOp, tender.OpRefund: refundOp}[k]
}

var captureOp = moneyOp{
	kind:    tender.OpCapture,
	allowed: []tender.Status{tender.StatusAuthorized, tender.StatusPartiallyCaptured},
	room:    func(p *tender.Payment) int64 { return p.Amount - p.CapturedAmount },
	call:    tender.Connector.Capture,
}

var refundOp = moneyOp{
	kind:    tender.OpRefund,
	allowed: []tender.Status{tender.StatusCaptured, tender.StatusPartiallyCaptured, tender.StatusPartiallyRefunded},
	room:    func(p *tender.Payment) int64 { return p.CapturedAmount - p.RefundedAmount },
	call:    tender.Connector.Refund,
}

// remainderOpen reports whether the uncaptured rest of an authorization can
// still be captured or released.
func remainderOpen(s tender.Status) bool {
	return s == tender.StatusAuthorized || s == tender.StatusPartiallyCaptured
}

// moneyStatus is the status that p's amounts make: while the remainder of
// the authorization is open, authorized or partially_captured (refunds of
// what was captured do not close it); once closed, captured, then
// partially_refunded and refunded as money goes back.
func moneyStatus(p *tender.Payment, open bool) tender.Status {
	if open && p.CapturedAmount < p.Amount {
		if p.CapturedAmount == 0 {
			return tender.StatusAuthorized
		}
		return tender.StatusPartiallyCaptured
	}
	switch {
	case p.RefundedAmount == 0:
		return tender.StatusCaptured
	case p.RefundedAmount < p.CapturedAmount:
		return tender.StatusPartiallyRefunded
	}
	return tender.StatusRefunded
}

// Capture captures amount (0: all that is left) of an authorized payment.
func (e *Engine) Capture(ctx context.Context, id string, amount int64, opID string) (*tender.Payment, error) {
	if _, err := e.ownPayment(ctx, id); err != nil {
		return nil, err
	}
	return e.moneyOp(ctx, captureOp, id, amount, opID)
}

// Refund refunds amount (0: all that is left) of a captured payment.
func (e *Engine) Refund(ctx context.Context, id string, amount int64, opID string) (*tender.Payment, error) {
	if _, err := e.ownPayment(ctx, id); err != nil {
		return nil, err
	}
	return e.moneyOp(ctx, refundOp, id, amount, opID)
}

func (e *Engine) moneyOp(ctx context.Context, m moneyOp, id string, amount int64, opID string) (*tender.Payment, error) {
	if amount < 0 {
		return nil, tender.Invalid("amount", "amount must be a positive integer in minor units")
	}
	unlock := e.locks.Lock("payment:" + id)
	defer unlock()

	// Reserve the amount with a *_requested event, checked against the
	// payment's current version and every other open operation, and make
	// the payment due for a check after the call could have ended: if this
	// process dies during the call, the reconciler asks the provider.
	var take int64
	alreadyDone := false
	p, err := e.mutate(ctx, id, func(p *tender.Payment, events []tender.Event) ([]tender.Event, bool, error) {
		ops := readOps(events)
		if a, ok := ops.succeeded(m.kind, opID); ok {
			alreadyDone, take = true, a // a retry of an operation that succeeded
			return nil, false, nil
		}
		if o, ok := ops.find(m.kind, opID); ok {
			// A retry of an operation whose outcome was unknown: ask again
			// with the same id and amount; the provider de-duplicates.
			take = o.amount
			return nil, false, nil
		}
		if ops.has(tender.OpCancel, "") {
			return nil, false, tender.Errorf(tender.EConflict, "payment %s is being canceled; it cannot be %s", p.ID, m.verb())
		}
		if !statusIn(p.Status, m.allowed) {
			return nil, false, tender.Errorf(tender.EConflict, "a %s payment cannot be %s", p.Status, m.verb())
		}
		room := m.room(p) - ops.reserved(m.kind, opID)
		take = amount
		if take == 0 {
			take = room
		}
		if take <= 0 {
			return nil, false, tender.Errorf(tender.EConflict, "nothing is left to %s on payment %s", m.name(), p.ID)
		}
		if take > room {
			return nil, false, tender.Invalid("amount", "amount %s exceeds the %s left to %s (%s)",
				tender.FormatMinor(take, p.Currency), p.Currency, m.name(), tender.FormatMinor(room, p.Currency))
		}
		e.dueBy(p, e.clock.Now().UTC().Add(e.guard()))
		return []tender.Event{e.newEvent(m.reqType(), opEvent{OpID: opID, Amount: take})}, true, nil
	})
	if err != nil || alreadyDone {
		return p, err
	}

	// From here on the provider may act: nothing depends on the caller.
	ctx = context.WithoutCancel(ctx)
	c, op, err := e.opFor(ctx, p, take, opID)
	if err != nil {
		return nil, err
	}
	pctx, cancel := e.providerContext(ctx)
	start := time.Now()
	u, callErr := m.call(c, pctx, op)
	cancel()
	e.metrics.providerCall(p.Connector, m.name(), callErr, time.Since(start))
	e.terminalSeen(p, callErr)

	if callErr != nil && inDoubt(callErr) {
		// The reservation stays; the reconciler asks the provider what
		// happened (or a retry with the same key asks again).
		e.log.Warn(m.name()+" in doubt", "payment", p.ID, "op", opID, "err", callErr)
		p, _ := e.mutate(ctx, id, func(p *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
			e.dueBy(p, e.clock.Now().UTC().Add(e.sched.Unknown[0]))
			return []tender.Event{e.inDoubtEvent(m.kind, opID, take, callErr)}, true, nil
		})
		return p, &tender.Error{Code: tender.EUnavailable, Err: callErr,
			Message: "the provider did not answer the " + m.name() + "; Tender asks it what happened, and a retry with the same Idempotency-Key learns the outcome without acting twice"}
	}
	if callErr != nil {
		// The provider certainly did nothing: end the reservation, or
		// its amount would stay taken from what the payment allows.
		p, err := e.mutate(ctx, id, func(p *tender.Payment, events []tender.Event) ([]tender.Event, bool, error) {
			return e.endOp(p, events, m.kind, opID, false, tender.ErrorMessageOf(callErr)), true, nil
		})
		if err != nil {
			return nil, err
		}
		return p, callErr
	}
	return e.mutate(ctx, id, func(p *tender.Payment, events []tender.Event) ([]tender.Event, bool, error) {
		evs, changed := e.bookOp(p, events, m, opID, take, u)
		return evs, changed, nil
	})
}

// bookOp records a capture or refund that the provider carried out: the
// amounts, the status they make, the end of its reservation. Booking one
// twice (a retry and the reconciler both learned of it) changes nothing.
// Money that moved is always recorded: a status the state machine cannot
// take becomes a discrepancy, never a lost capture.
func (e *Engine) bookOp(p *tender.Payment, events []tender.Event, m moneyOp, opID string, amount int64, u tender.Update) ([]tender.Event, bool) {
	ops := readOps(events)
	if _, done := ops.succeeded(m.kind, opID); done {
		return nil, false
	}
	_, wasOpen := ops.find(m.kind, opID)
	from := p.Status
	open := remainderOpen(from)
	if m.isCapture() && u.Status == tender.StatusCaptured {
		open = false // the provider closed the authorization
	}
	u.Status, u.State = "", nil // the engine books the amounts; state came from an older copy
	out, _, _ := e.applyUpdate(p, u, m.name())
	if m.isCapture() {
		p.CapturedAmount += amount
	} else {
		p.RefundedAmount += amount
	}
	to := moneyStatus(p, open)
	out = append(out, e.newEvent(m.doneType(), opEvent{OpID: opID, Amount: amount}))
	if !wasOpen {
		out = append(out, e.discrepancy(p, "the provider carried out "+m.name()+" "+opID+" after Tender had recorded it as failed")...)
	}
	if to != from {
		if err := from.Transition(to); err != nil {
			out = append(out, e.discrepancy(p, "the provider carried out "+m.name()+" "+opID+" but a "+string(from)+" payment cannot become "+string(to))...)
		} else {
			p.Status = to
			e.metrics.transition(p.Connector, string(to))
			out = append(out, e.newEvent(statusEvent(to), map[string]any{
				"status": to, "previous_status": from, "source": m.name(),
				"captured_amount": p.CapturedAmount, "refunded_amount": p.RefundedAmount,
			}))
		}
	}
	return out, true
}

// endOp ends an open operation (succeeded or failed) and returns its event.
func (e *Engine) endOp(p *tender.Payment, events []tender.Event, kind tender.OpKind, opID string, ok bool, why string) []tender.Event {
	ts := opTypes[kind]
	ev := e.newEvent(ts[2], opEvent{OpID: opID, Error: why})
	if o, found := readOps(events).find(kind, opID); found {
		ev = e.newEvent(ts[2], opEvent{OpID: opID, Amount: o.amount, Error: why})
		if ok {
			ev = e.newEvent(ts[1], opEvent{OpID: opID, Amount: o.amount})
		}
	}
	return []tender.Event{ev}
}

func statusIn(s tender.Status, list []tender.Status) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}

// cancelable are the statuses a cancel may start from.
var cancelable = []tender.Status{tender.StatusPending, tender.StatusRequiresAction, tender.StatusProcessing,
	tender.StatusAuthorized, tender.StatusUnknown, tender.StatusPartiallyCaptured}

// Cancel cancels a payment that has not been captured (for a partially
// captured one, it releases the remainder where the provider can). The
// cancel is recorded before the provider is asked, so that the payment is
// never sent again, and its outcome is confirmed with the provider's
// status before Tender believes it.
func (e *Engine) Cancel(ctx context.Context, id string, opID string) (*tender.Payment, error) {
	if _, err := e.ownPayment(ctx, id); err != nil {
		return nil, err
	}
	unlock := e.locks.Lock("payment:" + id)
	defer unlock()
	return e.cancel(ctx, id, opID)
}

func (e *Engine) cancel(ctx context.Context, id string, opID string) (*tender.Payment, error) {
	finished := false
	p, err := e.mutate(ctx, id, func(p *tender.Payment, events []tender.Event) ([]tender.Event, bool, error) {
		ops := readOps(events)
		if _, ok := ops.succeeded(tender.OpCancel, opID); ok || p.Status == tender.StatusCanceled {
			finished = true // canceling twice is harmless
			return nil, false, nil
		}
		if _, ok := ops.find(tender.OpCancel, opID); ok {
			return nil, false, nil // a retry: ask again with the same id
		}
		if ops.has(tender.OpCapture, "") || ops.has(tender.OpRefund, "") {
			return nil, false, tender.Errorf(tender.EConflict, "a capture or refund of payment %s is in progress; it cannot be canceled now", p.ID)
		}
		if ops.has(tender.OpCancel, opID) {
			return nil, false, tender.Errorf(tender.EConflict, "payment %s is already being canceled; its status will tell the outcome", p.ID)
		}
		if !statusIn(p.Status, cancelable) {
			return nil, false, tender.Errorf(tender.EConflict, "a %s payment cannot be canceled; refund it instead", p.Status)
		}
		e.dueBy(p, e.clock.Now().UTC().Add(e.guard()))
		return []tender.Event{e.newEvent(EvCancelRequest, opEvent{OpID: opID})}, true, nil
	})
	if err != nil || finished {
		return p, err
	}

	ctx = context.WithoutCancel(ctx)
	c, op, err := e.opFor(ctx, p, 0, opID)
	if err != nil {
		return nil, err
	}
	op.CancelRequested = true
	pctx, cancel := e.providerContext(ctx)
	start := time.Now()
	cu, callErr := c.Cancel(pctx, op)
	cancel()
	e.metrics.providerCall(p.Connector, "cancel", callErr, time.Since(start))
	e.terminalSeen(p, callErr)
	if callErr != nil && inDoubt(callErr) {
		e.log.Warn("cancel in doubt", "payment", p.ID, "op", opID, "err", callErr)
		p, _ := e.mutate(ctx, id, func(p *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
			e.dueBy(p, e.clock.Now().UTC().Add(e.sched.Unknown[0]))
			return []tender.Event{e.inDoubtEvent(tender.OpCancel, opID, 0, callErr)}, true, nil
		})
		return p, &tender.Error{Code: tender.EUnavailable, Err: callErr, Message: "the provider did not answer the cancel; Tender asks it, and the payment's status will tell the outcome"}
	}
	if callErr != nil && tender.ErrorCodeOf(callErr) == tender.ENotSupported {
		// The provider has no such operation: nothing to confirm.
		p, err := e.mutate(ctx, id, func(p *tender.Payment, events []tender.Event) ([]tender.Event, bool, error) {
			return e.endOp(p, events, tender.OpCancel, opID, false, tender.ErrorMessageOf(callErr)), true, nil
		})
		if err != nil {
			return nil, err
		}
		return p, callErr
	}
	// Accepted or refused, the provider's status decides what the payment
	// is: a cancel answered OK may be about a sale that already finished,
	// and one refused may be about a payment the provider never received.
	p, err = e.confirmCancel(ctx, c, id, opID, &cu, callErr)
	if err != nil {
		return p, err
	}
	if callErr != nil && p.Status != tender.StatusCanceled {
		return p, callErr
	}
	return p, nil
}

// confirmCancel asks the provider's status after a cancel and decides the
// payment and the cancel by it. cu is the cancel's own answer (nil when the
// reconciler resolves a cancel whose answer was lost), callErr its definite
// refusal if any.
func (e *Engine) confirmCancel(ctx context.Context, c tender.Connector, id, opID string, cu *tender.Update, callErr error) (*tender.Payment, error) {
	p, err := e.store.GetPayment(ctx, id)
	if err != nil {
		return nil, err
	}
	_, op, err := e.opFor(ctx, p, 0, p.OperationID)
	if err != nil {
		return nil, err
	}
	op.CancelRequested = true
	pctx, cancel := e.providerContext(ctx)
	start := time.Now()
	su, statusErr := c.Status(pctx, op)
	cancel()
	e.metrics.providerCall(p.Connector, "status", statusErr, time.Since(start))
	e.terminalSeen(p, statusErr)
	seen := p.Version
	return e.mutate(ctx, id, func(p *tender.Payment, events []tender.Event) ([]tender.Event, bool, error) {
		if _, open := readOps(events).find(tender.OpCancel, opID); !open {
			return nil, false, nil // resolved meanwhile
		}
		var out []tender.Event
		switch {
		case statusErr != nil:
			// Not confirmed: the cancel stays open and is asked about again.
			e.dueBy(p, e.clock.Now().UTC().Add(e.sched.Unknown[0]))
			return []tender.Event{e.newEvent(EvCheckFailed, map[string]any{"error": tender.ErrorMessageOf(statusErr), "source": "cancel"})}, true, nil
		case su.Status != "" && su.Status != p.Status:
			if p.Version != seen {
				su.State = nil
			}
			out = e.applyVerified(p, su, "cancel")
		case cu != nil && callErr == nil:
			// The status has no news: the cancel's own answer stands.
			u := *cu
			if u.Status == "" {
				u.Status = tender.StatusCanceled
			}
			if p.Status == tender.StatusPartiallyCaptured && u.Status == tender.StatusCanceled {
				u.Status = moneyStatus(p, false) // the remainder is released; what was captured stays
			}
			if u.Status == tender.StatusCanceled && u.Failure == nil && p.Failure == nil {
				u.Failure = &tender.Failure{Code: tender.FailCanceled, Message: "canceled by the merchant"}
			}
			if p.Version != seen {
				u.State = nil
			}
			out = e.applyVerified(p, u, "cancel")
		}
		switch {
		case p.Status == tender.StatusCanceled:
			out = append(out, e.endOp(p, append(events, out...), tender.OpCancel, opID, true, "")...)
		case callErr != nil:
			out = append(out, e.endOp(p, append(events, out...), tender.OpCancel, opID, false, tender.ErrorMessageOf(callErr))...)
		case p.Status.Settled() && p.Status != tender.StatusPartiallyCaptured && p.Status != tender.StatusAuthorized:
			out = append(out, e.endOp(p, append(events, out...), tender.OpCancel, opID, p.Status == tender.StatusCaptured && p.CapturedAmount < p.Amount,
				"the payment was already "+string(p.Status))...)
		default:
			// Still open at the provider: keep asking.
			e.dueBy(p, e.clock.Now().UTC().Add(e.sched.Unknown[0]))
		}
		return out, true, nil
	})
}

// inDoubtEvent records that the call of an operation came back without an
// answer: the reconciler asks the provider about it from now on.
func (e *Engine) inDoubtEvent(kind tender.OpKind, opID string, amount int64, err error) tender.Event {
	return e.newEvent(EvOpInDoubt, map[string]any{"kind": kind, "op_id": opID, "amount": amount, "error": tender.ErrorMessageOf(err)})
}
