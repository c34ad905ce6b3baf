package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tenderpay/tender"
)

// Pausing and resuming a subscription the provider runs. The request is
// recorded before the provider is asked, and stays recorded until the
// provider has confirmed it; a request without its confirmation (the
// call failed, timed out, or the process died) is sent again by the
// periodic discovery (DiscoverInstalments). Two requests may race, on two
// instances: each send names the state asked last, and a request counts
// as done only once no earlier call of the opposite state can still
// reach the provider after the one confirmed (pauseLedger).

// Events of pause and resume requests.
const (
	// EvSubscriptionPauseRequested records a request {paused, seq}; seq
	// grows by one per request of the payment.
	EvSubscriptionPauseRequested = "payment.subscription_pause_requested"
	// EvSubscriptionPaused and EvSubscriptionResumed record that the
	// provider confirmed request seq {seq, sent_at}: the first
	// confirmation of each request (a webhook).
	EvSubscriptionPaused  = "payment.subscription_paused"
	EvSubscriptionResumed = "payment.subscription_resumed"
	// EvSubscriptionPauseResent records a confirmed request sent again
	// {seq, paused, sent_at}, once no earlier call of the opposite state
	// could reach the provider after it (after two requests crossed).
	EvSubscriptionPauseResent = "payment.subscription_pause_resent"
)

// maxPauseSends bounds the sends of one call of SetSubscriptionPaused
// while other requests keep coming; discovery sends the rest.
const maxPauseSends = 3

type pauseRequest struct {
	Paused bool `json:"paused"`
	Seq    int  `json:"seq"`
}

type pauseSent struct {
	Seq    int       `json:"seq"`
	Paused *bool     `json:"paused,omitempty"`
	SentAt time.Time `json:"sent_at"`
}

// pauseRun is a run of requests of one state, one after another.
type pauseRun struct {
	paused    bool
	firstSeq  int
	last      time.Time // when its last request was recorded
	hazardEnd time.Time // a call of the state before it may reach the provider until then
	finalAt   time.Time // when a confirmation sent at or after hazardEnd was recorded; zero: not yet
}

// pauseLedger is what a payment's events say of its pause requests.
type pauseLedger struct {
	has       bool // a request was made
	seq       int  // the latest request's
	paused    bool // the latest request's state
	confirmed bool // the latest request has a confirmation
	// settled says the provider is at the latest request's state for
	// good: it confirmed a send of it made after every call of the
	// opposite state could have ended. Only then is nothing sent again.
	settled   bool
	hazardEnd time.Time
}

