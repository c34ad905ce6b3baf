package engine

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/tenderpay/tender"
)

// PaymentRequest is a request to take a payment.
type PaymentRequest struct {
	Amount      int64
	Currency    string
	Connector   string // may be empty when Terminal is set
	Account     string // empty: the connector's default account
	Terminal    string
	Reference   string
	Description string
	ReturnURL   string
	Capture     tender.CaptureMode // empty: automatic
	Metadata    map[string]string
	// Input is provider-specific input (e.g. the Greek invoice), validated
	// by the connector.
	Input json.RawMessage

	CardRequest // saving a card, charging a saved one (methods.go)
	// Locale is the shopper's language (see tender.Payment.Locale).
	Locale string
}

// Limits on free-form fields.
const (
	maxReference   = 128
	maxDescription = 1000
	maxURL         = 2048
	maxMetaKeys    = 50
	maxMetaKey     = 40
	maxMetaValue   = 500
)

func validateText(param, s string, max int) error {
	if !utf8.ValidString(s) {
		return tender.Invalid(param, "%s must be valid UTF-8", param)
	}
	if utf8.RuneCountInString(s) > max {
		return tender.Invalid(param, "%s must be at most %d characters", param, max)
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return tender.Invalid(param, "%s must not contain control characters", param)
		}
	}
	return nil
}

