package engine

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"time"

	"github.com/tenderpay/tender"
)

// CallbackReply is what to answer an inbound provider request.
type CallbackReply struct {
	// RedirectTo, when set, sends a shopper's browser there (Tender's page
	// for the payment).
	RedirectTo  string
	StatusCode  int
	ContentType string
	Body        []byte
	PaymentID   string
}

// HandleCallback authenticates an inbound request from a provider through
// its connector and applies what it proves. A request that fails
// verification changes nothing and is recorded on the payment it names, if
// any, as a rejected callback.
func (e *Engine) HandleCallback(ctx context.Context, connector, account, path string, r *http.Request, body []byte) (*CallbackReply, error) {
	c, ok := e.connectors[connector]
	if !ok {
		return nil, tender.Errorf(tender.ENotFound, "no connector %q", connector)
	}
	// The account may come from memory (see recent): changed on another
	// instance, it is used for the TTL at most after the change
	// committed, and mostly until its notice arrives. A callback it
	// refuses is checked again with the account as stored, if that
	// differs: a provider signing with rotated credentials is never
	// refused for what this instance kept.
	acct, kept, err := e.openedAccount(ctx, account)
	if err != nil {
		return nil, err
	}
	if acct.Connector != connector {
		return nil, tender.Errorf(tender.ENotFound, "account %q is not a %s account", account, connector)
	}
	res, found, err := e.verifyCallback(ctx, c, acct, path, r, body)
	if err != nil && kept {
		if stored, serr := e.loadAccount(ctx, account); serr == nil && changedAccount(acct, stored) {
			e.opened.changed(account)
			acct = stored
			if acct.Connector != connector {
				return nil, tender.Errorf(tender.ENotFound, "account %q is not a %s account", account, connector)
			}
			res, found, err = e.verifyCallback(ctx, c, acct, path, r, body)
		}
	}
	e.metrics.callback(connector, err)
	if err != nil {
		e.log.Warn("callback rejected", "connector", connector, "account", account, "path", path, "err", err)
		// A connector names the payment a refused callback was about when
		// it can tell (Trust Payments: the posted orderreference; Computop:
		// a verified result that does not fit the payment). The reason is
		// the error's caller-safe message: what was wrong, never the
		// secrets or the raw request.
		recorded := false
		if res != nil && res.PaymentID != "" {
			_, merr := e.mutate(ctx, res.PaymentID, func(p *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
				return []tender.Event{e.newEvent(EvCallbackDenied, map[string]any{"path": path, "reason": tender.ErrorMessageOf(err)})}, true, nil
			})
			recorded = merr == nil
		}
		e.metrics.refusal(connector, recorded)
		return nil, err
	}
	if res.PaymentID != "" && res.Update != nil {
		if found != nil && found.p.ID != res.PaymentID {
			found = nil
		}
		if err := e.applyCallback(ctx, c, res, found); err != nil {
			return nil, err
		}
	}
	reply := &CallbackReply{StatusCode: res.StatusCode, ContentType: res.ContentType, Body: res.Body, PaymentID: res.PaymentID}
	if res.Landing && res.PaymentID != "" {
		reply.RedirectTo = e.PageURL(res.PaymentID)
	}
	return reply, nil
}

// foundPayment is the payment a callback's connector looked up, as read,
// with its events if they were read with it.
type foundPayment struct {
	p          *tender.Payment
	events     []tender.Event
	withEvents bool
}

// paymentEvents is a store that reads a payment with its events in one
// round trip (PostgreSQL: one batch). A callback that names a payment by
// its id then reads both at once, as applying it needs the events; on
// SQLite, whose reads are in-process, the events are read only when an
// update is applied.
type paymentEvents interface {
	PaymentWithEvents(ctx context.Context, id string) (*tender.Payment, []tender.Event, error)
}

