package engine

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// pauseScript is the card script whose provider also pauses and resumes
// subscriptions. gateway is the state the provider holds: the value of
// the last pause call that reached it.
type pauseScript struct {
	*cardScript
	pause   hook[func(ctx context.Context, op *tender.Op, paused bool) error]
	pmu     sync.Mutex
	gateway *bool
	sent    []bool
}

func (c *pauseScript) SetSubscriptionPaused(ctx context.Context, op *tender.Op, paused bool) error {
	c.pmu.Lock()
	c.sent = append(c.sent, paused)
	c.pmu.Unlock()
	if f, ok := c.pause.Get(); ok {
		return f(ctx, op, paused)
	}
	c.land(paused)
	return nil
}

// land is a pause call taking effect at the provider.
func (c *pauseScript) land(paused bool) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.gateway = &paused
}

func (c *pauseScript) state() (gateway *bool, sends int) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return c.gateway, len(c.sent)
}

func pauseEngine(w *world, c *pauseScript) *Engine {
	w.t.Helper()
	e := w.engine(faultSchedule)
	e.connectors = map[string]tender.Connector{"script": c}
	return e
}

// subscription makes the captured first payment of a subscription the
// engine follows.
func (w *world) subscription(e *Engine) *tender.Payment {
	w.t.Helper()
	w.conn.start.Set(savedStart("ref-" + tender.NewID("r")))
	p, err := e.CreatePayment(context.Background(), PaymentRequest{Amount: 999, Currency: "EUR", Connector: "script", CardRequest: CardRequest{
		Customer: "cust", SetupFutureUsage: tender.SetupOffSession,
		Subscription: &tender.Subscription{Type: "recurring", Unit: "month", Frequency: 1}}}, randomOperationID())
	if err != nil || p.Subscription == nil || !p.Subscription.Active {
		w.t.Fatalf("first payment: %+v, %v", p, err)
	}
	return p
}

