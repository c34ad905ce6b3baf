package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tenderpay/tender"
)

// opEvent is the data of the *_requested / *_succeeded / *_failed events of
// a capture or refund. The requested events reserve their amount until they
// end, so that concurrent or in-doubt operations can never take more than
// the payment allows, across processes too.
type opEvent struct {
	OpID   string `json:"op_id"`
	Amount int64  `json:"amount"`
	Error  string `json:"error,omitempty"`
}

// inflight sums the amounts of operations requested (reqType) and not yet
// ended, and says whether opID itself is among them or has succeeded.
func inflight(events []tender.Event, reqType, doneType, failType, opID string) (reserved int64, mineOpen, mineDone bool, mineAmount int64) {
	open := map[string]int64{}
	for _, ev := range events {
		var d opEvent
		if ev.Type != reqType && ev.Type != doneType && ev.Type != failType {
			continue
		}
		if json.Unmarshal(ev.Data, &d) != nil || d.OpID == "" {
			continue
		}
		switch ev.Type {
		case reqType:
			open[d.OpID] = d.Amount
		case doneType:
			delete(open, d.OpID)
			if d.OpID == opID {
				mineDone, mineAmount = true, d.Amount
			}
		case failType:
			delete(open, d.OpID)
		}
	}
	for id, a := range open {
		if id == opID {
			mineOpen, mineAmount = true, a
			continue
		}
		reserved += a
	}
	return reserved, mineOpen, mineDone, mineAmount
}

type moneyOp struct {
	name                        string // "capture" or "refund"
	reqType, doneType, failType string
	allowed                     []tender.Status
	// room is how much the operation may still move, before reservations.
	room func(p *tender.Payment) int64
	// call asks the provider.
	call func(c tender.Connector, ctx context.Context, op *tender.Op) (tender.Update, error)
	// done books a successful operation of amount on p.
	done func(p *tender.Payment, amount int64)
}

var captureOp = moneyOp{
	name: "capture", reqType: EvCaptureRequest, doneType: EvCaptureDone, failType: EvCaptureFailed,
	allowed: []tender.Status{tender.StatusAuthorized, tender.StatusPartiallyCaptured},
	room:    func(p *tender.Payment) int64 { return p.Amount - p.CapturedAmount },
	call:    tender.Connector.Capture,
	done: func(p *tender.Payment, amount int64) {
		p.CapturedAmount += amount
		p.Status = tender.StatusPartiallyCaptured
		if p.CapturedAmount == p.Amount {
			p.Status = tender.StatusCaptured
		}
	},
}

var refundOp = moneyOp{
	name: "refund", reqType: EvRefundRequest, doneType: EvRefundDone, failType: EvRefundFailed,
	allowed: []tender.Status{tender.StatusCaptured, tender.StatusPartiallyCaptured, tender.StatusPartiallyRefunded},
	room:    func(p *tender.Payment) int64 { return p.CapturedAmount - p.RefundedAmount },
	call:    tender.Connector.Refund,
	done: func(p *tender.Payment, amount int64) {
		p.RefundedAmount += amount
		p.Status = tender.StatusPartiallyRefunded
		if p.RefundedAmount == p.CapturedAmount {
			p.Status = tender.StatusRefunded
		}
	},
}

// Capture captures amount (0: all that is left) of an authorized payment.
func (e *Engine) Capture(ctx context.Context, id string, amount int64, opID string) (*tender.Payment, error) {
	return e.moneyOp(ctx, captureOp, id, amount, opID)
}

// Refund refunds amount (0: all that is left) of a captured payment.
func (e *Engine) Refund(ctx context.Context, id string, amount int64, opID string) (*tender.Payment, error) {
	return e.moneyOp(ctx, refundOp, id, amount, opID)
}

