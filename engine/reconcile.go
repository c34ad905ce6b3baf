package engine

import (
	"context"
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
	for {
		n, err := e.runOnce(ctx, sem, &wg)
		if err != nil && ctx.Err() == nil {
			e.log.Error("reconcile: claim due payments", "err", err)
		}
		wait := e.sched.Poll
		if n == e.sched.Workers {
			wait = 0 // more may be due
		}
		select {
		case <-ctx.Done():
			return nil
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

func (e *Engine) runOnce(ctx context.Context, sem chan struct{}, wg *sync.WaitGroup) (int, error) {
	// Claim only as many as there are free workers.
	free := cap(sem) - len(sem)
	if free == 0 {
		return 0, nil
	}
	due, err := e.store.ClaimDue(ctx, e.clock.Now().UTC(), e.sched.Lease, free)
	if err != nil {
		return 0, err
	}
	for _, p := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func(p *tender.Payment) {
			defer func() { <-sem; wg.Done() }()
			if _, err := e.Check(ctx, p.ID); err != nil && ctx.Err() == nil {
				e.log.Warn("reconcile: check payment", "payment", p.ID, "err", err)
			}
		}(p)
	}
	return len(due), nil
}

// Check asks the provider about one payment now and applies the answer.
func (e *Engine) Check(ctx context.Context, id string) (*tender.Payment, error) {
	p, err := e.store.GetPayment(ctx, id)
	if err != nil {
		return nil, err
	}
	switch p.Status {
	case tender.StatusProcessing, tender.StatusRequiresAction, tender.StatusUnknown, tender.StatusPending:
	default:
		// Settled meanwhile (a callback came first): nothing to ask.
		return e.mutate(ctx, id, func(p *tender.Payment) ([]tender.Event, bool, error) {
			if p.NextCheckAt.IsZero() {
				return nil, false, nil
			}
			p.NextCheckAt = time.Time{}
			return nil, true, nil
		})
	}
	c, op, err := e.opFor(ctx, p, 0, p.OperationID)
	if err != nil {
		return nil, err
	}
	pctx, cancel := e.providerContext(ctx)
	start := time.Now()
	u, callErr := c.Status(pctx, op)
	cancel()
	e.metrics.providerCall(p.Connector, "status", callErr, time.Since(start))
	e.metrics.check(p.Connector, p.Status)

	return e.mutate(ctx, id, func(p *tender.Payment) ([]tender.Event, bool, error) {
		p.CheckCount++
		if callErr != nil {
			// Nothing learned; try again on the schedule. A payment stuck
			// pending (its Start never recorded) is in doubt.
			var events []tender.Event
			u := tender.Update{}
			if p.Status == tender.StatusPending {
				u.Status = tender.StatusUnknown
			}
			ev, _, err := e.applyUpdate(p, u, "status")
			if err != nil {
				return nil, false, err
			}
			events = append(events, ev...)
			p.NextCheckAt = time.Time{}
			e.schedule(p, 0, false)
			events = append(events, e.newEvent(EvCheckFailed, map[string]any{"error": tender.ErrorMessageOf(callErr), "check": p.CheckCount}))
			return events, true, nil
		}
		events, _, err := e.applyUpdate(p, u, "status")
		if err != nil {
			e.log.Error("reconcile: provider reported an impossible change", "payment", p.ID, "from", p.Status, "to", u.Status, "err", err)
			p.NextCheckAt = time.Time{}
			e.schedule(p, 0, false)
			return []tender.Event{e.newEvent(EvTransitionDenied, map[string]any{"status": p.Status, "reported": u.Status, "source": "status"})}, true, nil
		}
		if u.Status == "" || u.Status == p.Status {
			// No news: the next check follows the schedule from now.
			p.NextCheckAt = time.Time{}
			e.schedule(p, u.CheckIn, false)
		}
		return events, true, nil
	})
}
