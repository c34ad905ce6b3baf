package trustpayments

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tenderpay/tender"
)

// Saved cards (credentials on file), merchant-initiated charges and the
// gateway's own subscriptions. The inferred choices are in assumptions.go.

var (
	_ tender.SubscriptionFinder = (*Connector)(nil)
)

// SavesCards says Trust Payments can store a card at checkout
// (credentialsonfile 1) and charge it later (credentialsonfile 2).
func (c *Connector) SavesCards() bool { return true }

// CardOrder are the credentials-on-file fields of a request JWT.
type CardOrder struct {
	// Save stores the card for later merchant-initiated charges
	// (credentialsonfile 1; the shopper is present and authenticates).
	Save bool
	// Verify checks the card without an authorization (ACCOUNTCHECK with
	// baseamount 0) instead of an AUTH.
	Verify bool
	// Subscription asks the gateway to schedule charges after the first.
	Subscription *tender.Subscription
}

func cardOrderOf(p *tender.Payment) CardOrder {
	o := CardOrder{Save: p.SetupFutureUsage != "", Verify: p.Amount == 0 && p.SetupFutureUsage != ""}
	if s := p.Subscription; s != nil && s.Parent == "" {
		o.Subscription = s
	}
	return o
}

// requestTypes are the request types of the checkout: THREEDQUERY and
// AUTH; ACCOUNTCHECK in place of AUTH to verify only (before THREEDQUERY,
// the order the notes' fixtures show accepted, §6.5); SUBSCRIPTION last,
// chained on the AUTH or ACCOUNTCHECK (notes §6.5).
func (o CardOrder) requestTypes() []string {
	types := []string{"THREEDQUERY", "AUTH"}
	if o.Verify {
		types = []string{"ACCOUNTCHECK", "THREEDQUERY"}
	}
	if o.Subscription != nil {
		types = append(types, "SUBSCRIPTION")
	}
	return types
}

// addFields adds the credentials-on-file and subscription fields (seed
// field table) to a request payload.
func (o CardOrder) addFields(p map[string]any) {
	if o.Save {
		p["credentialsonfile"] = credentialsStore
	}
	if s := o.Subscription; s != nil {
		p["subscriptiontype"] = strings.ToUpper(s.Type)
		p["subscriptionunit"] = strings.ToUpper(s.Unit) // the seed: upper case only
		p["subscriptionfrequency"] = strconv.Itoa(s.Frequency)
		p["subscriptionfinalnumber"] = strconv.Itoa(s.FinalNumber)
		if s.BeginDate != "" {
			p["subscriptionbegindate"] = s.BeginDate
		}
	}
}

// isVerify reports whether r is an ACCOUNTCHECK of amount 0: a verify-only
// payment's result, which moves no money.
func isVerify(r Result) bool {
	if r.Get("requesttypedescription") != "ACCOUNTCHECK" {
		return false
	}
	b, m := r.Get("baseamount"), r.Get("mainamount")
	return b == "0" || b == "" && (m == "0" || m == "0.00" || m == "")
}

// isInstalment reports whether r is a charge the gateway made on a
// subscription's schedule (assumptions.go: instalmentAccountType).
func isInstalment(r Result) bool {
	return r.Get("requesttypedescription") == "AUTH" && r.Get("accounttypedescription") == instalmentAccountType
}

// savedCard is the card a successful checkout of p stored, from its AUTH
// or ACCOUNTCHECK; nil unless p asked to save it and the gateway stored it
// (it echoes credentialsonfile 1, when it echoes it at all).
func savedCard(p *tender.Payment, a Result) *tender.SavedCard {
	if p.SetupFutureUsage == "" || a.Get("errorcode") != "0" || a.Get("transactionreference") == "" {
		return nil
	}
	if cof := a.Get("credentialsonfile"); cof != "" && cof != credentialsStore {
		return nil
	}
	return &tender.SavedCard{ProviderReference: a.Get("transactionreference"), Brand: a.Get("paymenttypedescription"),
		MaskedPAN: MaskedPAN(a.Get("maskedpan")), Expiry: a.Get("expirydate")}
}

