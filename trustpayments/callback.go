package trustpayments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/tenderpay/tender"
)

// ReturnPath is where the checkout form posts the response JWT:
// Op.CallbackURL + "/" + ReturnPath.
const ReturnPath = "return"

// Callback handles the form that the JavaScript library (or the merchant's
// own page or app) posts to .../return with the gateway's response `jwt`.
// Only the JWT is believed (the plain fields st.js posts beside it are not
// authenticated, notes §4.6): it must verify, be about a payment of this
// account, and carry the request JWT Tender issued for that payment. A post
// without a JWT (the library could not reach or decode the gateway,
// errorcode 50003 "Invalid response", or 50000 "Time-out" in the seed) is
// unauthenticated: anyone can send one, so it changes nothing. It only asks
// the engine to check the payment with Trust Payments (TRANSACTIONQUERY),
// at most once per payment every returnCheckEvery, and the checkout stays
// open for the shopper.
//
// A browser form post is a Landing; a JSON post ({"jwt": ...}) from an app
// gets a JSON reply instead.
func (c *Connector) Callback(ctx context.Context, cb *tender.Callback) (*tender.CallbackResult, error) {
	if cb.Path != ReturnPath {
		return nil, tender.Errorf(tender.ENotFound, "no such Trust Payments callback")
	}
	if cb.Request != nil && cb.Request.Method != http.MethodPost {
		return nil, tender.Errorf(tender.EInvalid, "the Trust Payments return must be a POST")
	}
	cfg, err := ParseConfig(cb.Account)
	if err != nil {
		return nil, err
	}
	fields, isJSON, err := returnFields(cb)
	if err != nil {
		return nil, err
	}
	res := &tender.CallbackResult{Landing: !isJSON}
	reply := func(id string) {
		res.PaymentID = id
		if isJSON {
			res.ContentType = "application/json"
			res.Body, _ = json.Marshal(map[string]string{"payment_id": id})
		}
	}

	raw := fields.Get("jwt")
	if raw == "" {
		// No response JWT: unauthenticated, so it may not change the
		// payment, not even put it in doubt (that would take the card form
		// away from the shopper). Only the provider's own answer counts.
		p, err := c.find(ctx, cb, fields.Get("orderreference"))
		if err != nil {
			return nil, err
		}
		reply(p.ID)
		open := p.Status == tender.StatusRequiresAction || p.Status == tender.StatusPending || p.Status == tender.StatusUnknown
		if open && c.returnChecks.allow(p.ID, c.clock.Now()) {
			res.Update = &tender.Update{Note: "trustpayments: return without a response JWT (errorcode " + safeCode(fields.Get("errorcode")) + "); checking with Trust Payments"}
			res.Confirm = true
		}
		return res, nil
	}

	resp, err := cfg.VerifyResponse(raw, c.clock.Now())
	if err != nil {
		c.log.Warn("trustpayments: response JWT refused", "account", cb.Account.ID, "err", err)
		// Name the payment the post claims to be about (the form's
		// orderreference, else the unverified token's) so that the
		// refusal is on its record; nothing about it is believed.
		return c.named(ctx, cb, fields.Get("orderreference"), raw),
			tender.Wrap(tender.EInvalid, err, "the Trust Payments response did not verify: %s", err)
	}
	p, err := c.find(ctx, cb, resp.OrderReference())
	if err != nil {
		return c.named(ctx, cb, fields.Get("orderreference"), ""), err
	}
	if err := resp.CheckIssued(stateOf(p).JWT); err != nil {
		c.log.Warn("trustpayments: response JWT is not for this payment", "payment", p.ID, "err", err)
		return &tender.CallbackResult{PaymentID: p.ID}, tender.Wrap(tender.EInvalid, err, "the Trust Payments response is not for this payment: %s", err)
	}
	reply(p.ID)
	u := UpdateOf(resp)
	if a, ok := resp.Auth(); ok && (u.Status == tender.StatusCaptured || u.Status == tender.StatusAuthorized) {
		u.SavedCard = savedCard(p, a)
	}
	switch {
	case p.Status == tender.StatusRequiresAction || p.Status == tender.StatusUnknown || p.Status == tender.StatusPending:
		// A decline, a failed 3-D Secure check or a field the gateway
		// refused ends only this attempt: the shopper may pay again with
		// the same request JWT (another card), and no AUTH holds money.
		u.Retry = u.Status == tender.StatusFailed && u.Failure != nil && retryable(u.Failure.Code)
		if u.Status == tender.StatusCaptured || u.Status == tender.StatusAuthorized {
			// An earlier attempt on this checkout may have been approved
			// too, its answer lost: only a later TRANSACTIONQUERY finds
			// (and voids) it.
			u.FollowUp = CheckoutFollowUp
		}
		if u.Status != "" || u.Note != "" {
			res.Update = &u
		}
	case (u.Status == tender.StatusCaptured || u.Status == tender.StatusAuthorized) && u.ProviderReference != p.ProviderReference:
		// An approved AUTH the payment cannot take: the shopper paid on a
		// checkout that was cancelled or had failed (a request JWT stays
		// usable until it expires), or paid a second time with the same
		// JWT on a merchant's own page. Cancel it at once so that no money
		// moves that Tender does not account for.
		cctx, cancel := c.ctx(ctx)
		defer cancel()
		if err := c.cancelAuth(cctx, cfg, u.ProviderReference); err != nil {
			c.log.Error("trustpayments: could not cancel an AUTH the payment cannot take", "payment", p.ID, "status", p.Status, "transactionreference", u.ProviderReference, "err", err)
		} else {
			c.log.Warn("trustpayments: cancelled an AUTH the payment cannot take", "payment", p.ID, "status", p.Status, "transactionreference", u.ProviderReference)
		}
	}
	return res, nil
}