// verifyCallback has connector c verify and read a callback to account
// acct, and returns with its result the payment the connector looked up
// (nil if none).
func (e *Engine) verifyCallback(ctx context.Context, c tender.Connector, acct *tender.Account, path string, r *http.Request, body []byte) (*tender.CallbackResult, *foundPayment, error) {
	connector := c.Name()
	// found is the payment the connector looked up, as read: applying
	// what the callback proves starts from it rather than reading it
	// again (a change in between fails the version check and is read).
	var found *foundPayment
	withEvents, _ := e.store.(paymentEvents)
	cb := &tender.Callback{
		Account: acct,
		Path:    path,
		Request: r,
		Body:    body,
		Find: func(ctx context.Context, ref string) (*tender.Payment, error) {
			var p *tender.Payment
			var events []tender.Event
			var err error
			if withEvents != nil {
				p, events, err = withEvents.PaymentWithEvents(ctx, ref)
			} else {
				p, err = e.store.GetPayment(ctx, ref)
			}
			if err == nil {
				if p.Connector != connector || p.Account != acct.ID || p.Merchant != acct.Merchant {
					return nil, tender.Errorf(tender.ENotFound, "no payment %q on this account", ref)
				}
				found = &foundPayment{p: clonePayment(p), events: events, withEvents: withEvents != nil}
				return p, nil
			}
			if tender.ErrorCodeOf(err) != tender.ENotFound {
				return nil, err
			}
			p, err = e.store.FindPayment(ctx, connector, ref)
			if err == nil && (p.Account != acct.ID || p.Merchant != acct.Merchant) {
				return nil, tender.Errorf(tender.ENotFound, "no payment %q on this account", ref)
			}
			if err == nil {
				found = &foundPayment{p: clonePayment(p)}
			}
			return p, err
		},
	}
	res, err := c.Callback(ctx, cb)
	return res, found, err
}

// changedAccount says whether stored is not the account kept was read as:
// every change seals the credentials anew.
func changedAccount(kept, stored *tender.Account) bool {
	return !bytes.Equal(kept.Sealed, stored.Sealed) || !maps.Equal(kept.Settings, stored.Settings) ||
		kept.Merchant != stored.Merchant || kept.Connector != stored.Connector
}

// applyCallback applies a verified callback's update, starting from
// found, the payment as the connector read it (nil: read it).
func (e *Engine) applyCallback(ctx context.Context, c tender.Connector, res *tender.CallbackResult, found *foundPayment) error {
	unlock := e.locks.Lock("payment:" + res.PaymentID)
	defer unlock()
	if res.Confirm {
		// Believe the provider's own answer, not the callback.
		_, err := e.check(ctx, res.PaymentID)
		return err
	}
	var known *tender.Payment
	var past []tender.Event
	if found != nil {
		known, past = found.p, found.events
		if !found.withEvents {
			var err error
			if past, err = e.store.ListEvents(ctx, known.ID); err != nil {
				return err
			}
		}
	}
	_, err := e.mutateFrom(ctx, res.PaymentID, known, past, nil, func(p *tender.Payment, past []tender.Event) ([]tender.Event, bool, error) {
		if events, ok := e.attemptFailed(p, *res.Update); ok {
			return events, true, nil
		}
		// A verified callback that the state machine cannot take (a late
		// notify for a payment already canceled, say) is kept on record;
		// one that contradicts the record is a discrepancy.
		events := e.applyVerified(p, *res.Update, "callback")
		attemptSucceeded(p, past)
		return events, len(events) > 0, nil
	})
	return err
}

// CheckoutPage returns the connector's hosted checkout for a payment that
// waits for its shopper, if the connector has one.
func (e *Engine) CheckoutPage(ctx context.Context, p *tender.Payment) (contentType string, body []byte, ok bool, err error) {
	c, found := e.connectors[p.Connector]
	pager, isPager := c.(tender.CheckoutPager)
	if !found || !isPager {
		return "", nil, false, nil
	}
	_, op, err := e.opFor(ctx, p, 0, p.OperationID)
	if err != nil {
		return "", nil, false, err
	}
	ct, body, err := pager.CheckoutPage(ctx, op)
	return ct, body, err == nil, err
}

// PageMerchant returns the merchant with id for a shopper's page (its
// branding and default locale), from memory when it was read within
// memoTTL and no change of it was told since (see recent): a change on
// another instance shows when its notice arrives, within memoTTL at most.
func (e *Engine) PageMerchant(ctx context.Context, id string) (*tender.Merchant, error) {
	m, gen := e.shops.get(id)
	if m != nil {
		return m, nil
	}
	read := time.Now()
	m, err := e.store.GetMerchant(ctx, id)
	if err != nil {
		return nil, err
	}
	e.shops.keep(id, m, gen, read)
	return m, nil
}

// CheckoutScripts returns the script sources the connector's checkout page
// for p needs (tender.CheckoutScripter); none if it has no scripts.
func (e *Engine) CheckoutScripts(ctx context.Context, p *tender.Payment) ([]string, error) {
	c, found := e.connectors[p.Connector]
	s, ok := c.(tender.CheckoutScripter)
	if !found || !ok {
		return nil, nil
	}
	acct, _, err := e.openedAccount(ctx, p.Account)
	if err != nil {
		return nil, err
	}
	return s.CheckoutScripts(acct)
}