// pauseEvents returns the data of the payment's pause events by type.
func (w *world) pauseEvents(id string) (types []string, data []map[string]any) {
	w.t.Helper()
	evs, err := w.store.ListEvents(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, ev := range evs {
		if !strings.HasPrefix(ev.Type, "payment.subscription_") {
			continue
		}
		var d map[string]any
		_ = json.Unmarshal(ev.Data, &d)
		types, data = append(types, ev.Type), append(data, d)
	}
	return types, data
}

func isState(got *bool, want bool) bool { return got != nil && *got == want }

// TestPauseIsRecordedBeforeTheCall: the request (Subscription.Paused and
// its event) is stored before the provider is asked; the confirmation
// after. Pausing a paused subscription asks nothing; resuming sends false.
func TestPauseIsRecordedBeforeTheCall(t *testing.T) {
	w := newWorld(t)
	ps := &pauseScript{cardScript: &cardScript{script: w.conn}}
	e := pauseEngine(w, ps)
	ctx := context.Background()
	first := w.subscription(e)
	ps.pause.Set(func(_ context.Context, op *tender.Op, paused bool) error {
		stored := w.get(op.Payment.ID)
		types, data := w.pauseEvents(op.Payment.ID)
		if !stored.Subscription.Paused || len(types) != 1 || types[0] != EvSubscriptionPauseRequested || data[0]["seq"] != 1.0 || data[0]["paused"] != true {
			t.Errorf("at the call the store holds paused=%v, events %v %v", stored.Subscription.Paused, types, data)
		}
		ps.land(paused)
		return nil
	})
	p, err := e.PauseSubscription(ctx, first.ID)
	if err != nil || !p.Subscription.Paused {
		t.Fatalf("pause: %+v, %v", p, err)
	}
	if g, n := ps.state(); !isState(g, true) || n != 1 {
		t.Fatalf("gateway %v after %d sends", g, n)
	}
	types, data := w.pauseEvents(first.ID)
	if len(types) != 2 || types[1] != EvSubscriptionPaused || data[1]["seq"] != 1.0 {
		t.Fatalf("events %v %v", types, data)
	}
	ps.pause.Set(nil)
	// Later (past the time a call of the pause could still land):
	// pausing again asks nothing, a resume is sent once.
	w.clock.Advance(e.guard() + time.Second)
	if p, err := e.PauseSubscription(ctx, first.ID); err != nil || !p.Subscription.Paused {
		t.Fatalf("pause again: %+v, %v", p, err)
	}
	if _, n := ps.state(); n != 1 {
		t.Errorf("pausing a paused subscription sent %d calls in all, want 1", n)
	}
	if p, err := e.ResumeSubscription(ctx, first.ID); err != nil || p.Subscription.Paused {
		t.Fatalf("resume: %+v, %v", p, err)
	}
	if g, n := ps.state(); !isState(g, false) || n != 2 {
		t.Fatalf("gateway %v after %d sends, want resumed after 2", g, n)
	}
	types, data = w.pauseEvents(first.ID)
	if len(types) != 4 || types[2] != EvSubscriptionPauseRequested || data[2]["seq"] != 2.0 || types[3] != EvSubscriptionResumed || data[3]["seq"] != 2.0 {
		t.Fatalf("events %v %v", types, data)
	}
	// Discovery finds nothing to send again.
	if err := e.DiscoverInstalments(ctx); err != nil {
		t.Fatal(err)
	}
	if _, n := ps.state(); n != 2 {
		t.Errorf("discovery sent a confirmed request again (%d sends)", n)
	}
}

// TestPauseFailedIsSentAgain: a call that fails (in doubt or refused)
// returns its error, saying Tender sends it again; the request stays
// recorded, and discovery sends it until the provider confirms, then
// stops.
func TestPauseFailedIsSentAgain(t *testing.T) {
	for _, code := range []tender.ErrorCode{tender.EUnavailable, tender.EProvider} {
		t.Run(string(code), func(t *testing.T) {
			w := newWorld(t)
			ps := &pauseScript{cardScript: &cardScript{script: w.conn}}
			e := pauseEngine(w, ps)
			ctx := context.Background()
			first := w.subscription(e)
			ps.pause.Set(func(context.Context, *tender.Op, bool) error {
				return tender.Errorf(code, "the provider failed")
			})
			p, err := e.PauseSubscription(ctx, first.ID)
			if tender.ErrorCodeOf(err) != code || !strings.Contains(tender.ErrorMessageOf(err), "sends it again") {
				t.Fatalf("pause failing: %v, want %s saying it is sent again", err, code)
			}
			if p == nil || !p.Subscription.Paused || !w.get(first.ID).Subscription.Paused {
				t.Fatalf("the request is not kept: %+v", p)
			}
			if types, _ := w.pauseEvents(first.ID); len(types) != 1 {
				t.Fatalf("events after the failure %v, want the request alone", types)
			}
			if err := e.DiscoverInstalments(ctx); err != nil {
				t.Fatal(err)
			}
			if _, n := ps.state(); n != 2 {
				t.Fatalf("discovery sent %d calls in all, want 2", n)
			}
			ps.pause.Set(nil)
			if err := e.DiscoverInstalments(ctx); err != nil {
				t.Fatal(err)
			}
			if g, n := ps.state(); !isState(g, true) || n != 3 {
				t.Fatalf("gateway %v after %d sends, want paused after 3", g, n)
			}
			if types, _ := w.pauseEvents(first.ID); len(types) != 2 || types[1] != EvSubscriptionPaused {
				t.Fatalf("events %v", types)
			}
			if err := e.DiscoverInstalments(ctx); err != nil {
				t.Fatal(err)
			}
			if _, n := ps.state(); n != 3 {
				t.Errorf("discovery went on sending a confirmed pause (%d sends)", n)
			}
		})
	}
}

// TestPauseRaceEndsAtTheLatest: a pause on one instance and a resume on
// another cross; the pause's call reaches the provider last. The
// provider still ends resumed, the latest request: the instance that
// paused sends the resume after its answer; and when that answer is lost
// instead (the instance dies), discovery sends the resume once no call of
// the pause can land after it, then stops.
func TestPauseRaceEndsAtTheLatest(t *testing.T) {
	for _, lost := range []bool{false, true} {
		name := "answered"
		if lost {
			name = "pause answer lost"
		}
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			ps := &pauseScript{cardScript: &cardScript{script: w.conn}}
			a, b := pauseEngine(w, ps), pauseEngine(w, ps)
			ctx := context.Background()
			first := w.subscription(a)
			entered, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			ps.pause.Set(func(_ context.Context, _ *tender.Op, paused bool) error {
				if paused {
					first := false
					once.Do(func() { first = true })
					if first {
						close(entered)
						<-release // in flight while the resume is made
						ps.land(true)
						if lost {
							return tender.Errorf(tender.EUnavailable, "answer lost")
						}
						return nil
					}
				}
				ps.land(paused)
				return nil
			})
			done := make(chan error, 1)
			go func() {
				_, err := a.PauseSubscription(ctx, first.ID)
				done <- err
			}()
			<-entered
			p, err := b.ResumeSubscription(ctx, first.ID)
			if err != nil || p.Subscription.Paused {
				t.Fatalf("resume: %+v, %v", p, err)
			}
			close(release)
			err = <-done
			if lost && tender.ErrorCodeOf(err) != tender.EUnavailable || !lost && err != nil {
				t.Fatalf("pause: %v", err)
			}
			g, _ := ps.state()
			if !lost && !isState(g, false) {
				t.Fatalf("the provider ends paused (%v); the latest request is the resume", g)
			}
			if w.get(first.ID).Subscription.Paused {
				t.Fatal("the payment says paused; the latest request is the resume")
			}
			// Discovery soon after: the calls may still be landing.
			if err := a.DiscoverInstalments(ctx); err != nil {
				t.Fatal(err)
			}
			w.clock.Advance(a.guard() + time.Second)
			for range 2 {
				if err := b.DiscoverInstalments(ctx); err != nil {
					t.Fatal(err)
				}
			}
			g, n := ps.state()
			if !isState(g, false) {
				t.Fatalf("after discovery the provider is paused; the latest request is the resume")
			}
			types, _ := w.pauseEvents(first.ID)
			if !has(types, EvSubscriptionPauseResent) || countEvents(types, EvSubscriptionResumed) != 1 || has(types, EvSubscriptionPaused) {
				t.Errorf("events %v", types)
			}
			if err := a.DiscoverInstalments(ctx); err != nil {
				t.Fatal(err)
			}
			if _, m := ps.state(); m != n {
				t.Errorf("discovery sent a settled request again (%d → %d sends)", n, m)
			}
		})
	}
}

