package engine

import (
	"context"
	"time"

	"github.com/tenderpay/tender"
)

// TerminalState is what a terminal is doing, from Tender's own record
// (its open payment, when the provider last answered about one of its
// payments) and what the provider said of the terminal in that answer.
type TerminalState struct {
	State   string // tender.TerminalIdle, TerminalInUse, TerminalOffline or TerminalUnknown
	Payment string // the open payment (busy, unknown), else ""
	Reason  string // why, in words for a person
	// LastSeenAt is when the provider last answered about a payment on the
	// terminal (to within seenEvery); zero if never.
	LastSeenAt time.Time
}

// seenEvery bounds how often a terminal's LastSeenAt is written: a busy
// terminal is asked about every few seconds.
const seenEvery = 5 * time.Second

// providerBusyFor is how long a provider's "busy" (a transaction Tender
// did not start) keeps the terminal busy in Tender's eyes: such a
// transaction is a cashier's at the terminal, over within minutes.
const providerBusyFor = 2 * time.Minute

// terminalKey is the watchers' key of a terminal (payment ids never
// contain ':').
func terminalKey(id string) string { return "terminal:" + id }

// terminalChanged wakes the long-polls of p's terminal: p was created or
// changed, which may have changed what the terminal is doing.
func (e *Engine) terminalChanged(p *tender.Payment) {
	if p.Terminal != "" {
		e.watch.notify(terminalKey(p.Terminal))
	}
}

// terminalSeen records that the provider answered a call about p (an
// error that leaves the outcome in doubt is no answer).
func (e *Engine) terminalSeen(p *tender.Payment, err error) {
	if p.Terminal == "" || err != nil && inDoubt(err) {
		return
	}
	now := e.clock.Now().UTC()
	// At most one write per terminal and seenEvery from this instance
	// (the store's condition bounds it across instances).
	if last, ok := e.touched.Load(p.Terminal); ok && now.Sub(last.(time.Time)) < seenEvery {
		return
	}
	e.touched.Store(p.Terminal, now)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.store.TouchTerminal(ctx, p.Terminal, now, seenEvery); err != nil {
		e.log.Warn("terminal: record the provider's answer", "terminal", p.Terminal, "err", err)
	}
}

// GetTerminalState returns the merchant's terminal id and its state.
func (e *Engine) GetTerminalState(ctx context.Context, id string) (*tender.Terminal, TerminalState, error) {
	t, err := e.GetTerminal(ctx, id)
	if err != nil {
		return nil, TerminalState{}, err
	}
	st, err := e.terminalState(ctx, t)
	return t, st, err
}

// TerminalStates returns the state of each terminal (for a list).
func (e *Engine) TerminalStates(ctx context.Context, ts []*tender.Terminal) ([]TerminalState, error) {
	out := make([]TerminalState, len(ts))
	for i, t := range ts {
		st, err := e.terminalState(ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

func (e *Engine) terminalState(ctx context.Context, t *tender.Terminal) (TerminalState, error) {
	st := TerminalState{State: tender.TerminalIdle, LastSeenAt: t.LastSeenAt}
	open, err := e.store.OpenPaymentOnTerminal(ctx, t.ID)
	if err != nil {
		return st, err
	}
	if open != nil {
		st.Payment = open.ID
		if open.Status == tender.StatusUnknown {
			st.State = tender.TerminalUnknown
			st.Reason = "payment " + open.ID + " is in doubt; Tender is asking the provider what became of it"
			return st, nil
		}
		st.State = tender.TerminalInUse
		st.Reason = "payment " + open.ID + " is " + string(open.Status)
		return st, nil
	}
	// What the provider said of the terminal when it last answered about
	// the newest payment on it.
	last, _, err := e.store.ListPayments(ctx, tender.PaymentFilter{Merchant: t.Merchant, Terminal: t.ID, Limit: 1})
	if err != nil || len(last) == 0 {
		return st, err
	}
	r, ok := e.connectors[t.Connector].(tender.TerminalReader)
	if !ok {
		return st, nil
	}
	said, why := r.TerminalSaid(last[0])
	switch said {
	case tender.TerminalInUse:
		if e.clock.Now().Sub(last[0].UpdatedAt) < providerBusyFor {
			st.State, st.Reason = tender.TerminalInUse, why
		}
	case tender.TerminalOffline:
		st.State, st.Reason = tender.TerminalOffline, why
	}
	return st, nil
}

// WaitTerminal returns the terminal's state once it differs from the one
// it had when the call began, or after wait, whichever is first. A change
// made in this process wakes it at once; one made by another instance is
// seen within a second (or at once when it ends the open payment, through
// the payments' change feed).
func (e *Engine) WaitTerminal(ctx context.Context, id string, wait time.Duration) (*tender.Terminal, TerminalState, error) {
	t, st, err := e.GetTerminalState(ctx, id)
	if err != nil || wait <= 0 {
		return t, st, err
	}
	changed, cancel := e.watch.subscribe(terminalKey(id))
	defer cancel()
	var paymentChanged <-chan struct{}
	if st.Payment != "" {
		ch, cancel := e.watch.subscribe(st.Payment)
		defer cancel()
		paymentChanged = ch
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	reread := time.NewTicker(time.Second)
	defer reread.Stop()
	for {
		select {
		case <-ctx.Done():
			return t, st, nil
		case <-deadline.C:
			if q, now, err := e.GetTerminalState(ctx, id); err == nil {
				t, st = q, now
			}
			return t, st, nil
		case <-changed:
		case <-paymentChanged:
		case <-reread.C:
		}
		q, now, err := e.GetTerminalState(ctx, id)
		if err != nil {
			return t, st, nil
		}
		t = q
		if now.State != st.State || now.Payment != st.Payment {
			return t, now, nil
		}
		st = now // a newer LastSeenAt
	}
}
