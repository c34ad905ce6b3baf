package engine

import (
	"context"
	"sync"
	"testing"

	"github.com/tenderpay/tender"
)

// cardScript is the script connector that saves cards and whose provider
// runs subscriptions.
type cardScript struct {
	*script
	mu      sync.Mutex
	charges []tender.Instalment
	ended   bool
	asked   int
}

func (c *cardScript) SavesCards() bool { return true }

func (c *cardScript) Instalments(ctx context.Context, op *tender.Op) ([]tender.Instalment, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked++
	return append([]tender.Instalment(nil), c.charges...), c.ended, nil
}

func cardEngine(w *world, c *cardScript) *Engine {
	w.t.Helper()
	e := w.engine(faultSchedule)
	e.connectors = map[string]tender.Connector{"script": c}
	return e
}

// savedStart is a provider start that captures and stores the card.
func savedStart(ref string) func(context.Context, *tender.Op) (tender.Update, error) {
	return func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, ProviderReference: ref,
			SavedCard: &tender.SavedCard{ProviderReference: ref, Brand: "VISA", MaskedPAN: "411111######1111"}}, nil
	}
}

// TestCardFieldsAreValidated: bad card fields are refused with the field
// named, before anything is stored or sent.
func TestCardFieldsAreValidated(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule) // the plain script connector saves no cards
	ce := cardEngine(w, &cardScript{script: w.conn})
	sub := func(s tender.Subscription) *tender.Subscription { return &s }
	good := tender.Subscription{Type: "recurring", Unit: "month", Frequency: 1, FinalNumber: 12}
	for _, c := range []struct {
		name  string
		e     *Engine
		r     PaymentRequest
		param string
	}{
		{"save without customer", ce, PaymentRequest{Amount: 100, Currency: "EUR", Connector: "script", CardRequest: CardRequest{SetupFutureUsage: "off_session"}}, "customer"},
		{"other usage", ce, PaymentRequest{Amount: 100, Currency: "EUR", Connector: "script", CardRequest: CardRequest{Customer: "c", SetupFutureUsage: "on_session"}}, "setup_future_usage"},
		{"zero without saving", ce, PaymentRequest{Amount: 0, Currency: "EUR", Connector: "script"}, "amount"},
		{"save on a terminal", ce, PaymentRequest{Amount: 100, Currency: "EUR", Terminal: "till", CardRequest: CardRequest{Customer: "c", SetupFutureUsage: "off_session"}}, "setup_future_usage"},
		{"off session without method", ce, PaymentRequest{Amount: 100, Currency: "EUR", Connector: "script", CardRequest: CardRequest{OffSession: true}}, "payment_method"},
		{"method without off session", ce, PaymentRequest{Amount: 100, Currency: "EUR", CardRequest: CardRequest{PaymentMethod: "pm_x"}}, "off_session"},
		{"unknown method", ce, PaymentRequest{Amount: 100, Currency: "EUR", CardRequest: CardRequest{PaymentMethod: "pm_x", OffSession: true}}, "payment_method"},
		{"subscription without saving", ce, PaymentRequest{Amount: 100, Currency: "EUR", Connector: "script", CardRequest: CardRequest{Customer: "c", Subscription: sub(good)}}, "subscription"},
		{"subscription unit", ce, PaymentRequest{Amount: 100, Currency: "EUR", Connector: "script", CardRequest: CardRequest{Customer: "c", SetupFutureUsage: "off_session",
			Subscription: sub(tender.Subscription{Type: "recurring", Unit: "week", Frequency: 1})}}, "subscription.unit"},
		{"subscription frequency", ce, PaymentRequest{Amount: 100, Currency: "EUR", Connector: "script", CardRequest: CardRequest{Customer: "c", SetupFutureUsage: "off_session",
			Subscription: sub(tender.Subscription{Type: "installment", Unit: "day", Frequency: 0})}}, "subscription.frequency"},
		{"subscription date", ce, PaymentRequest{Amount: 100, Currency: "EUR", Connector: "script", CardRequest: CardRequest{Customer: "c", SetupFutureUsage: "off_session",
			Subscription: sub(tender.Subscription{Type: "recurring", Unit: "day", Frequency: 7, BeginDate: "2026-13-01"})}}, "subscription.begin_date"},
		{"connector saves no cards", e, PaymentRequest{Amount: 100, Currency: "EUR", Connector: "script", CardRequest: CardRequest{Customer: "c", SetupFutureUsage: "off_session"}}, "setup_future_usage"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.e.CreatePayment(context.Background(), c.r, randomOperationID())
			te := tender.AsError(err)
			if p != nil || te == nil || te.Code != tender.EInvalid || te.Param != c.param {
				t.Fatalf("got %v, %v; want invalid %s", p, err, c.param)
			}
		})
	}
	if n := w.conn.count("start"); n != 0 {
		t.Errorf("%d starts for refused requests", n)
	}
}