// validateOffSession checks a charge of a saved card.
func validateOffSession(cfg Config, p *tender.Payment) error {
	if !reRef.MatchString(p.PaymentMethodReference) || len(p.PaymentMethodReference) > 25 {
		return tender.Invalid("payment_method", "the payment method's Trust Payments reference is not a transactionreference")
	}
	if len(p.Input) > 0 && string(p.Input) != "null" {
		return tender.Invalid("trustpayments", "an off-session charge takes no Trust Payments checkout fields")
	}
	if _, ok := tender.CurrencyExponent(p.Currency); !ok {
		return tender.Invalid("currency", "currency %q is not one Trust Payments amounts can carry", p.Currency)
	}
	return nil
}

// chargeSaved charges a saved card without the shopper: a Webservices
// AUTH on the stored credential (parenttransactionreference, credentialsonfile
// 2, initiationreason), exempt from 3-D Secure as a merchant-initiated
// transaction. It asks first whether the charge is already on record, so
// a start run again after a crash or a lost answer never charges twice.
func (c *Connector) chargeSaved(ctx context.Context, cfg Config, op *tender.Op) (tender.Update, error) {
	p := op.Payment
	now := c.clock.Now()
	st, _ := json.Marshal(state{Iat: now.Unix()})
	if op.CancelRequested {
		return tender.Update{Status: tender.StatusCanceled, State: st, Failure: &tender.Failure{Code: tender.FailCanceled, Message: "the payment was canceled"},
			Note: "trustpayments: canceled before the charge was sent"}, nil
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	ws := c.ws(cfg)
	prior, err := ws.Query(ctx, map[string]string{"sitereference": cfg.SiteReference, "orderreference": p.ID})
	if err != nil {
		return tender.Update{}, notSent(err, "charge")
	}
	for _, r := range prior {
		if r.Get("requesttypedescription") == "AUTH" && Classify(r.Get("errorcode")) != OutcomeInvalid {
			// Sent before: its record decides, as Status does.
			return tender.Update{State: st}, tender.Errorf(tender.EUnavailable, "trustpayments: the charge was sent before; reconciling")
		}
	}
	req := map[string]any{
		"requesttypedescriptions":    []string{"AUTH"},
		"sitereference":              cfg.SiteReference,
		"accounttypedescription":     "ECOM",
		"currencyiso3a":              p.Currency,
		"orderreference":             p.ID,
		"parenttransactionreference": p.PaymentMethodReference,
		"credentialsonfile":          credentialsUse,
		"initiationreason":           initiationReasonUnscheduled,
	}
	k, v := c.amountField(cfg, "", p.Amount, p.Currency)
	req[k] = v
	if p.CaptureMode == tender.CaptureManual {
		req["settlestatus"] = "2"
	}
	res, err := ws.Do(ctx, req)
	if err != nil {
		// Sent, answer lost: in doubt; Status finds the AUTH by orderreference.
		return tender.Update{State: st}, err
	}
	a := res[0]
	code := a.Get("errorcode")
	if code != "0" {
		if unknownOutcomeCodes[code] {
			return tender.Update{State: st}, tender.Errorf(tender.EUnavailable, "trustpayments: errorcode %s: outcome unknown, reconciling", safeCode(code))
		}
		return tender.Update{}, chargeError(code, a)
	}
	status, ok := StatusOfAuth(a.Get("settlestatus"))
	if !ok || status == tender.StatusCanceled {
		return tender.Update{State: st}, tender.Errorf(tender.EUnavailable, "trustpayments: AUTH with unexpected settlestatus; reconciling")
	}
	if amt, ok := AmountOf(a, p.Currency); ok && amt != p.Amount {
		return tender.Update{State: st}, tender.Errorf(tender.EUnavailable, "trustpayments: AUTH of another amount; reconciling")
	}
	return tender.Update{Status: status, ProviderReference: a.Get("transactionreference"), Details: Details(a), State: st,
		Note: "trustpayments: saved card charged (merchant-initiated AUTH)"}, nil
}

// chargeError is the refusal of a merchant-initiated AUTH.
func chargeError(code string, a Result) error {
	f := FailureOf(code, a.ErrorData)
	e := &tender.Error{Code: tender.EProvider, Message: f.Message, ProviderCode: safeCode(code)}
	switch Classify(code) {
	case OutcomeDeclined:
		e.Code = tender.EDeclined
	case OutcomeInvalid:
		e.Code = tender.EInvalid
	}
	return e
}

// Instalments implements tender.SubscriptionFinder: the gateway sends no
// notification of the charges its subscription module makes, so they are
// found by TRANSACTIONQUERY on the first payment's orderreference, which
// they inherit (assumptions.go). The schedule has ended when the
// SUBSCRIPTION's subscriptionnumber is past its subscriptionfinalnumber
// (seed: "Een voltooid abonnement wordt weergegeven door een
// subscriptionnumber die hoger is dan de overeenkomstige
// subscriptionfinalnumber"), or when the gateway refused the SUBSCRIPTION.
func (c *Connector) Instalments(ctx context.Context, op *tender.Op) ([]tender.Instalment, bool, error) {
	cfg, err := ParseConfig(op.Account)
	if err != nil {
		return nil, false, err
	}
	p := op.Payment
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	records, err := c.ws(cfg).Query(ctx, map[string]string{"sitereference": cfg.SiteReference, "orderreference": p.ID})
	if err != nil {
		return nil, false, err
	}
	var sub *Result
	for i, r := range records {
		if r.Get("requesttypedescription") == "SUBSCRIPTION" {
			sub = &records[i]
		}
	}
	if sub == nil {
		// Not on record (yet): the first payment may still be settling.
		return nil, p.CreatedAt.Before(c.clock.Now().Add(-subscriptionRecordWindow)), nil
	}
	if Classify(sub.Get("errorcode")) != OutcomeOK {
		c.log.Warn("trustpayments: the gateway refused the subscription", "payment", p.ID, "errorcode", safeCode(sub.Get("errorcode")))
		return nil, Classify(sub.Get("errorcode")) != OutcomeUnknown, nil
	}
	var out []tender.Instalment
	for _, r := range records {
		if !isInstalment(r) || r.Get("parenttransactionreference") != sub.Get("transactionreference") {
			continue
		}
		n, _ := strconv.Atoi(r.Get("subscriptionnumber"))
		amt, ok := AmountOf(r, p.Currency)
		if !ok || r.Get("currencyiso3a") != "" && r.Get("currencyiso3a") != p.Currency {
			c.log.Error("trustpayments: subscription charge with another currency or no amount", "payment", p.ID, "transactionreference", r.Get("transactionreference"))
			continue
		}
		ch := tender.Instalment{ProviderReference: r.Get("transactionreference"), Number: n, Amount: amt, Details: Details(r)}
		switch Classify(r.Get("errorcode")) {
		case OutcomeOK:
			st, ok := StatusOfAuth(r.Get("settlestatus"))
			if !ok {
				continue // asked again next time
			}
			ch.Status = st
			if st == tender.StatusCanceled {
				ch.Status, ch.Failure = tender.StatusFailed, &tender.Failure{Code: tender.FailProvider, Message: "Trust Payments cancelled the subscription charge", ProviderCode: "0"}
			}
		case OutcomeUnknown:
			continue // in doubt at the gateway: asked again next time
		default:
			ch.Status, ch.Failure = tender.StatusFailed, FailureOf(r.Get("errorcode"), r.ErrorData)
		}
		out = append(out, ch)
	}
	number, _ := strconv.Atoi(sub.Get("subscriptionnumber"))
	final, _ := strconv.Atoi(sub.Get("subscriptionfinalnumber"))
	ended := final > 0 && number > final
	return out, ended, nil
}
