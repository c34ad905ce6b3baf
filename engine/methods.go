package engine

import (
	"context"
	"sync"
	"time"

	"github.com/tenderpay/tender"
)

// EvSubscriptionEnded is written on a subscription's first payment when
// the provider's schedule has ended. (A charge the provider made on the
// schedule is a payment of its own: payment.created, then its status.)
const EvSubscriptionEnded = "payment.subscription_ended"

// CardRequest are the fields of a payment request that save a card for
// later charges, or charge a saved one without the shopper (off-session).
type CardRequest struct {
	// Customer is the merchant's own reference of the shopper.
	Customer string
	// SetupFutureUsage is tender.SetupOffSession to save the card the
	// shopper pays with (an amount of 0 only verifies and saves it).
	SetupFutureUsage string
	// PaymentMethod is a saved card to charge; OffSession must be set.
	PaymentMethod string
	OffSession    bool
	// Subscription asks the provider to charge the saved card on a
	// schedule of its own, starting with this payment.
	Subscription *tender.Subscription

	method *tender.PaymentMethod // resolved by resolveMethod
}

// CardSaver is implemented by connectors that can save a card at checkout
// and charge it later (Trust Payments' credentials on file).
type CardSaver interface {
	SavesCards() bool
}

// Limits of the card fields.
const (
	maxCustomer    = 128
	maxFrequency   = 999
	maxFinalNumber = 99999
)

// verifyOnly reports whether the request only verifies and saves a card:
// amount 0 with setup_future_usage.
func (r *PaymentRequest) verifyOnly() bool { return r.Amount == 0 && r.SetupFutureUsage != "" }

// resolveMethod checks the card fields and, for a charge of a saved card,
// loads it and takes its connector, account and customer.
func (e *Engine) resolveMethod(ctx context.Context, r *PaymentRequest) error {
	c := &r.CardRequest
	if err := validateText("customer", c.Customer, maxCustomer); err != nil {
		return err
	}
	switch c.SetupFutureUsage {
	case "", tender.SetupOffSession:
	default:
		return tender.Invalid("setup_future_usage", "setup_future_usage must be %q", tender.SetupOffSession)
	}
	if c.SetupFutureUsage != "" {
		if c.Customer == "" {
			return tender.Invalid("customer", "customer (your own reference of the shopper) is required with setup_future_usage")
		}
		if r.Terminal != "" {
			return tender.Invalid("setup_future_usage", "setup_future_usage is for online card payments, not terminals")
		}
		if c.PaymentMethod != "" || c.OffSession {
			return tender.Invalid("setup_future_usage", "setup_future_usage saves the card of a checkout; it cannot be combined with payment_method or off_session")
		}
	}
	if s := c.Subscription; s != nil {
		if err := validateSubscription(s, r); err != nil {
			return err
		}
	}
	if c.OffSession && c.PaymentMethod == "" {
		return tender.Invalid("payment_method", "payment_method is required with off_session")
	}
	if c.PaymentMethod == "" {
		return nil
	}
	if !c.OffSession {
		return tender.Invalid("off_session", "a saved payment_method is charged without the shopper: off_session must be true")
	}
	if r.Terminal != "" {
		return tender.Invalid("terminal", "a saved payment_method is charged online, not on a terminal")
	}
	m, err := e.store.GetPaymentMethod(ctx, c.PaymentMethod)
	if err == nil && m.Merchant != tender.MerchantFrom(ctx) {
		err = notFound("payment method", c.PaymentMethod)
	}
	if err != nil {
		if tender.ErrorCodeOf(err) == tender.ENotFound {
			return tender.Invalid("payment_method", "payment method %q does not exist", c.PaymentMethod)
		}
		return err
	}
	switch {
	case m.Detached():
		return tender.Invalid("payment_method", "payment method %q is detached and can no longer be charged", m.ID)
	case c.Customer != "" && c.Customer != m.Customer:
		return tender.Invalid("customer", "payment method %q belongs to another customer", m.ID)
	case r.Connector != "" && r.Connector != m.Connector:
		return tender.Invalid("connector", "payment method %q was saved with connector %q, not %q", m.ID, m.Connector, r.Connector)
	case r.Account != "" && r.Account != m.Account:
		return tender.Invalid("account", "payment method %q was saved with account %q, not %q", m.ID, m.Account, r.Account)
	}
	r.Connector, r.Account, c.Customer, c.method = m.Connector, m.Account, m.Customer, m
	return nil
}