// TestSavedCardIsChargedOffSession: a succeeded saving payment saves its
// card (once, whatever applies the answer again); an off-session charge
// carries the card's reference to the connector; a detached card, another
// customer's or another merchant's is refused.
func TestSavedCardIsChargedOffSession(t *testing.T) {
	w := newWorld(t)
	e := cardEngine(w, &cardScript{script: w.conn})
	ctx := context.Background()
	w.conn.start.Set(savedStart("ref-1"))
	p, err := e.CreatePayment(ctx, PaymentRequest{Amount: 1500, Currency: "EUR", Connector: "script",
		CardRequest: CardRequest{Customer: "cust", SetupFutureUsage: tender.SetupOffSession}}, randomOperationID())
	if err != nil || p.Status != tender.StatusCaptured || p.PaymentMethod == "" {
		t.Fatalf("saving payment: %+v, %v", p, err)
	}
	m, err := e.GetPaymentMethod(ctx, p.PaymentMethod)
	if err != nil || m.ProviderReference != "ref-1" || m.Customer != "cust" || m.Payment != p.ID || m.MaskedPAN != "411111######1111" {
		t.Fatalf("saved method: %+v, %v", m, err)
	}
	// The same answer applied again (a check, another instance) saves
	// nothing more.
	if _, err := e.mutate(ctx, p.ID, func(q *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		return e.applyVerified(q, tender.Update{Status: tender.StatusCaptured, SavedCard: &tender.SavedCard{ProviderReference: "ref-2"}}, "check"), true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if list, _, _ := e.ListPaymentMethods(ctx, tender.PaymentMethodFilter{Customer: "cust"}); len(list) != 1 {
		t.Fatalf("%d methods after the answer came twice", len(list))
	}

	var sent string
	w.conn.start.Set(func(_ context.Context, op *tender.Op) (tender.Update, error) {
		sent = op.Payment.PaymentMethodReference
		if !op.Payment.OffSession {
			t.Error("the charge reached the connector without off_session")
		}
		return tender.Update{Status: tender.StatusCaptured, ProviderReference: "ref-3"}, nil
	})
	c, err := e.CreatePayment(ctx, PaymentRequest{Amount: 2500, Currency: "EUR", CardRequest: CardRequest{PaymentMethod: m.ID, OffSession: true}}, randomOperationID())
	if err != nil || c.Status != tender.StatusCaptured || c.Connector != "script" || c.Account != "acct" || c.Customer != "cust" || sent != "ref-1" {
		t.Fatalf("off-session charge: %+v, %v (sent %q)", c, err, sent)
	}
	for name, r := range map[string]PaymentRequest{
		"another customer": {Amount: 100, Currency: "EUR", CardRequest: CardRequest{Customer: "someone", PaymentMethod: m.ID, OffSession: true}},
	} {
		if _, err := e.CreatePayment(ctx, r, randomOperationID()); tender.ErrorCodeOf(err) != tender.EInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	other := tender.WithMerchant(ctx, "mer_other")
	if _, err := e.CreatePayment(other, PaymentRequest{Amount: 100, Currency: "EUR", CardRequest: CardRequest{PaymentMethod: m.ID, OffSession: true}}, randomOperationID()); tender.AsError(err) == nil || tender.AsError(err).Param != "payment_method" {
		t.Errorf("another merchant charging the method: %v, want invalid payment_method", err)
	}
	if _, err := e.GetPaymentMethod(other, m.ID); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Errorf("another merchant reading the method: %v, want not found", err)
	}
	if _, err := e.DetachPaymentMethod(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreatePayment(ctx, PaymentRequest{Amount: 100, Currency: "EUR", CardRequest: CardRequest{PaymentMethod: m.ID, OffSession: true}}, randomOperationID()); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Errorf("charge of a detached method: %v, want invalid", err)
	}
}

// TestInstalmentsDiscoveredOnce: two instances discovering the provider's
// subscription charges at once record each once, through the state
// machine, and stop following the subscription when it has ended.
func TestInstalmentsDiscoveredOnce(t *testing.T) {
	w := newWorld(t)
	cs := &cardScript{script: w.conn}
	a, b := cardEngine(w, cs), cardEngine(w, cs)
	ctx := context.Background()
	w.conn.start.Set(savedStart("ref-1"))
	first, err := a.CreatePayment(ctx, PaymentRequest{Amount: 999, Currency: "EUR", Connector: "script", CardRequest: CardRequest{
		Customer: "cust", SetupFutureUsage: tender.SetupOffSession,
		Subscription: &tender.Subscription{Type: "recurring", Unit: "month", Frequency: 1, FinalNumber: 3}}}, randomOperationID())
	if err != nil || first.Subscription == nil || !first.Subscription.Active || first.Subscription.Number != 1 {
		t.Fatalf("first payment: %+v, %v", first, err)
	}
	cs.charges = []tender.Instalment{
		{ProviderReference: "sub-2", Number: 2, Amount: 999, Status: tender.StatusCaptured},
		{ProviderReference: "sub-3", Number: 3, Amount: 999, Status: tender.StatusFailed, Failure: &tender.Failure{Code: tender.FailDeclined, Message: "declined"}},
	}
	cs.ended = true
	var wg sync.WaitGroup
	for _, e := range []*Engine{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.DiscoverInstalments(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	list, _, err := a.ListPayments(ctx, tender.PaymentFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]*tender.Payment{}
	for _, p := range list {
		if p.Subscription != nil && p.Subscription.Parent == first.ID {
			if got[p.Subscription.Number] != nil {
				t.Errorf("charge %d recorded twice", p.Subscription.Number)
			}
			got[p.Subscription.Number] = p
		}
	}
	if len(got) != 2 || got[2].Status != tender.StatusCaptured || got[2].CapturedAmount != 999 || got[3].Status != tender.StatusFailed || got[3].CapturedAmount != 0 {
		t.Fatalf("recorded charges %+v", got)
	}
	if types := w.eventTypes(got[2].ID); len(types) != 2 || types[0] != EvCreated || types[1] != "payment.captured" {
		t.Errorf("charge events %v", types)
	}
	if f := w.get(first.ID); f.Subscription.Active || !has(w.eventTypes(first.ID), EvSubscriptionEnded) {
		t.Errorf("ended subscription still followed: %+v", f.Subscription)
	}
	asked := cs.asked
	if err := a.DiscoverInstalments(ctx); err != nil || cs.asked != asked {
		t.Errorf("an ended subscription was asked about again (%d → %d), %v", asked, cs.asked, err)
	}
}
