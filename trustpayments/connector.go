package trustpayments

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// Name is the connector's name in the API.
const Name = "trustpayments"

// Options configure a Connector.
type Options struct {
	HTTPClient *http.Client // for the Webservices API; nil: a client with Timeout
	Logger     *slog.Logger
	Clock      tender.Clock
	Timeout    time.Duration // per Webservices call; 0: 30s
}

// Connector implements tender.Connector and tender.CheckoutPager for
// Trust Payments.
type Connector struct {
	http    *http.Client
	log     *slog.Logger
	clock   tender.Clock
	timeout time.Duration

	returnChecks checkLimiter // see Callback
}

var (
	_ tender.Connector     = (*Connector)(nil)
	_ tender.CheckoutPager = (*Connector)(nil)
)

// New returns a Connector.
func New(opts Options) *Connector {
	c := &Connector{http: opts.HTTPClient, log: opts.Logger, clock: opts.Clock, timeout: opts.Timeout}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: c.timeout}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = tender.SystemClock{}
	}
	return c
}

// Name returns "trustpayments".
func (c *Connector) Name() string { return Name }

// ValidateAccount checks the account's settings and credentials.
func (c *Connector) ValidateAccount(a *tender.Account) error {
	_, err := ParseConfig(a)
	return err
}

// ValidateTerminal refuses: Trust Payments is an online checkout.
func (c *Connector) ValidateTerminal(t *tender.Terminal, a *tender.Account) error {
	return tender.Errorf(tender.ENotSupported, "Trust Payments has no terminals")
}

// state is the connector's durable state for a payment.
type state struct {
	JWT string `json:"jwt"` // the request JWT Tender issued
	Iat int64  `json:"iat"`
}

func stateOf(p *tender.Payment) state {
	var s state
	if len(p.State) > 0 {
		_ = json.Unmarshal(p.State, &s)
	}
	return s
}

// ValidatePayment checks a new payment: an online one, a currency and
// amount the JWT can carry, optional merchant fields in Input (a JSON
// object of billing*/customer*/customfield*/locale strings).
func (c *Connector) ValidatePayment(p *tender.Payment, a *tender.Account, t *tender.Terminal) error {
	if t != nil {
		return tender.Invalid("terminal", "Trust Payments payments are online; no terminal")
	}
	cfg, err := ParseConfig(a)
	if err != nil {
		return err
	}
	if p.Amount < 0 || p.Amount == 0 && p.SetupFutureUsage == "" {
		return tender.Invalid("amount", "amount must be positive (0 only verifies and saves a card, with setup_future_usage)")
	}
	if p.OffSession {
		return validateOffSession(cfg, p)
	}
	extra, err := extraOf(p, p.Locale)
	if err != nil {
		return err
	}
	_, err = cfg.Payload(orderOf(p, extra))
	return err
}

func orderOf(p *tender.Payment, extra map[string]string) Order {
	return Order{Reference: p.ID, Amount: p.Amount, Currency: p.Currency, Manual: p.CaptureMode == tender.CaptureManual, Extra: extra, Cards: cardOrderOf(p)}
}