// returnCheckEvery bounds the status checks that returns without a JWT can
// cause: one per payment in this long, whoever sends them.
const returnCheckEvery = time.Minute

// checkLimiter remembers when a payment was last checked for a return
// without a JWT. Its zero value is ready to use.
type checkLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (l *checkLimiter) allow(id string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[id]; ok && now.Sub(t) < returnCheckEvery && !now.Before(t) {
		return false
	}
	if l.last == nil || len(l.last) >= 10000 {
		// Forget everything rather than grow without bound: at worst a
		// payment gets one more check.
		l.last = map[string]time.Time{}
	}
	l.last[id] = now
	return true
}

// named returns a result naming the payment of this account that a refused
// post names, for the engine to record the refusal on; nil if it names
// none. ref is the form's orderreference; raw, if set, the response JWT
// whose (unverified) nested request JWT may name it instead.
func (c *Connector) named(ctx context.Context, cb *tender.Callback, ref, raw string) *tender.CallbackResult {
	if ref == "" && raw != "" {
		if t, err := Parse(raw); err == nil {
			var env ResponseEnvelope
			if json.Unmarshal(t.Claims["payload"], &env) == nil {
				if n, err := Parse(env.JWT); err == nil {
					if pl, err := PayloadOf(n); err == nil {
						ref = ScalarField(pl, "orderreference")
					}
				}
			}
		}
	}
	if p, err := c.find(ctx, cb, ref); err == nil {
		return &tender.CallbackResult{PaymentID: p.ID}
	}
	return nil
}

func (c *Connector) find(ctx context.Context, cb *tender.Callback, ref string) (*tender.Payment, error) {
	if ref == "" || len(ref) > 25 {
		return nil, tender.Errorf(tender.EInvalid, "the Trust Payments return names no payment")
	}
	p, err := cb.Find(ctx, ref)
	if err != nil {
		return nil, err
	}
	if p.Connector != Name || p.Account != cb.Account.ID {
		return nil, tender.Errorf(tender.ENotFound, "no such payment for this account")
	}
	return p, nil
}

// returnFields reads the posted form (application/x-www-form-urlencoded, as
// st.js submits it) or a JSON object of strings.
func returnFields(cb *tender.Callback) (url.Values, bool, error) {
	ct := ""
	if cb.Request != nil {
		ct, _, _ = mime.ParseMediaType(cb.Request.Header.Get("Content-Type"))
	}
	if ct == "application/json" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(cb.Body, &m); err != nil {
			return nil, true, tender.Errorf(tender.EInvalid, "the body must be a JSON object with jwt")
		}
		if k := duplicateKey(cb.Body); k != "" {
			// Parsers disagree on which of two values counts.
			return nil, true, tender.Invalid(truncate(k, 40), "%s appears more than once in the body", truncate(k, 40))
		}
		v := url.Values{}
		for k, raw := range m {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				v.Set(k, s)
			}
		}
		return v, true, nil
	}
	v, err := url.ParseQuery(string(cb.Body))
	if err != nil {
		return nil, false, tender.Wrap(tender.EInvalid, errors.New("bad form"), "the Trust Payments return is not a form")
	}
	return v, false, nil
}

// duplicateKey returns a key that appears twice at the top level of the
// JSON object b, or "".
func duplicateKey(b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := t.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

// retryable says whether a failure of code leaves the shopper another
// attempt on the same checkout.
func retryable(code string) bool {
	switch code {
	case tender.FailDeclined, tender.FailAuthentication, tender.FailInvalid:
		return true
	}
	return false
}