func (r *PaymentRequest) validate() error {
	if r.Amount < 0 || r.Amount == 0 && !r.verifyOnly() {
		return tender.Invalid("amount", "amount must be a positive integer in minor units (e.g. 1050 for 10.50)")
	}
	if r.Amount > tender.MaxAmount {
		return tender.Invalid("amount", "amount is too large")
	}
	if r.Currency == "" {
		return tender.Invalid("currency", "currency is required (ISO 4217, e.g. EUR)")
	}
	if !tender.ValidCurrency(r.Currency) {
		return tender.Invalid("currency", "currency %q is not an upper-case ISO 4217 code Tender knows", r.Currency)
	}
	if r.Connector == "" && r.Terminal == "" && r.PaymentMethod == "" {
		return tender.Invalid("connector", "connector is required unless a terminal or payment_method is given")
	}
	if err := validateText("reference", r.Reference, maxReference); err != nil {
		return err
	}
	if err := validateText("description", r.Description, maxDescription); err != nil {
		return err
	}
	if r.ReturnURL != "" {
		u, err := url.Parse(r.ReturnURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(r.ReturnURL) > maxURL {
			return tender.Invalid("return_url", "return_url must be an absolute http or https URL of at most %d characters", maxURL)
		}
	}
	switch r.Capture {
	case "":
		r.Capture = tender.CaptureAutomatic
	case tender.CaptureAutomatic, tender.CaptureManual:
	default:
		return tender.Invalid("capture", "capture must be \"automatic\" or \"manual\"")
	}
	if len(r.Metadata) > maxMetaKeys {
		return tender.Invalid("metadata", "metadata may have at most %d keys", maxMetaKeys)
	}
	for k, v := range r.Metadata {
		if k == "" || utf8.RuneCountInString(k) > maxMetaKey {
			return tender.Invalid("metadata", "metadata keys must be 1 to %d characters", maxMetaKey)
		}
		if err := validateText("metadata."+k, v, maxMetaValue); err != nil {
			return err
		}
	}
	return nil
}

// CreatePayment validates the request, stores the payment and starts it at
// the provider. opID identifies the API request (see Op.ID).
//
// When the provider certainly did nothing, the payment is stored as failed
// and the returned error says why; the payment is returned too. When the
// outcome is not known, the payment is unknown and no error is returned:
// reconciliation finds out.
func (e *Engine) CreatePayment(ctx context.Context, r PaymentRequest, opID string) (*tender.Payment, error) {
	for attempt := 0; ; attempt++ {
		p, err := e.createPayment(ctx, r, opID, attempt == 0)
		if err == errAccountChanged {
			// The account kept in memory, or read, changed before the
			// insert: nothing was stored; read it again.
			e.memo.forgetAccounts()
			if attempt < 3 {
				continue
			}
			err = tender.ErrStale
		}
		return p, err
	}
}

// errAccountChanged is createPayment's when the store refused the payment
// because its account changed since it was read (tender.CreateChecks).
var errAccountChanged = errors.New("the account changed")

// createPayment is CreatePayment; kept lets it use an account kept in
// memory (see createAccount).
func (e *Engine) createPayment(ctx context.Context, r PaymentRequest, opID string, kept bool) (*tender.Payment, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	locale, err := paymentLocale(r)
	if err != nil {
		return nil, err
	}
	merchant := tender.MerchantFrom(ctx)
	var term *tender.Terminal
	if r.Terminal != "" {
		t, err := e.loadTerminal(ctx, r.Terminal)
		if err == nil && t.Merchant != merchant {
			err = notFound("terminal", r.Terminal)
		}
		if err != nil {
			if tender.ErrorCodeOf(err) == tender.ENotFound {
				return nil, tender.Invalid("terminal", "terminal %q does not exist", r.Terminal)
			}
			return nil, err
		}
		if r.Connector != "" && r.Connector != t.Connector {
			return nil, tender.Invalid("connector", "terminal %q belongs to connector %q, not %q", t.ID, t.Connector, r.Connector)
		}
		if r.Account != "" && r.Account != t.Account {
			return nil, tender.Invalid("account", "terminal %q uses account %q, not %q", t.ID, t.Account, r.Account)
		}
		r.Connector, r.Account, term = t.Connector, t.Account, t
	}
	if err := e.resolveMethod(ctx, &r); err != nil {
		return nil, err
	}
	c, err := e.connector(r.Connector)
	if err != nil {
		return nil, err
	}
	// With a key to reserve in the insert, on a store that is read over
	// the network (it has notices: see memo), the insert also checks what
	// would be read before it: the account (it may then come from memory)
	// and that no payment of the operation exists.
	claim := claimFrom(ctx)
	folded := claim != nil && opID != "" && e.memo != nil
	var acct *tender.Account
	var chk tender.CreateChecks
	if folded {
		acct, chk, err = e.createAccount(ctx, r.Connector, r.Account, kept)
	} else {
		acct, err = e.resolveAccount(ctx, r.Connector, r.Account)
	}
	if err != nil {
		return nil, err
	}
	now := e.clock.Now().UTC()
	p := &tender.Payment{
		ID:          tender.NewID("pay"),
		Merchant:    acct.Merchant,
		Amount:      r.Amount,
		Currency:    r.Currency,
		Status:      tender.StatusPending,
		Connector:   r.Connector,
		Account:     acct.ID,
		Reference:   r.Reference,
		Description: r.Description,
		ReturnURL:   r.ReturnURL,
		CaptureMode: r.Capture,
		Metadata:    r.Metadata,
		Input:       r.Input,
		OperationID: opID,
		Locale:      locale,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if term != nil {
		p.Terminal = term.ID
	}
	if err := r.CardRequest.apply(c, p); err != nil {
		return nil, err
	}
	if err := c.ValidatePayment(p, acct, term); err != nil {
		return nil, err
	}

	if opID != "" && !folded {
		// A retry of a request that already made its payment (its answer
		// was lost, its key released or expired, its process died): the
		// key answers with that payment, never a second one.
		found, err := e.store.PaymentByOperation(ctx, opID)
		if err == nil && found.Merchant != merchant {
			// Operation ids derive from the merchant and API key; a
			// payment of another merchant with this one is not this
			// request's.
			err = notFound("payment of operation", opID)
		}
		if err == nil {
			return e.retried(ctx, found, p)
		}
		if tender.ErrorCodeOf(err) != tender.ENotFound {
			return nil, err
		}
	}

	unlock := func() {}
	if term != nil {
		// One open payment per terminal: a second one would queue behind
		// the first at best, or be charged on the wrong card at worst. The
		// store refuses it across instances; this lock spares the store
		// the contention within one.
		unlock = e.locks.Lock("terminal:" + term.ID)
	}
	defer func() { unlock() }()

	// Stored with a check due after the start call could have ended: if
	// this process dies before the provider's answer is stored, the
	// reconciler finds the payment and asks the provider about it.
	p.NextCheckAt = now.Add(e.guard())
	created := e.newEvent(EvCreated, map[string]any{
		"amount": p.Amount, "currency": p.Currency, "connector": p.Connector, "account": p.Account, "terminal": p.Terminal,
	})
	if claim != nil && opID != "" {
		// The Idempotency-Key is stored with the payment (IdempotentCreate).
		existing, err := e.store.CreatePaymentReserving(ctx, claim.rec, chk, p, created)
		switch {
		case err == tender.ErrStale && chk.AccountSealed != nil:
			return nil, errAccountChanged
		case err == tender.ErrOperationExists:
			// The retry of a request whose payment is stored (see above).
			unlock()
			unlock = func() {}
			found, err := e.store.PaymentByOperation(ctx, opID)
			if err != nil {
				return nil, err
			}
			return e.retried(ctx, found, p)
		case err != nil:
			return nil, err
		}
		if existing != nil {
			claim.mu.Lock()
			claim.existing = existing
			claim.mu.Unlock()
			return nil, errKeyTaken
		}
		claim.move(claimFree, claimReserved)
	} else {
		claim = nil
		if err := e.store.CreatePayment(ctx, p, created); err != nil {
			return nil, err
		}
	}
	e.metrics.transition(p.Connector, string(tender.StatusPending))
	e.terminalChanged(p)

	// The start runs apart from the caller: a POS that hangs up, or a
	// create that answers before the provider did, changes nothing of it.
	type started struct {
		p   *tender.Payment
		err error
	}
	done := make(chan started, 1)
	sctx := context.WithoutCancel(ctx)
	stored := clonePayment(p)
	go func() {
		p, err := e.start(sctx, c, stored, []tender.Event{created}, acct, term, opID, claim)
		done <- started{p, err}
	}()
	timer := time.NewTimer(e.sched.StartTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.p, r.err
	case <-timer.C:
	}
	if claim != nil && !claim.move(claimReserved, claimLate) {
		// The start's answer is being stored with the response: it is
		// as good as here.
		r := <-done
		return r.p, r.err
	}
	// The provider has not answered yet: the payment is in doubt until it
	// does (the start goes on, and a check follows after the guard).
	return e.mutate(sctx, p.ID, func(q *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		if q.Status != tender.StatusPending {
			return nil, false, nil // answered meanwhile
		}
		guard := q.NextCheckAt
		events, changed, err := e.applyUpdate(q, tender.Update{Status: tender.StatusUnknown,
			Note: "the provider has not answered the start within " + e.sched.StartTimeout.String() + "; waiting for it"}, "start")
		q.NextCheckAt = guard
		return events, changed, err
	})
}

// retried answers the retry of a create whose operation made payment
// found already: with that payment, as it is now, if it is the one p
// asks for.
func (e *Engine) retried(ctx context.Context, found, p *tender.Payment) (*tender.Payment, error) {
	if found.Amount != p.Amount || found.Currency != p.Currency || found.Terminal != p.Terminal || found.Connector != p.Connector {
		return nil, ErrIdempotencyMismatch
	}
	if found.Status == tender.StatusPending {
		// Its start's answer was never stored (the process that sent it
		// died): ask the provider now rather than after the guard, so the
		// retry answers with what the payment became (a checkout to show,
		// a terminal at work).
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.sched.StartTimeout)
		q, err := e.Check(cctx, found.ID)
		cancel()
		if err == nil && q != nil {
			found = q
		}
	}
	return found, nil
}

// start sends a stored payment to its provider and records the answer.
// p is the payment as stored, with its events; claim, if not nil, is the
// create's Idempotency-Key, answered with the start's answer if the create
// still waits for it.
func (e *Engine) start(ctx context.Context, c tender.Connector, p *tender.Payment, past []tender.Event, acct *tender.Account, term *tender.Terminal, opID string, claim *keyClaim) (*tender.Payment, error) {
	op := e.op(p, acct, term, 0, opID)
	op.Locale = e.opLocale(ctx, p)
	pctx, cancel := e.providerContext(ctx)
	start := time.Now()
	u, startErr := c.Start(pctx, op)
	cancel()
	e.metrics.providerCall(p.Connector, "start", startErr, time.Since(start))
	e.terminalSeen(p, startErr)

	var reply error
	switch {
	case startErr == nil && u.Status == "":
		u = tender.Update{Status: tender.StatusUnknown, Note: "the provider's answer named no status"}
	case startErr != nil && inDoubt(startErr):
		e.log.Warn("payment start in doubt", "payment", p.ID, "connector", p.Connector, "err", startErr)
		u = tender.Update{Status: tender.StatusUnknown, Note: tender.ErrorMessageOf(startErr),
			State: u.State, Details: u.Details, ProviderReference: u.ProviderReference}
	case startErr != nil:
		e.log.Info("payment start refused", "payment", p.ID, "connector", p.Connector, "err", startErr)
		u = tender.Update{Status: tender.StatusFailed, Failure: failureOf(startErr)}
		reply = startErr
	}
	seen := p.Version
	// What the create answers: the refusal, unless the payment as stored
	// says otherwise (a callback came first).
	replyFor := func(q *tender.Payment) error {
		if reply != nil && q.Status != tender.StatusFailed {
			return nil
		}
		return reply
	}
	stored, err := e.mutateFrom(ctx, p.ID, p, past, e.answerer(claim, replyFor), func(q *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		if q.Version != seen && len(q.State) > 0 {
			u.State = nil // a callback or check came first and knows more
		}
		if u.Status == tender.StatusUnknown && q.Status == tender.StatusPending {
			q.NextCheckAt = time.Time{} // in doubt: asked about on the schedule from now
		}
		// If the payment moved on before the start's answer was stored (a
		// callback won the race), the answer is stale, not an error.
		events := e.applyVerified(q, u, "start")
		return events, true, nil
	})
	if err != nil {
		return nil, err
	}
	return stored, replyFor(stored)
}

// inDoubt reports whether err leaves the outcome of a provider call unknown.
func inDoubt(err error) bool {
	c := tender.ErrorCodeOf(err)
	return c == tender.EUnavailable || c == tender.EInternal
}

// failureOf turns a connector's definite refusal into a payment failure.
func failureOf(err error) *tender.Failure {
	f := &tender.Failure{Code: tender.FailProvider, Message: tender.ErrorMessageOf(err)}
	if te := tender.AsError(err); te != nil {
		f.ProviderCode = te.ProviderCode
		switch te.Code {
		case tender.EDeclined:
			f.Code = tender.FailDeclined
		case tender.ETerminalBusy:
			f.Code = tender.FailTerminalBusy
		case tender.EInvalid:
			f.Code = tender.FailInvalid
		}
	}
	return f
}

func (e *Engine) op(p *tender.Payment, acct *tender.Account, term *tender.Terminal, amount int64, opID string) *tender.Op {
	return &tender.Op{
		Payment:     p,
		Account:     acct,
		Terminal:    term,
		Amount:      amount,
		ID:          opID,
		CallbackURL: e.publicURL + "/callbacks/" + url.PathEscape(p.Connector) + "/" + url.PathEscape(p.Account),
		PageURL:     e.PageURL(p.ID),
	}
}

// PageURL is Tender's page for a payment, where shoppers check out and see
// the result.
func (e *Engine) PageURL(id string) string { return e.publicURL + "/pay/" + url.PathEscape(id) }

// opFor loads what an operation on p needs.
func (e *Engine) opFor(ctx context.Context, p *tender.Payment, amount int64, opID string) (tender.Connector, *tender.Op, error) {
	c, ok := e.connectors[p.Connector]
	if !ok {
		return nil, nil, tender.Errorf(tender.EInternal, "connector %q of payment %s is not configured on this server", p.Connector, p.ID)
	}
	acct, err := e.loadAccount(ctx, p.Account)
	if err != nil {
		return nil, nil, err
	}
	var term *tender.Terminal
	if p.Terminal != "" {
		if term, err = e.loadTerminal(ctx, p.Terminal); err != nil {
			return nil, nil, err
		}
	}
	return c, e.op(p, acct, term, amount, opID), nil
}

// GetPayment returns a payment.
func (e *Engine) GetPayment(ctx context.Context, id string) (*tender.Payment, error) {
	return e.ownPayment(ctx, id)
}

// ownPayment returns the payment with id if it belongs to the merchant ctx
// acts for; another merchant's payment is not found, as a missing one.
func (e *Engine) ownPayment(ctx context.Context, id string) (*tender.Payment, error) {
	p, err := e.store.GetPayment(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Merchant != tender.MerchantFrom(ctx) {
		return nil, notFound("payment", id)
	}
	return p, nil
}

// PagePayment returns a payment for Tender's hosted page, whatever its
// merchant: the page is reached by the payment's id alone (the shopper
// has no API key), as the provider's callbacks are.
func (e *Engine) PagePayment(ctx context.Context, id string) (*tender.Payment, error) {
	return e.store.GetPayment(ctx, id)
}

// WaitPayment returns the payment once its status differs from the one it
// had when the call began, once it is settled, or after wait, whichever is
// first. A POS waiting for a terminal uses it.
func (e *Engine) WaitPayment(ctx context.Context, id string, wait time.Duration) (*tender.Payment, error) {
	p, err := e.ownPayment(ctx, id)
	if err != nil || wait <= 0 || p.Status.Settled() {
		return p, err
	}
	initial := p.Status
	changed, cancel := e.watch.subscribe(id)
	defer cancel()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	// The watchers wake us on a change in this process at once, and on
	// another instance's through the store's change feed; a store without
	// one leaves us to re-read now and then.
	var reread <-chan time.Time
	if e.watch.feed == nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		reread = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return p, nil
		case <-deadline.C:
			// Read once more: an answer at the deadline is as fresh as any.
			if q, err := e.store.GetPayment(ctx, id); err == nil {
				p = q
			}
			return p, nil
		case <-changed:
		case <-reread:
		}
		q, err := e.store.GetPayment(ctx, id)
		if err != nil {
			return p, nil
		}
		p = q
		if p.Status != initial || p.Status.Settled() {
			return p, nil
		}
	}
}

// ListPayments pages through payments, newest first.
func (e *Engine) ListPayments(ctx context.Context, f tender.PaymentFilter) ([]*tender.Payment, bool, error) {
	if f.Limit == 0 {
		f.Limit = 10
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, false, tender.Invalid("limit", "limit must be between 1 and 100")
	}
	if f.Status != "" && !f.Status.Valid() {
		return nil, false, tender.Invalid("status", "status %q is not a payment status", f.Status)
	}
	f.Merchant = tender.MerchantFrom(ctx)
	if f.StartingAfter != "" {
		if _, err := e.ownPayment(ctx, f.StartingAfter); err != nil {
			if tender.ErrorCodeOf(err) == tender.ENotFound {
				return nil, false, tender.Invalid("starting_after", "payment %q does not exist", f.StartingAfter)
			}
			return nil, false, err
		}
	}
	return e.store.ListPayments(ctx, f)
}

// ListEvents returns a payment's events, oldest first.
func (e *Engine) ListEvents(ctx context.Context, id string) ([]tender.Event, error) {
	if _, err := e.ownPayment(ctx, id); err != nil {
		return nil, err
	}
	return e.store.ListEvents(ctx, id)
}