// extraOf returns the merchant's fields for the JWT, with locale (the
// payment's, else its merchant's default: Op.Locale) as the JWT's locale
// unless the merchant set trustpayments.locale itself.
func extraOf(p *tender.Payment, locale string) (map[string]string, error) {
	if len(p.Input) == 0 || string(p.Input) == "null" {
		// st.js shows its own texts in the payment's language.
		if l := locale; l != "" {
			return map[string]string{"locale": checkoutWords(l).locale}, nil
		}
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal(p.Input, &m); err != nil {
		return nil, tender.Invalid("trustpayments", "trustpayments must be an object of Trust Payments billing*/customer* fields with string values")
	}
	for k := range m {
		if !ExtraAllowed(k) {
			return nil, tender.Invalid("trustpayments."+k, "%s cannot be set by the merchant (allowed: billing*, customer*, customfield1-5, locale)", k)
		}
	}
	if l := locale; l != "" && m["locale"] == "" {
		if m == nil {
			m = map[string]string{}
		}
		m["locale"] = checkoutWords(l).locale
	}
	return m, nil
}

// Start issues the request JWT. Nothing is sent to Trust Payments: the
// shopper's browser (or the merchant's app) takes the JWT to the gateway.
func (c *Connector) Start(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, err := ParseConfig(op.Account)
	if err != nil {
		return tender.Update{}, err
	}
	if op.Payment.OffSession {
		return c.chargeSaved(ctx, cfg, op)
	}
	extra, err := extraOf(op.Payment, op.Locale)
	if err != nil {
		return tender.Update{}, err
	}
	now := c.clock.Now()
	jwt, err := cfg.RequestJWT(orderOf(op.Payment, extra), now)
	if err != nil {
		return tender.Update{}, err
	}
	st, _ := json.Marshal(state{JWT: jwt, Iat: now.Unix()})
	return tender.Update{
		Status:     tender.StatusRequiresAction,
		NextAction: &tender.NextAction{Type: "redirect", URL: op.PageURL, Data: map[string]string{"jwt": jwt}},
		State:      st,
		CheckIn:    cfg.MaxAge + checkoutGrace,
		Note:       "trustpayments: request JWT issued",
	}, nil
}

func (c *Connector) ws(cfg Config) *WSClient {
	return &WSClient{URL: cfg.WebservicesURL, Username: cfg.WSUsername, Password: cfg.WSPassword, HTTP: c.http}
}

func (c *Connector) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// Status reconciles the payment with a TRANSACTIONQUERY on its
// orderreference (the payment id): an approved AUTH decides; failures only
// end a payment that is in doubt or whose checkout has expired; with no
// AUTH on record the payment expires once its request JWT can no longer
// be used.
func (c *Connector) Status(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, err := ParseConfig(op.Account)
	if err != nil {
		return tender.Update{}, err
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	p := op.Payment
	records, err := c.ws(cfg).Query(ctx, map[string]string{"sitereference": cfg.SiteReference, "orderreference": p.ID})
	if err != nil {
		return tender.Update{}, err
	}
	var approved, failed []Result
	inDoubt := false
	for _, r := range records {
		if r.Get("orderreference") != "" && r.Get("orderreference") != p.ID || isInstalment(r) {
			continue // a charge of the payment's subscription is a payment of its own
		}
		typ := r.Get("requesttypedescription")
		if p.Amount == 0 && isVerify(r) {
			typ = "AUTH" // a verify-only payment's result (cards.go)
		}
		switch Classify(r.Get("errorcode")) {
		case OutcomeOK:
			if typ == "AUTH" {
				approved = append(approved, r)
			}
		case OutcomeUnknown:
			inDoubt = true
		default:
			if typ == "AUTH" || typ == "THREEDQUERY" {
				failed = append(failed, r)
			}
		}
	}
	if len(approved) > 0 {
		a := adopt(approved, p.ProviderReference, p)
		// More than one approved AUTH for one payment: the same request
		// reached the gateway twice (a browser resends a POST whose reused
		// connection closed unanswered). The payment keeps one; the others
		// are voided before the payment is decided, so the shopper is not
		// charged twice. A failure leaves the payment in doubt and the
		// reconciler tries again.
		for _, r := range approved {
			if r.Get("transactionreference") == a.Get("transactionreference") {
				continue
			}
			if err := c.voidDuplicate(ctx, cfg, p, r); err != nil {
				c.log.Error("trustpayments: could not void a duplicate AUTH", "payment", p.ID, "transactionreference", r.Get("transactionreference"), "err", err)
				return tender.Update{}, err
			}
		}
		if amt, ok := AmountOf(a, p.Currency); ok && amt != p.Amount {
			// Not believed as this payment's approval (its status stays as
			// it is), but money is held at the gateway under this payment's
			// orderreference: a person must look, so it is a discrepancy
			// like an ePay or Sepay approval of another amount.
			c.log.Error("trustpayments: AUTH amount differs from the payment", "payment", p.ID)
			return tender.Update{
				Note:        "trustpayments: AUTH on record has another amount; needs investigation",
				Discrepancy: "Trust Payments holds an AUTH of " + tender.FormatMinor(amt, p.Currency) + " " + p.Currency + " (" + a.Get("transactionreference") + ") for a payment of " + tender.FormatMinor(p.Amount, p.Currency),
				CheckIn:     time.Hour,
			}, nil
		}
		st, ok := StatusOfAuth(a.Get("settlestatus"))
		if !ok {
			return tender.Update{Note: "trustpayments: AUTH with unexpected settlestatus"}, nil
		}
		u := tender.Update{Status: st, ProviderReference: a.Get("transactionreference"), Details: Details(a), Note: "trustpayments: reconciled by TRANSACTIONQUERY",
			SavedCard: savedCard(p, a)}
		if st == tender.StatusCanceled {
			u.Failure = &tender.Failure{Code: tender.FailCanceled, Message: "the authorization was cancelled at Trust Payments"}
		}
		if end := c.checkoutEnd(cfg, p); p.Status.Settled() && !p.OffSession && c.clock.Now().Before(end) {
			// A follow-up (or any look at a settled payment) while its
			// request JWT can still be used: one more attempt on the
			// still-open checkout may yet be approved with its answer
			// lost, so ask once more when no attempt can be made.
			u.FollowUp = end.Sub(c.clock.Now()) + time.Second
		}
		return u, nil
	}
	expired := c.clock.Now().After(c.checkoutEnd(cfg, p))
	if p.OffSession {
		// No checkout: a charge the gateway has no record of this long
		// after it was sent never reached it (cards.go).
		expired = c.clock.Now().After(issuedAt(p).Add(mitRecordWindow))
	}
	if p.Status == tender.StatusPending && !inDoubt && len(failed) == 0 {
		return c.neverStarted(ctx, op, expired)
	}
	switch {
	case inDoubt && !expired:
		return tender.Update{Note: "trustpayments: outcome still in doubt at Trust Payments", CheckIn: 5 * time.Minute}, nil
	case len(failed) > 0 && (expired || p.Status == tender.StatusUnknown):
		f := failed[len(failed)-1]
		return tender.Update{Status: tender.StatusFailed, Failure: FailureOf(f.Get("errorcode"), f.ErrorData), Details: Details(f), Note: "trustpayments: reconciled by TRANSACTIONQUERY"}, nil
	case expired && !inDoubt:
		return tender.Update{Status: tender.StatusFailed, Failure: &tender.Failure{Code: tender.FailExpired, Message: "the checkout expired without a payment"}, Note: "trustpayments: no AUTH before the JWT expired"}, nil
	case expired:
		return tender.Update{Note: "trustpayments: outcome in doubt at Trust Payments; contact Trust Payments support", CheckIn: time.Hour}, nil
	}
	return tender.Update{}, nil
}

// neverStarted answers Status for a payment still pending with nothing at
// Trust Payments: its Start (which calls no one: it only issues the request
// JWT) never ran, or its answer was never stored, so no shopper holds a JWT
// for it. It gets what Start gives, so the shopper can still pay; canceled
// when the merchant asked to cancel; expired once a checkout started at its
// creation would have run out.
func (c *Connector) neverStarted(ctx context.Context, op *tender.Op, expired bool) (tender.Update, error) {
	switch {
	case op.CancelRequested:
		return tender.Update{Status: tender.StatusCanceled, Note: "trustpayments: canceled before a checkout was issued",
			Failure: &tender.Failure{Code: tender.FailCanceled, Message: "the payment was canceled"}}, nil
	case expired:
		return tender.Update{Status: tender.StatusFailed, Note: "trustpayments: no checkout was issued before it would have expired",
			Failure: &tender.Failure{Code: tender.FailExpired, Message: "the checkout expired without a payment"}}, nil
	}
	u, err := c.Start(ctx, op)
	if err == nil {
		u.Note = "trustpayments: request JWT issued by Status (the payment's start was never stored)"
	}
	return u, err
}

// checkoutEnd is when no attempt can be made any more on p's checkout: its
// request JWT's validity, and the grace for a 3-D Secure step started
// just before it ran out.
func (c *Connector) checkoutEnd(cfg Config, p *tender.Payment) time.Time {
	return issuedAt(p).Add(cfg.MaxAge + DefaultSkew + checkoutGrace)
}

func issuedAt(p *tender.Payment) time.Time {
	if s := stateOf(p); s.Iat > 0 {
		return time.Unix(s.Iat, 0)
	}
	return p.CreatedAt
}

func (c *Connector) record(ctx context.Context, cfg Config, ref string) (Result, error) {
	records, err := c.ws(cfg).Query(ctx, map[string]string{"sitereference": cfg.SiteReference, "transactionreference": ref})
	if err != nil {
		return Result{}, err
	}
	for _, r := range records {
		if r.Get("transactionreference") == ref {
			return r, nil
		}
	}
	return Result{}, tender.Errorf(tender.ENotFound, "Trust Payments has no transaction %s", ref)
}

// wsError maps a Webservices errorcode after which nothing happened.
func wsError(code, msg string) error {
	e := &tender.Error{Code: tender.EProvider, Message: msg, ProviderCode: safeCode(code)}
	switch code {
	case "60017":
		e.Code, e.Message = tender.EConflict, msg+": the transaction can no longer be updated"
	case "20005":
		e.Code, e.Message = tender.EConflict, msg+": the payment is not settled yet"
	case "20007":
		e.Code, e.Message = tender.EInvalid, msg+": the amount is more than is left to refund"
		e.Param = "amount"
	case "60016":
		e.Code, e.Message = tender.EInvalid, msg+": the amount is more than was authorized"
		e.Param = "amount"
	}
	if Classify(code) == OutcomeDeclined {
		e.Code = tender.EDeclined
	}
	if unknownOutcomeCodes[code] {
		e.Code = tender.EUnavailable
	}
	return e
}

func (c *Connector) amountField(cfg Config, prefix string, v int64, currency string) (string, string) {
	if cfg.AmountField == "mainamount" {
		return prefix + "mainamount", tender.FormatMinor(v, currency)
	}
	return prefix + "baseamount", strconv.FormatInt(v, 10)
}

// refundReference derives the REFUND's orderreference from the operation
// id: the same API request always gives the same reference, so a retry can
// find a refund that went through.
func refundReference(opID string) string {
	sum := sha256.Sum256([]byte(opID))
	enc := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]))
	return refundReferencePrefix + enc[:23]
}