func (e *Engine) moneyOp(ctx context.Context, m moneyOp, id string, amount int64, opID string) (*tender.Payment, error) {
	if amount < 0 {
		return nil, tender.Invalid("amount", "amount must be a positive integer in minor units")
	}
	unlock := e.locks.Lock("payment:" + id)
	defer unlock()

	// Reserve the amount with a *_requested event, checked against the
	// payment's current version and every other open reservation.
	var take int64
	alreadyDone := false
	p, err := e.mutate(ctx, id, func(p *tender.Payment) ([]tender.Event, bool, error) {
		events, err := e.store.ListEvents(ctx, p.ID)
		if err != nil {
			return nil, false, err
		}
		reserved, mineOpen, mineDone, mineAmount := inflight(events, m.reqType, m.doneType, m.failType, opID)
		if mineDone {
			alreadyDone = true // a retry of an operation that succeeded
			return nil, false, nil
		}
		if mineOpen {
			// A retry of an operation whose outcome was unknown: ask again
			// with the same id and amount; the provider de-duplicates.
			take = mineAmount
			return nil, false, nil
		}
		if !statusIn(p.Status, m.allowed) {
			return nil, false, tender.Errorf(tender.EConflict, "a %s payment cannot be %sd", p.Status, m.name)
		}
		room := m.room(p) - reserved
		take = amount
		if take == 0 {
			take = room
		}
		if take <= 0 {
			return nil, false, tender.Errorf(tender.EConflict, "nothing is left to %s on payment %s", m.name, p.ID)
		}
		if take > room {
			return nil, false, tender.Invalid("amount", "amount %s exceeds the %s left to %s (%s)",
				tender.FormatMinor(take, p.Currency), p.Currency, m.name, tender.FormatMinor(room, p.Currency))
		}
		return []tender.Event{e.newEvent(m.reqType, opEvent{OpID: opID, Amount: take})}, true, nil
	})
	if err != nil || alreadyDone {
		return p, err
	}

	c, op, err := e.opFor(ctx, p, take, opID)
	if err != nil {
		return nil, err
	}
	pctx, cancel := e.providerContext(ctx)
	start := time.Now()
	u, callErr := m.call(c, pctx, op)
	cancel()
	e.metrics.providerCall(p.Connector, m.name, callErr, time.Since(start))

	if callErr != nil && inDoubt(callErr) {
		// The reservation stays until the same request is retried.
		e.log.Warn(m.name+" in doubt", "payment", p.ID, "op", opID, "err", callErr)
		return p, &tender.Error{Code: tender.EUnavailable, Err: callErr,
			Message: "the provider did not answer the " + m.name + "; retry the request with the same Idempotency-Key to learn the outcome without acting twice"}
	}
	if callErr != nil {
		// The provider certainly did nothing: end the reservation, or
		// its amount would stay taken from what the payment allows.
		p, err := e.mutate(ctx, id, func(p *tender.Payment) ([]tender.Event, bool, error) {
			return []tender.Event{e.newEvent(m.failType, opEvent{OpID: opID, Amount: take, Error: tender.ErrorMessageOf(callErr)})}, true, nil
		})
		if err != nil {
			return nil, err
		}
		return p, callErr
	}
	return e.mutate(ctx, id, func(p *tender.Payment) ([]tender.Event, bool, error) {
		from := p.Status
		u.Status = "" // the engine books the amounts and decides the status
		events, _, err := e.applyUpdate(p, u, m.name)
		if err != nil {
			return nil, false, err
		}
		m.done(p, take)
		if err := from.Transition(p.Status); err != nil && from != p.Status {
			return nil, false, err
		}
		events = append(events, e.newEvent(m.doneType, opEvent{OpID: opID, Amount: take}))
		if from != p.Status {
			e.metrics.transition(p.Connector, string(p.Status))
			events = append(events, e.newEvent(statusEvent(p.Status), map[string]any{
				"status": p.Status, "previous_status": from, "source": m.name,
				"captured_amount": p.CapturedAmount, "refunded_amount": p.RefundedAmount,
			}))
		}
		return events, true, nil
	})
}

func statusIn(s tender.Status, list []tender.Status) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}

// Cancel cancels a payment that has not been captured.
func (e *Engine) Cancel(ctx context.Context, id string, opID string) (*tender.Payment, error) {
	unlock := e.locks.Lock("payment:" + id)
	defer unlock()
	p, err := e.store.GetPayment(ctx, id)
	if err != nil {
		return nil, err
	}
	switch p.Status {
	case tender.StatusCanceled:
		return p, nil // canceling twice is harmless
	case tender.StatusPending, tender.StatusRequiresAction, tender.StatusProcessing, tender.StatusAuthorized, tender.StatusUnknown:
	default:
		return nil, tender.Errorf(tender.EConflict, "a %s payment cannot be canceled; refund it instead", p.Status)
	}
	c, op, err := e.opFor(ctx, p, 0, opID)
	if err != nil {
		return nil, err
	}
	pctx, cancel := e.providerContext(ctx)
	start := time.Now()
	u, callErr := c.Cancel(pctx, op)
	cancel()
	e.metrics.providerCall(p.Connector, "cancel", callErr, time.Since(start))
	if callErr != nil {
		typ := EvCancelFailed
		e.mutate(ctx, id, func(p *tender.Payment) ([]tender.Event, bool, error) {
			return []tender.Event{e.newEvent(typ, map[string]any{"op_id": opID, "error": tender.ErrorMessageOf(callErr)})}, true, nil
		})
		if inDoubt(callErr) {
			// The provider may or may not have canceled: find out.
			e.mutate(ctx, id, func(p *tender.Payment) ([]tender.Event, bool, error) {
				if p.Status == tender.StatusAuthorized {
					return nil, false, nil
				}
				p.NextCheckAt = e.clock.Now().UTC()
				return nil, true, nil
			})
			return nil, &tender.Error{Code: tender.EUnavailable, Err: callErr, Message: "the provider did not answer the cancel; the payment's status will tell the outcome"}
		}
		return nil, callErr
	}
	return e.mutate(ctx, id, func(p *tender.Payment) ([]tender.Event, bool, error) {
		if u.Status == "" {
			u.Status = tender.StatusCanceled
		}
		if u.Status == tender.StatusCanceled && u.Failure == nil && p.Failure == nil {
			u.Failure = &tender.Failure{Code: tender.FailCanceled, Message: "canceled by the merchant"}
		}
		return e.applyUpdate(p, u, "cancel")
	})
}