func validateSubscription(s *tender.Subscription, r *PaymentRequest) error {
	if r.SetupFutureUsage == "" {
		return tender.Invalid("subscription", "a subscription charges the saved card: setup_future_usage must be %q", tender.SetupOffSession)
	}
	if r.Capture == tender.CaptureManual {
		return tender.Invalid("subscription", "a subscription starts with a payment captured automatically")
	}
	switch s.Type {
	case tender.SubscriptionRecurring, tender.SubscriptionInstallment:
	default:
		return tender.Invalid("subscription.type", "subscription.type must be %q or %q", tender.SubscriptionRecurring, tender.SubscriptionInstallment)
	}
	switch s.Unit {
	case tender.UnitDay, tender.UnitMonth:
	default:
		return tender.Invalid("subscription.unit", "subscription.unit must be %q or %q", tender.UnitDay, tender.UnitMonth)
	}
	if s.Frequency < 1 || s.Frequency > maxFrequency {
		return tender.Invalid("subscription.frequency", "subscription.frequency must be between 1 and %d", maxFrequency)
	}
	if s.FinalNumber < 0 || s.FinalNumber > maxFinalNumber {
		return tender.Invalid("subscription.final_number", "subscription.final_number must be between 0 (no end) and %d", maxFinalNumber)
	}
	if s.FinalNumber == 1 {
		return tender.Invalid("subscription.final_number", "subscription.final_number 1 is the first payment alone: no schedule; use 0 (no end) or at least 2")
	}
	if s.BeginDate != "" {
		if _, err := time.Parse(time.DateOnly, s.BeginDate); err != nil {
			return tender.Invalid("subscription.begin_date", "subscription.begin_date must be a date YYYY-MM-DD")
		}
	}
	if s.Parent != "" || s.Number != 0 || s.Active || s.Paused {
		return tender.Invalid("subscription", "subscription takes type, unit, frequency, final_number and begin_date only")
	}
	return nil
}

// apply copies the card fields onto the new payment, once its connector is
// known.
func (c *CardRequest) apply(conn tender.Connector, p *tender.Payment) error {
	used := c.SetupFutureUsage != "" || c.PaymentMethod != ""
	if s, ok := conn.(CardSaver); used && (!ok || !s.SavesCards()) {
		param := "setup_future_usage"
		if c.PaymentMethod != "" {
			param = "payment_method"
		}
		return tender.Invalid(param, "connector %q cannot save cards or charge saved ones", conn.Name())
	}
	p.Customer, p.SetupFutureUsage, p.OffSession = c.Customer, c.SetupFutureUsage, c.OffSession
	if m := c.method; m != nil {
		p.PaymentMethod, p.PaymentMethodReference = m.ID, m.ProviderReference
	}
	if c.Subscription != nil {
		s := *c.Subscription
		s.Number = 1
		p.Subscription = &s
	}
	return nil
}