// TestPausedSubscriptionChargesDiscovered: the charges of a paused
// subscription are still found and recorded.
func TestPausedSubscriptionChargesDiscovered(t *testing.T) {
	w := newWorld(t)
	ps := &pauseScript{cardScript: &cardScript{script: w.conn}}
	e := pauseEngine(w, ps)
	ctx := context.Background()
	first := w.subscription(e)
	if _, err := e.PauseSubscription(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	ps.mu.Lock()
	ps.charges = []tender.Instalment{{ProviderReference: "sub-2", Number: 2, Amount: 999, Status: tender.StatusCaptured}}
	ps.mu.Unlock()
	if err := e.DiscoverInstalments(ctx); err != nil {
		t.Fatal(err)
	}
	list, _, err := e.ListPayments(ctx, tender.PaymentFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range list {
		if s := p.Subscription; s != nil && s.Parent == first.ID && s.Number == 2 && p.Status == tender.StatusCaptured {
			found = !s.Paused
		}
	}
	if !found {
		t.Fatal("the charge made before the pause took effect was not recorded")
	}
}

// TestPauseRefused: only the first payment of a subscription that is
// followed may be paused; another merchant's payment is not found; a
// connector that cannot pause says so. Nothing is sent or recorded.
func TestPauseRefused(t *testing.T) {
	w := newWorld(t)
	ps := &pauseScript{cardScript: &cardScript{script: w.conn}}
	e := pauseEngine(w, ps)
	ctx := context.Background()
	first := w.subscription(e)
	ps.mu.Lock()
	ps.charges = []tender.Instalment{{ProviderReference: "sub-2", Number: 2, Amount: 999, Status: tender.StatusCaptured}}
	ps.mu.Unlock()
	if err := e.DiscoverInstalments(ctx); err != nil {
		t.Fatal(err)
	}
	var charge string
	list, _, _ := e.ListPayments(ctx, tender.PaymentFilter{Limit: 100})
	for _, p := range list {
		if p.Subscription != nil && p.Subscription.Parent == first.ID {
			charge = p.ID
		}
	}
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, ProviderReference: "plain"}, nil
	})
	plain, err := e.CreatePayment(ctx, PaymentRequest{Amount: 100, Currency: "EUR", Connector: "script"}, randomOperationID())
	if err != nil || charge == "" {
		t.Fatal(err, charge)
	}
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusRequiresAction, NextAction: &tender.NextAction{Type: "redirect", URL: "https://x.test"}}, nil
	})
	open, err := e.CreatePayment(ctx, PaymentRequest{Amount: 999, Currency: "EUR", Connector: "script", CardRequest: CardRequest{
		Customer: "cust", SetupFutureUsage: tender.SetupOffSession,
		Subscription: &tender.Subscription{Type: "recurring", Unit: "month", Frequency: 1}}}, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	ended := w.subscription(e)
	ps.mu.Lock()
	ps.charges, ps.ended = nil, true
	ps.mu.Unlock()
	if err := e.DiscoverInstalments(ctx); err != nil {
		t.Fatal(err)
	}
	if !subscriptionEnded(w.get(ended.ID)) {
		t.Fatal("the subscription did not end")
	}
	live := w.subscription(e) // made after the schedules ended
	other := tender.WithMerchant(ctx, "mer_other")
	plainEngine := cardEngine(w, &cardScript{script: w.conn})
	for _, c := range []struct {
		name string
		e    *Engine
		ctx  context.Context
		id   string
		code tender.ErrorCode
		says string
	}{
		{"no subscription", e, ctx, plain.ID, tender.EConflict, "no subscription"},
		{"a charge of the schedule", e, ctx, charge, tender.EConflict, first.ID},
		{"not started", e, ctx, open.ID, tender.EConflict, "not started"},
		{"ended", e, ctx, ended.ID, tender.EConflict, "ended"},
		{"another merchant's", e, other, first.ID, tender.ENotFound, ""},
		{"connector cannot pause", plainEngine, ctx, live.ID, tender.ENotSupported, "cannot pause"},
		{"no such payment", e, ctx, "pay_nope", tender.ENotFound, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(w.eventTypes(c.id))
			_, err := c.e.PauseSubscription(c.ctx, c.id)
			if tender.ErrorCodeOf(err) != c.code || !strings.Contains(tender.ErrorMessageOf(err), c.says) {
				t.Errorf("pause: %v, want %s naming %q", err, c.code, c.says)
			}
			if after := len(w.eventTypes(c.id)); after != before {
				t.Errorf("a refused pause wrote %d events", after-before)
			}
		})
	}
	if _, n := ps.state(); n != 0 {
		t.Errorf("%d pause calls for refused requests", n)
	}
}

