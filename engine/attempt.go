package engine

import (
	"context"

	"github.com/tenderpay/tender"
)

// EvAttemptFailed records a shopper's attempt that failed (a decline, a
// 3-D Secure failure, a field the gateway refused) while the payment stays
// open for another attempt.
const EvAttemptFailed = "payment.attempt_failed"

// attemptFailed takes a verified update that fails an attempt the shopper
// may make again (tender.Update.Retry) on a payment that waits for its
// shopper: the payment stays requires_action, its Failure says why the
// last attempt failed, and the attempt is an event. It reports false for
// any other update, which is applied as usual. The payment fails only
// when the shopper gives up (CancelByShopper) or it expires.
func (e *Engine) attemptFailed(p *tender.Payment, u tender.Update) ([]tender.Event, bool) {
	if !u.Retry || u.Status != tender.StatusFailed || u.Failure == nil || p.Status != tender.StatusRequiresAction {
		return nil, false
	}
	p.Failure = u.Failure
	data := map[string]any{"code": u.Failure.Code, "message": u.Failure.Message}
	if u.Failure.ProviderCode != "" {
		data["provider_code"] = u.Failure.ProviderCode
	}
	if u.ProviderReference != "" {
		data["attempt_reference"] = u.ProviderReference
	}
	return []tender.Event{e.newEvent(EvAttemptFailed, data)}, true
}

// attemptSucceeded clears the failure an earlier attempt left on a payment
// that a later attempt settled (the failed attempts stay in its events).
func attemptSucceeded(p *tender.Payment, past []tender.Event) {
	if p.Failure == nil {
		return
	}
	switch p.Status {
	case tender.StatusAuthorized, tender.StatusCaptured:
	default:
		return
	}
	for _, ev := range past {
		if ev.Type == EvAttemptFailed {
			p.Failure = nil
			return
		}
	}
}

// CancelByShopper is the shopper giving up a payment that waits for them
// (the checkout's "cancel"): it is canceled as a merchant's cancel would
// (the provider is told, the outcome confirmed). Any other status is left
// alone and answered with EConflict.
func (e *Engine) CancelByShopper(ctx context.Context, id string) (*tender.Payment, error) {
	p, err := e.store.GetPayment(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Status != tender.StatusRequiresAction {
		return p, tender.Errorf(tender.EConflict, "a %s payment is not waiting for its shopper", p.Status)
	}
	unlock := e.locks.Lock("payment:" + id)
	defer unlock()
	return e.cancel(ctx, id, "shopper-cancel:"+id)
}