// saveCard, while an update is applied, saves the card the provider stored
// for a payment with setup_future_usage once it succeeded (stored by
// UpdatePayment in the same transaction), and starts following the
// payment's subscription. It reports whether it changed p.
func (e *Engine) saveCard(p *tender.Payment, u tender.Update) bool {
	if !statusIn(p.Status, moneyMoved) {
		return false
	}
	changed := false
	if sc := u.SavedCard; sc != nil && sc.ProviderReference != "" && p.SetupFutureUsage != "" && p.PaymentMethod == "" {
		m := &tender.PaymentMethod{
			// Derived from the payment: every instance applying the same
			// answer saves the same method, and the store keeps one.
			ID:       tender.DerivedID("pm", p.ID),
			Merchant: p.Merchant, Customer: p.Customer, Connector: p.Connector, Account: p.Account,
			ProviderReference: sc.ProviderReference, Payment: p.ID,
			Brand: sc.Brand, MaskedPAN: sc.MaskedPAN, Expiry: sc.Expiry,
			CreatedAt: e.clock.Now().UTC(),
		}
		p.PaymentMethod, p.SavedMethod = m.ID, m
		changed = true
	}
	if s := p.Subscription; s != nil && s.Parent == "" && !s.Active && u.Status == p.Status && !subscriptionEnded(p) {
		s.Active = true
		changed = true
	}
	return changed
}

// subscriptionEnded reports whether the payment's subscription was
// followed to its end already (it is never followed again).
func subscriptionEnded(p *tender.Payment) bool {
	return p.Details["subscription_ended"] == "true"
}