// TestReadPauses: the ledger of requests and confirmations. A request
// after a settled one of the other state, well after it, is settled by
// its first confirmation; one made while the other state's calls may
// still land needs a send made after they all ended.
func TestReadPauses(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	guard := 20 * time.Second
	ev := func(typ string, at time.Duration, data any) tender.Event {
		b, _ := json.Marshal(data)
		return tender.Event{Type: typ, Data: b, CreatedAt: t0.Add(at)}
	}
	req := func(at time.Duration, seq int, paused bool) tender.Event {
		return ev(EvSubscriptionPauseRequested, at, pauseRequest{Paused: paused, Seq: seq})
	}
	conf := func(typ string, at time.Duration, seq int, sent time.Duration) tender.Event {
		return ev(typ, at, pauseSent{Seq: seq, SentAt: t0.Add(sent)})
	}
	for _, c := range []struct {
		name                    string
		events                  []tender.Event
		has, confirmed, settled bool
		seq                     int
		paused                  bool
	}{
		{"none", nil, false, false, false, 0, false},
		{"requested", []tender.Event{req(0, 1, true)}, true, false, false, 1, true},
		{"confirmed", []tender.Event{req(0, 1, true), conf(EvSubscriptionPaused, time.Second, 1, 0)}, true, true, true, 1, true},
		{"resumed a day later", []tender.Event{req(0, 1, true), conf(EvSubscriptionPaused, time.Second, 1, 0),
			req(24*time.Hour, 2, false), conf(EvSubscriptionResumed, 24*time.Hour+time.Second, 2, 24*time.Hour)}, true, true, true, 2, false},
		{"crossed", []tender.Event{req(0, 1, true), req(time.Second, 2, false), conf(EvSubscriptionResumed, 2*time.Second, 2, time.Second)},
			true, true, false, 2, false},
		{"crossed, sent again after the guard", []tender.Event{req(0, 1, true), req(time.Second, 2, false), conf(EvSubscriptionResumed, 2*time.Second, 2, time.Second),
			conf(EvSubscriptionPauseResent, time.Minute, 2, time.Minute-time.Second)}, true, true, true, 2, false},
		{"resumed soon after a confirmed pause", []tender.Event{req(0, 1, true), conf(EvSubscriptionPaused, time.Second, 1, 0),
			req(5*time.Second, 2, false), conf(EvSubscriptionResumed, 6*time.Second, 2, 5*time.Second)}, true, true, false, 2, false},
		{"paused twice", []tender.Event{req(0, 1, true), req(time.Second, 2, true), conf(EvSubscriptionPaused, 2*time.Second, 2, time.Second)},
			true, true, true, 2, true},
		{"older confirmation", []tender.Event{req(0, 1, true), conf(EvSubscriptionPaused, time.Second, 1, 0), req(time.Hour, 2, false)},
			true, false, false, 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := readPauses(c.events, guard)
			if l.has != c.has || l.confirmed != c.confirmed || l.settled != c.settled || l.seq != c.seq || l.paused != c.paused {
				t.Errorf("got %+v", l)
			}
		})
	}
}
