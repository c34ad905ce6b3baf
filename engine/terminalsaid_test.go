package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// scriptSaid holds what each scripted connector's TerminalSaid answers
// (none set: nothing), making the script a tender.TerminalReader.
var scriptSaid sync.Map // *script → func(*tender.Payment) (string, string)

func (s *script) TerminalSaid(p *tender.Payment) (string, string) {
	if f, ok := scriptSaid.Load(s); ok {
		return f.(func(*tender.Payment) (string, string))(p)
	}
	return "", ""
}

// With no payment open on it, a terminal's state is what the provider
// last said of it with the newest payment: busy for providerBusyFor after
// that payment's last change (a cashier's own transaction), offline as
// long as nothing newer says otherwise; a terminal with no payments is
// idle (mutation survivors of terminalState).
func TestTerminalStateFromTheProvider(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	var said struct {
		sync.Mutex
		state, why string
	}
	scriptSaid.Store(w.conn, func(*tender.Payment) (string, string) {
		said.Lock()
		defer said.Unlock()
		return said.state, said.why
	})
	t.Cleanup(func() { scriptSaid.Delete(w.conn) })
	set := func(state, why string) { said.Lock(); said.state, said.why = state, why; said.Unlock() }

	set(tender.TerminalInUse, "the terminal said it is busy")
	if _, st, err := e.GetTerminalState(ctx, "till"); err != nil || st.State != tender.TerminalIdle {
		t.Fatalf("a terminal with no payments: %+v %v", st, err)
	}
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusFailed, Failure: &tender.Failure{Code: tender.FailTerminalBusy}}, nil
	})
	p, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil || p.Status != tender.StatusFailed {
		t.Fatalf("%v %v", p, err)
	}
	if _, st, _ := e.GetTerminalState(ctx, "till"); st.State != tender.TerminalInUse || st.Reason != "the terminal said it is busy" || st.Payment != "" {
		t.Fatalf("just after the provider said busy: %+v", st)
	}
	w.clock.Advance(providerBusyFor - time.Second)
	if _, st, _ := e.GetTerminalState(ctx, "till"); st.State != tender.TerminalInUse {
		t.Fatalf("a second before providerBusyFor: %+v", st)
	}
	w.clock.Advance(time.Second)
	if _, st, _ := e.GetTerminalState(ctx, "till"); st.State != tender.TerminalIdle {
		t.Fatalf("providerBusyFor after: %+v, want idle", st)
	}
	set(tender.TerminalOffline, "the terminal is offline")
	w.clock.Advance(time.Hour)
	if _, st, _ := e.GetTerminalState(ctx, "till"); st.State != tender.TerminalOffline || st.Reason != "the terminal is offline" {
		t.Fatalf("offline: %+v", st)
	}
}