// Refund refunds op.Amount of the AUTH (REFUND with parenttransactionreference).
// A retry of the same operation first looks for its refund, so money is
// never returned twice.
func (c *Connector) Refund(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, err := ParseConfig(op.Account)
	if err != nil {
		return tender.Update{}, err
	}
	p := op.Payment
	if p.ProviderReference == "" {
		return tender.Update{}, tender.Errorf(tender.EConflict, "the payment has no Trust Payments transaction to refund")
	}
	if op.Amount <= 0 {
		return tender.Update{}, tender.Invalid("amount", "refund amount must be positive")
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	ref := refundReference(op.ID)
	ws := c.ws(cfg)
	done, err := findRefund(ctx, ws, cfg, ref, p.ProviderReference)
	if err != nil {
		return tender.Update{}, notSent(err, "refund")
	}
	if done == nil {
		k, v := c.amountField(cfg, "", op.Amount, p.Currency)
		res, err := ws.Refund(ctx, cfg.SiteReference, p.ProviderReference, ref, k, v)
		if err != nil {
			return tender.Update{}, err
		}
		if code := res.Get("errorcode"); code != "0" {
			return tender.Update{}, wsError(code, "Trust Payments did not refund")
		}
		done = &res
	}
	st := tender.StatusPartiallyRefunded
	if p.RefundedAmount+op.Amount >= capturedTotal(p) {
		st = tender.StatusRefunded
	}
	return tender.Update{Status: st, Details: map[string]string{"refund_transactionreference": done.Get("transactionreference")}, Note: "trustpayments: refund " + ref}, nil
}

// findRefund returns the approved REFUND of parent made under orderref, or
// nil: how a retried refund learns that its first attempt went through.
func findRefund(ctx context.Context, ws *WSClient, cfg Config, orderref, parent string) (*Result, error) {
	prior, err := ws.Query(ctx, map[string]string{"sitereference": cfg.SiteReference, "orderreference": orderref})
	if err != nil {
		return nil, err
	}
	for i, r := range prior {
		if r.Get("requesttypedescription") == "REFUND" && r.Get("errorcode") == "0" && r.Get("parenttransactionreference") == parent {
			return &prior[i], nil
		}
	}
	return nil, nil
}

func capturedTotal(p *tender.Payment) int64 {
	if p.CapturedAmount > 0 {
		return p.CapturedAmount
	}
	return p.Amount
}
