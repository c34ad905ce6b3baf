package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tenderpay/tender"
)

// Follow-ups (tender.Update.FollowUp): one more Status call about a
// payment some time after an update, even once it is settled, for a
// provider whose records may hold a second charge of the payment that the
// update could not know of. Both events are internal (never webhooks);
// what is pending is read from them alone, so it survives a restart and
// every instance agrees on it.
const (
	// EvFollowUpAsked records that a Status call is due at "due".
	EvFollowUpAsked = "payment.follow_up_scheduled"
	// EvFollowUpDone records a follow-up Status call made at "asked_at"
	// and applied: it answers every follow-up due by then.
	EvFollowUpDone = "payment.follow_up_done"
)

// followUpSource marks the check_failed events of follow-up calls and is
// the source of the answers they apply.
const followUpSource = "follow_up"

// followUpEvent records an update's follow-up, due after d from now.
func (e *Engine) followUpEvent(d time.Duration, source string) tender.Event {
	return e.newEvent(EvFollowUpAsked, map[string]any{"due": e.clock.Now().UTC().Add(d), "after": d.String(), "source": source})
}

// followUpDue returns when the payment's pending follow-up is to be asked,
// zero when none is pending: its due time, put back after the calls that
// failed since (backoff, as for a payment in doubt), so that a provider
// that is down is not asked at every poll.
func followUpDue(events []tender.Event, backoff []time.Duration) time.Time {
	f := pendingFollowUp(events)
	if f.due.IsZero() || f.failed == 0 || len(backoff) == 0 {
		return f.due
	}
	if retry := f.lastFailed.Add(backoff[min(f.failed-1, len(backoff)-1)]); retry.After(f.due) {
		return retry
	}
	return f.due
}

// followUpState is what the events say of a payment's follow-ups: the
// earliest due after the last call made (zero: none pending), and the
// calls that failed since.
type followUpState struct {
	due        time.Time
	failed     int
	lastFailed time.Time
}

func pendingFollowUp(events []tender.Event) followUpState {
	var f followUpState
	var asked time.Time
	var dues []time.Time
	for _, ev := range events {
		var d struct {
			Due     time.Time `json:"due"`
			AskedAt time.Time `json:"asked_at"`
			Source  string    `json:"source"`
		}
		switch ev.Type {
		case EvFollowUpAsked, EvFollowUpDone, EvCheckFailed:
			if json.Unmarshal(ev.Data, &d) != nil {
				continue
			}
		default:
			continue
		}
		switch ev.Type {
		case EvFollowUpAsked:
			dues = append(dues, d.Due)
		case EvFollowUpDone:
			if d.AskedAt.After(asked) {
				asked = d.AskedAt
			}
			f.failed = 0
		case EvCheckFailed:
			if d.Source == followUpSource {
				f.failed++
				f.lastFailed = ev.CreatedAt
			}
		}
	}
	for _, due := range dues {
		if due.After(asked) && (f.due.IsZero() || due.Before(f.due)) {
			f.due = due
		}
	}
	return f
}

// followUp makes the payment's follow-up call if one is due and nothing
// else is open (a settled payment with no capture, refund or cancel in
// doubt: those are resolved first, by their own means), and applies the
// answer. ran is false when none was due. events are p's (nil: read both
// again). The payment keeps its claim's check time during the call, so
// another instance does not make the same call meanwhile; should it all
// the same (a lease run out), the second answer finds the follow-up done
// and stores nothing, and the provider's own undoing of a second charge
// is idempotent.
func (e *Engine) followUp(ctx context.Context, p *tender.Payment, events []tender.Event, now time.Time) (q *tender.Payment, ran bool, err error) {
	if events == nil {
		if p, err = e.store.GetPayment(ctx, p.ID); err != nil {
			return nil, true, err
		}
		if events, err = e.store.ListEvents(ctx, p.ID); err != nil {
			return nil, true, err
		}
	}
	due := followUpDue(events, e.sched.Unknown)
	if openStatus(p.Status) || due.IsZero() || due.After(now) || len(readOps(events).open) > 0 {
		return p, false, nil
	}
	var u tender.Update
	c, op, callErr := e.opFor(ctx, p, 0, p.OperationID)
	if callErr == nil {
		op.CancelRequested = cancelAsked(events)
		pctx, cancel := e.providerContext(ctx)
		start := time.Now()
		u, callErr = c.Status(pctx, op)
		cancel()
		e.metrics.providerCall(p.Connector, "status", callErr, time.Since(start))
		e.metrics.check(p.Connector, p.Status)
	}
	seen := p.Version
	q, err = e.mutate(ctx, p.ID, func(p *tender.Payment, events []tender.Event) ([]tender.Event, bool, error) {
		if d := followUpDue(events, e.sched.Unknown); d.IsZero() || d.After(now) || len(readOps(events).open) > 0 {
			return nil, false, nil // done meanwhile, or something opened since
		}
		if callErr != nil {
			e.log.Warn("follow-up check failed", "payment", p.ID, "connector", p.Connector, "err", callErr)
			out := []tender.Event{e.newEvent(EvCheckFailed, map[string]any{"error": tender.ErrorMessageOf(callErr), "source": followUpSource})}
			if since := pendingFollowUp(events).due; now.Sub(since) >= e.sched.MaxOpen {
				// The provider may hold a second charge Tender cannot
				// undo: a person should look (the calls go on).
				out = append(out, e.discrepancy(p, "the provider could not be asked about the payment again since "+
					since.Format(time.RFC3339)+" (a follow-up check for a second charge): check it with the provider")...)
			}
			return out, true, nil
		}
		if p.Version != seen {
			u.State = nil // the payment changed during the call: keep what changed
		}
		out := e.applyVerified(p, u, followUpSource)
		return append(out, e.newEvent(EvFollowUpDone, map[string]any{"asked_at": now})), true, nil
	})
	return q, true, err
}