// GetPaymentMethod returns one of the merchant's payment methods.
func (e *Engine) GetPaymentMethod(ctx context.Context, id string) (*tender.PaymentMethod, error) {
	m, err := e.store.GetPaymentMethod(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.Merchant != tender.MerchantFrom(ctx) {
		return nil, notFound("payment method", id)
	}
	return m, nil
}

// ListPaymentMethods pages through the merchant's payment methods, oldest
// first; detached ones are left out.
func (e *Engine) ListPaymentMethods(ctx context.Context, f tender.PaymentMethodFilter) ([]*tender.PaymentMethod, bool, error) {
	if f.Limit == 0 {
		f.Limit = 10
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, false, tender.Invalid("limit", "limit must be between 1 and 100")
	}
	if err := validateText("customer", f.Customer, maxCustomer); err != nil {
		return nil, false, err
	}
	f.Merchant = tender.MerchantFrom(ctx)
	if f.StartingAfter != "" {
		if _, err := e.GetPaymentMethod(ctx, f.StartingAfter); err != nil {
			if tender.ErrorCodeOf(err) == tender.ENotFound {
				return nil, false, tender.Invalid("starting_after", "payment method %q does not exist", f.StartingAfter)
			}
			return nil, false, err
		}
	}
	return e.store.ListPaymentMethods(ctx, f)
}

// DetachPaymentMethod stops a payment method from being charged again.
// The provider keeps its stored credential (Trust Payments documents no
// call to delete one); Tender refuses every later charge of it.
func (e *Engine) DetachPaymentMethod(ctx context.Context, id string) (*tender.PaymentMethod, error) {
	if _, err := e.GetPaymentMethod(ctx, id); err != nil {
		return nil, err
	}
	if err := e.store.DetachPaymentMethod(ctx, id, e.clock.Now().UTC()); err != nil {
		return nil, err
	}
	return e.store.GetPaymentMethod(ctx, id)
}

// discoverInBackground runs DiscoverInstalments unless one is running.
func (e *Engine) discoverInBackground(ctx context.Context, wg *sync.WaitGroup) {
	if !e.discovering.CompareAndSwap(false, true) {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer e.discovering.Store(false)
		if err := e.DiscoverInstalments(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("reconcile: discover subscription charges", "err", err)
		}
	}()
}

// DiscoverInstalments asks the provider of every subscription Tender
// follows which charges it has made on its schedule, and records each new
// one as a payment of the subscription; it first sends again a pause or
// resume the provider has not confirmed (settlePause). Providers that run subscriptions
// send no notification of these charges, so this periodic discovery is
// how they reach Tender. A charge's payment id derives from the
// provider's reference, so two instances discovering it at once store it
// once.
func (e *Engine) DiscoverInstalments(ctx context.Context) error {
	subs, err := e.store.ActiveSubscriptions(ctx, 100)
	if err != nil {
		return err
	}
	for _, p := range subs {
		if ctx.Err() != nil {
			return nil
		}
		if err := e.discover(ctx, p); err != nil {
			e.log.Warn("subscription charges not discovered", "payment", p.ID, "connector", p.Connector, "err", err)
		}
	}
	return nil
}

func (e *Engine) discover(ctx context.Context, first *tender.Payment) error {
	// A pause or resume not yet confirmed is sent again first; charges
	// are looked for whatever its outcome (a paused schedule's too: one
	// made before the pause took effect must be recorded).
	if err := e.settlePause(ctx, first); err != nil {
		e.log.Warn("subscription pause not sent again", "payment", first.ID, "connector", first.Connector, "err", err)
	}
	c, op, err := e.opFor(ctx, first, 0, "")
	if err != nil {
		return err
	}
	f, ok := c.(tender.SubscriptionFinder)
	if !ok {
		return nil
	}
	pctx, cancel := e.providerContext(ctx)
	charges, ended, err := f.Instalments(pctx, op)
	cancel()
	if err != nil {
		return err
	}
	for _, ch := range charges {
		if err := e.recordInstalment(ctx, first, ch); err != nil {
			return err
		}
	}
	if !ended {
		return nil
	}
	_, err = e.mutate(ctx, first.ID, func(q *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		if q.Subscription == nil || !q.Subscription.Active {
			return nil, false, nil
		}
		q.Subscription.Active = false
		if q.Details == nil {
			q.Details = map[string]string{}
		}
		q.Details["subscription_ended"] = "true"
		return []tender.Event{e.newEvent(EvSubscriptionEnded, map[string]any{"status": q.Status, "charges": len(charges)})}, true, nil
	})
	return err
}

// recordInstalment stores a provider's charge of first's subscription as
// a payment of its own, in the status the provider reports, through the
// state machine (pending → that status) with both events.
func (e *Engine) recordInstalment(ctx context.Context, first *tender.Payment, ch tender.Instalment) error {
	id := tender.DerivedID("pay", first.Connector+"/"+first.Account+"/"+ch.ProviderReference)
	if _, err := e.store.GetPayment(ctx, id); err == nil {
		return nil
	} else if tender.ErrorCodeOf(err) != tender.ENotFound {
		return err
	}
	if err := tender.StatusPending.Transition(ch.Status); err != nil || !ch.Status.Settled() {
		return tender.Errorf(tender.EInternal, "the provider reports charge %s of subscription %s as %q", ch.ProviderReference, first.ID, ch.Status)
	}
	now := e.clock.Now().UTC()
	sub := *first.Subscription
	sub.Parent, sub.Number, sub.Active, sub.Paused = first.ID, ch.Number, false, false
	p := &tender.Payment{
		ID: id, Merchant: first.Merchant, Amount: ch.Amount, Currency: first.Currency, Status: ch.Status,
		Connector: first.Connector, Account: first.Account, Reference: first.Reference, Description: first.Description,
		CaptureMode: tender.CaptureAutomatic, Customer: first.Customer, PaymentMethod: first.PaymentMethod,
		OffSession: true, Subscription: &sub, ProviderReference: ch.ProviderReference,
		Failure: ch.Failure, Details: ch.Details, CreatedAt: now, UpdatedAt: now,
	}
	if ch.Status == tender.StatusCaptured {
		p.CapturedAmount = ch.Amount
	}
	err := e.store.CreatePayment(ctx, p,
		e.newEvent(EvCreated, map[string]any{"amount": p.Amount, "currency": p.Currency, "connector": p.Connector, "account": p.Account,
			"source": "subscription", "subscription": first.ID, "number": ch.Number}),
		e.newEvent(statusEvent(ch.Status), map[string]any{"status": ch.Status, "previous_status": tender.StatusPending, "source": "subscription",
			"provider_reference": ch.ProviderReference}))
	if tender.ErrorCodeOf(err) == tender.EConflict {
		return nil // another instance recorded it first
	}
	if err != nil {
		return err
	}
	e.metrics.transition(p.Connector, string(ch.Status))
	e.watch.notify(p.ID)
	e.kickWebhooks()
	return nil
}