// readPauses reads the pause requests and confirmations in events. Every
// send of a state is made right after its request was recorded, or after
// a read found the latest run not settled; so a call of the state before
// the latest run began by the time that run began (or by the time the
// run before was settled, if it was) and ended within guard of it. A
// confirmation counts for settling only when its send began after that:
// before, an earlier call could still land after it and leave the
// provider at the state before.
func readPauses(events []tender.Event, guard time.Duration) pauseLedger {
	var l pauseLedger
	var run *pauseRun
	confirmed := map[int]bool{}
	for _, ev := range events {
		switch ev.Type {
		case EvSubscriptionPauseRequested:
			var r pauseRequest
			if json.Unmarshal(ev.Data, &r) != nil || r.Seq <= l.seq {
				continue
			}
			l.has, l.seq, l.paused = true, r.Seq, r.Paused
			if run != nil && run.paused == r.Paused {
				run.last = ev.CreatedAt
				continue
			}
			next := &pauseRun{paused: r.Paused, firstSeq: r.Seq, last: ev.CreatedAt}
			if run != nil {
				calm := !run.finalAt.IsZero() && !laterOf(run.finalAt, run.last).Add(guard).After(ev.CreatedAt)
				if !calm {
					next.hazardEnd = ev.CreatedAt.Add(guard)
				}
			}
			run = next
		case EvSubscriptionPaused, EvSubscriptionResumed, EvSubscriptionPauseResent:
			var s pauseSent
			if json.Unmarshal(ev.Data, &s) != nil {
				continue
			}
			confirmed[s.Seq] = true
			if run != nil && s.Seq >= run.firstSeq && run.finalAt.IsZero() && !s.SentAt.Before(run.hazardEnd) {
				run.finalAt = ev.CreatedAt
			}
		}
	}
	if run != nil {
		l.confirmed = confirmed[l.seq]
		l.settled = !run.finalAt.IsZero()
		l.hazardEnd = run.hazardEnd
	}
	return l
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// PauseSubscription asks the provider to make no more charges of the
// subscription started by payment id (its first payment).
func (e *Engine) PauseSubscription(ctx context.Context, id string) (*tender.Payment, error) {
	return e.SetSubscriptionPaused(ctx, id, true)
}

// ResumeSubscription asks the provider to charge the subscription
// started by payment id again, from its next date.
func (e *Engine) ResumeSubscription(ctx context.Context, id string) (*tender.Payment, error) {
	return e.SetSubscriptionPaused(ctx, id, false)
}

// SetSubscriptionPaused pauses or resumes the subscription started by the
// first payment id. The request is recorded first (Subscription.Paused
// and a payment.subscription_pause_requested event, in one
// version-checked write), then sent; the provider's confirmation is
// recorded as payment.subscription_paused or payment.subscription_resumed.
// If the call fails, the error is returned and the request stays
// recorded: discovery sends it again until it is confirmed. Asking for
// the state already confirmed changes nothing and sends nothing.
// Discovery of the schedule's charges goes on while it is paused (a
// charge made before the pause took effect is still recorded).
func (e *Engine) SetSubscriptionPaused(ctx context.Context, id string, paused bool) (*tender.Payment, error) {
	p, err := e.ownPayment(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := pausable(p); err != nil {
		return nil, err
	}
	if _, err := e.pauser(p); err != nil {
		return nil, err
	}
	unlock := e.locks.Lock("payment:" + id)
	defer unlock()
	var seq int
	done := false
	p, err = e.mutate(ctx, id, func(p *tender.Payment, events []tender.Event) ([]tender.Event, bool, error) {
		if err := pausable(p); err != nil {
			return nil, false, err
		}
		l := readPauses(events, e.guard())
		if l.has && l.paused == paused && l.settled || !l.has && !paused {
			done = true // already so (a subscription never paused is running)
			return nil, false, nil
		}
		seq = l.seq + 1
		p.Subscription.Paused = paused
		return []tender.Event{e.newEvent(EvSubscriptionPauseRequested, pauseRequest{Paused: paused, Seq: seq})}, true, nil
	})
	if err != nil || done {
		return p, err
	}
	// From here on the provider may act: nothing depends on the caller.
	return e.sendPause(context.WithoutCancel(ctx), p, seq, paused)
}

// pausable refuses a payment whose subscription cannot be paused or
// resumed.
func pausable(p *tender.Payment) error {
	s := p.Subscription
	switch {
	case s == nil:
		return tender.Errorf(tender.EConflict, "payment %s has no subscription to pause or resume", p.ID)
	case s.Parent != "":
		return tender.Errorf(tender.EConflict, "payment %s is charge %d of the subscription of payment %s: pause or resume it on %s",
			p.ID, s.Number, s.Parent, s.Parent)
	case subscriptionEnded(p):
		return tender.Errorf(tender.EConflict, "the subscription of payment %s has ended", p.ID)
	case !s.Active:
		return tender.Errorf(tender.EConflict, "the subscription of payment %s has not started: the payment is %s", p.ID, p.Status)
	}
	return nil
}

func (e *Engine) pauser(p *tender.Payment) (tender.SubscriptionPauser, error) {
	c, ok := e.connectors[p.Connector]
	if !ok {
		return nil, tender.Errorf(tender.EInternal, "connector %q of payment %s is not configured on this server", p.Connector, p.ID)
	}
	sp, ok := c.(tender.SubscriptionPauser)
	if !ok {
		return nil, tender.Errorf(tender.ENotSupported, "connector %q cannot pause or resume a subscription", p.Connector)
	}
	return sp, nil
}

// sendPause sends request seq (state paused) of p and records the
// provider's confirmation; if a newer request was recorded meanwhile, it
// sends that one's state instead, so that the provider ends at the
// latest request. The caller holds the payment's lock.
func (e *Engine) sendPause(ctx context.Context, p *tender.Payment, seq int, paused bool) (*tender.Payment, error) {
	for sends := 1; ; sends++ {
		sp, err := e.pauser(p)
		if err != nil {
			return p, err
		}
		_, op, err := e.opFor(ctx, p, 0, "")
		if err != nil {
			return p, err
		}
		sentAt := e.clock.Now().UTC()
		pctx, cancel := e.providerContext(ctx)
		start := time.Now()
		callErr := sp.SetSubscriptionPaused(pctx, op, paused)
		cancel()
		e.metrics.providerCall(p.Connector, "subscription_pause", callErr, time.Since(start))
		if callErr != nil {
			e.log.Warn("subscription pause not confirmed", "payment", p.ID, "paused", paused, "seq", seq, "err", callErr)
			return p, pauseError(callErr, paused)
		}
		var again bool
		var next pauseLedger
		q, err := e.mutate(ctx, p.ID, func(q *tender.Payment, events []tender.Event) ([]tender.Event, bool, error) {
			l := readPauses(events, e.guard())
			if l.seq != seq {
				// Another request came meanwhile: the provider must end at
				// it, unless it is settled already.
				again, next = !l.settled && pausable(q) == nil, l
				return nil, false, nil
			}
			data := pauseSent{Seq: seq, SentAt: sentAt}
			switch {
			case !l.confirmed:
				typ := EvSubscriptionResumed
				if paused {
					typ = EvSubscriptionPaused
				}
				e.log.Info("subscription pause confirmed", "payment", q.ID, "paused", paused, "seq", seq)
				return []tender.Event{e.newEvent(typ, data)}, true, nil
			case !l.settled && !sentAt.Before(l.hazardEnd):
				data.Paused = &paused
				return []tender.Event{e.newEvent(EvSubscriptionPauseResent, data)}, true, nil
			}
			return nil, false, nil
		})
		if err != nil || !again || sends >= maxPauseSends {
			return q, err
		}
		p, seq, paused = q, next.seq, next.paused
	}
}

// pauseError is the error of a pause or resume the provider did not
// confirm: its own code (in doubt, refused), and what happens next.
func pauseError(err error, paused bool) error {
	verb := "resume"
	if paused {
		verb = "pause"
	}
	out := &tender.Error{Code: tender.ErrorCodeOf(err), Err: err}
	if te := tender.AsError(err); te != nil {
		out.ProviderCode = te.ProviderCode
	}
	if inDoubt(err) {
		out.Message = "the provider did not answer the " + verb + " of the subscription; the request is recorded and Tender sends it again until the provider confirms it"
	} else {
		out.Message = tender.ErrorMessageOf(err) + "; the " + verb + " request is recorded and Tender sends it again until the provider confirms it"
	}
	return out
}

// settlePause sends again the latest pause or resume request of a
// subscription that is not settled (its confirmation is missing, or two
// requests crossed), and records the confirmation. Discovery calls it
// for every subscription it follows.
func (e *Engine) settlePause(ctx context.Context, first *tender.Payment) error {
	if _, ok := e.connectors[first.Connector].(tender.SubscriptionPauser); !ok {
		return nil
	}
	events, err := e.store.ListEvents(ctx, first.ID)
	if err != nil {
		return err
	}
	if l := readPauses(events, e.guard()); !l.has || l.settled {
		return nil
	}
	unlock := e.locks.Lock("payment:" + first.ID)
	defer unlock()
	// Read again under the lock: a request of this instance may have
	// settled it, or made another, while this waited.
	p, err := e.store.GetPayment(ctx, first.ID)
	if err != nil {
		return err
	}
	if events, err = e.store.ListEvents(ctx, first.ID); err != nil {
		return err
	}
	l := readPauses(events, e.guard())
	if !l.has || l.settled || pausable(p) != nil {
		return nil
	}
	_, err = e.sendPause(ctx, p, l.seq, l.paused)
	return err
}
