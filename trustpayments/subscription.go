package trustpayments

import (
	"context"

	"github.com/tenderpay/tender"
)

// Pausing and resuming the gateway's own subscriptions (TRANSACTIONUPDATE
// of the SUBSCRIPTION, notes §6.4). The inferred choices are in
// assumptions.go (subscriptionSuspended, subscriptionActive).

var _ tender.SubscriptionPauser = (*Connector)(nil)

// SetSubscriptionPaused implements tender.SubscriptionPauser: a
// TRANSACTIONUPDATE of the first payment's SUBSCRIPTION with
// transactionactive 0 (paused) or 1 (resumed). It reads the SUBSCRIPTION
// first (TRANSACTIONQUERY): one already in the asked state is left alone,
// so that pausing a paused schedule succeeds whatever the gateway answers
// to an update that changes nothing, and a schedule still pending its
// first settlement (2) counts as running and is not resumed into 1.
func (c *Connector) SetSubscriptionPaused(ctx context.Context, op *tender.Op, paused bool) error {
	cfg, err := ParseConfig(op.Account)
	if err != nil {
		return err
	}
	p := op.Payment
	if s := p.Subscription; s == nil || s.Parent != "" {
		return tender.Errorf(tender.EConflict, "payment %s is not the first payment of a subscription", p.ID)
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	sub, err := c.subscriptionRecord(ctx, cfg, p)
	if err != nil {
		return err
	}
	want := subscriptionActive
	if paused {
		want = subscriptionSuspended
	}
	if subscriptionRunning(sub.Get("transactionactive")) == !paused {
		return nil
	}
	ref := sub.Get("transactionreference")
	res, err := c.ws(cfg).Update(ctx, cfg.SiteReference, ref, map[string]string{"transactionactive": want})
	if err != nil {
		return err // transport error or unreadable answer: in doubt
	}
	if code := res.Get("errorcode"); code != "0" {
		// A retry whose first attempt went through finds it done.
		if r, qerr := c.record(ctx, cfg, ref); qerr == nil && subscriptionRunning(r.Get("transactionactive")) == !paused {
			return nil
		}
		verb := "resume"
		if paused {
			verb = "pause"
		}
		return wsError(code, "Trust Payments did not "+verb+" the subscription")
	}
	return nil
}

// subscriptionRunning reports whether a SUBSCRIPTION's transactionactive
// lets the schedule charge: 1, or 2 (pending until the first AUTH
// settles, then charging); an absent field is the default, 2.
func subscriptionRunning(active string) bool { return active != subscriptionSuspended }

// subscriptionRecord finds the SUBSCRIPTION the first payment p started:
// by the reference its checkout reported, else by TRANSACTIONQUERY on its
// orderreference, as Instalments finds it. A SUBSCRIPTION the gateway
// refused, or none on record, is an error after which nothing was sent.
func (c *Connector) subscriptionRecord(ctx context.Context, cfg Config, p *tender.Payment) (Result, error) {
	filter := map[string]string{"sitereference": cfg.SiteReference, "orderreference": p.ID}
	if ref := p.Details["subscription_transactionreference"]; reRef.MatchString(ref) {
		filter = map[string]string{"sitereference": cfg.SiteReference, "transactionreference": ref}
	}
	records, err := c.ws(cfg).Query(ctx, filter)
	if err != nil {
		return Result{}, err
	}
	for _, r := range records {
		if r.Get("requesttypedescription") != "SUBSCRIPTION" || r.Get("orderreference") != "" && r.Get("orderreference") != p.ID {
			continue
		}
		if Classify(r.Get("errorcode")) != OutcomeOK || r.Get("transactionreference") == "" {
			return Result{}, &tender.Error{Code: tender.EConflict, ProviderCode: safeCode(r.Get("errorcode")),
				Message: "Trust Payments refused the subscription of this payment; there is no schedule to pause or resume"}
		}
		return r, nil
	}
	return Result{}, tender.Errorf(tender.EConflict, "Trust Payments has no subscription on record for payment %s (yet)", p.ID)
}
