package trustpayments

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Response is a verified gateway response JWT (notes §4.2).
type Response struct {
	Token    *Token
	Envelope ResponseEnvelope
	// RequestJWT is the nested request JWT, verified; nil when the
	// response carries none (the legacy JS v2 responses, notes §1.3).
	RequestJWT *Token
}

// Main returns the element that is "the result": the one with
// customeroutput, else the last (st.js's rule, notes §4.4).
func (r *Response) Main() Result {
	for _, e := range r.Envelope.Response {
		if e.Get("customeroutput") != "" {
			return e
		}
	}
	if n := len(r.Envelope.Response); n > 0 {
		return r.Envelope.Response[n-1]
	}
	return Result{}
}

// Auth returns the AUTH element, the only one that means money (seed:
// "Alleen waarden van "AUTH" geven de autorisatie van een betaling aan"),
// or, in a chain with no AUTH, an ACCOUNTCHECK of amount 0: the result of
// a verify-only payment, which moves no money (cards.go).
func (r *Response) Auth() (Result, bool) {
	for _, e := range r.Envelope.Response {
		if e.Get("requesttypedescription") == "AUTH" {
			return e, true
		}
	}
	for _, e := range r.Envelope.Response {
		if isVerify(e) {
			return e, true
		}
	}
	return Result{}, false
}

// ErrMismatch means a response is genuine but not about the payment it was
// presented for (another order, amount, currency or site).
var ErrMismatch = errors.New("response is for another payment")

// VerifyResponse checks a response JWT strictly (notes §5): an accepted
// response algorithm (Config.ResponseAlgorithms), the signature over the
// received segments, iat within the account's window, aud = the JWT user
// name when aud is present (2019-era responses and the gateway's ERROR
// responses carry none, notes §4.2), no foreign iss, version 1.00, and a
// nested request JWT signed with the account's secret whose iss is the JWT
// user name.
func (cfg Config) VerifyResponse(raw string, now time.Time) (*Response, error) {
	algs := cfg.ResponseAlgorithms()
	t, err := Verify(raw, VerifyOptions{Alg: algs[0], Also: algs[1:], Secret: cfg.Secret, Now: now, MaxAge: cfg.MaxAge})
	if err != nil {
		return nil, err
	}
	if raw, ok := t.Claims["aud"]; ok {
		var aud string
		if json.Unmarshal(raw, &aud) != nil || aud != cfg.JWTUsername {
			return nil, fmt.Errorf("%w: aud is not this account's JWT user", ErrMismatch)
		}
	} else if responseAudienceRequired {
		return nil, fmt.Errorf("%w: no aud", ErrMismatch)
	}
	if iss := t.StringClaim("iss"); iss != "" && iss != cfg.JWTUsername {
		return nil, fmt.Errorf("%w: unexpected iss", ErrMismatch)
	}
	r := &Response{Token: t}
	if err := json.Unmarshal(t.Claims["payload"], &r.Envelope); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if r.Envelope.Version != WSVersion {
		return nil, fmt.Errorf("%w: version %q", ErrMalformed, truncate(r.Envelope.Version, 10))
	}
	if len(r.Envelope.Response) == 0 {
		return nil, fmt.Errorf("%w: empty response list", ErrMalformed)
	}
	if r.Envelope.JWT == "" {
		// JS library v2 responses carry no nested JWT (the legacy "Handling
		// the response" example): CheckIssued then binds the AUTH element
		// itself to the payment.
		return r, nil
	}
	// The nested JWT is re-issued by the gateway at each step with a fresh
	// iat (notes §4.3); the outer token's iat already bounds freshness.
	nested, err := Verify(r.Envelope.JWT, VerifyOptions{Alg: algs[0], Also: algs[1:], Secret: cfg.Secret, IgnoreExpiry: true})
	if err != nil {
		return nil, fmt.Errorf("nested request jwt: %w", err)
	}
	if nested.StringClaim("iss") != cfg.JWTUsername {
		return nil, fmt.Errorf("%w: nested request jwt has another iss", ErrMismatch)
	}
	r.RequestJWT = nested
	return r, nil
}

// moneyFields are the request fields that decide what is paid, and to
// whom: the nested request JWT must carry exactly the ones Tender issued
// (present in both or in neither, with the same value). requesttypedescriptions
// shrinks as the chain proceeds (notes §4.3) and is checked separately.
var moneyFields = []string{"baseamount", "mainamount", "currencyiso3a", "sitereference", "orderreference"}

// echoedFields need not come back in the nested JWT (no public nested JWT
// carries termurl, and the gateway rewrites the payload at each step), but
// when the gateway does echo one it must be what Tender issued. termurl is
// in neither list: it only says where the 3-D Secure step returns.
var echoedFields = []string{"accounttypedescription", "settlestatus"}

// CheckIssued checks that the response is about the request JWT Tender
// issued (issued is its raw token): the nested request JWT carries the
// same money fields, its request types are what remains of ours, and the
// AUTH element (if any) is for the same amount and currency.
func (r *Response) CheckIssued(issued string) error {
	orig, err := Parse(issued)
	if err != nil {
		return fmt.Errorf("issued jwt: %w", err)
	}
	op, err := PayloadOf(orig)
	if err != nil {
		return err
	}
	if r.RequestJWT == nil {
		return r.checkAuthOnly(op)
	}
	np, err := PayloadOf(r.RequestJWT)
	if err != nil {
		return err
	}
	for _, f := range moneyFields {
		_, inOrig := op[f]
		_, inNested := np[f]
		if inOrig != inNested || ScalarField(op, f) != ScalarField(np, f) {
			return fmt.Errorf("%w: %s differs", ErrMismatch, f)
		}
	}
	for _, f := range echoedFields {
		if _, ok := np[f]; ok && ScalarField(op, f) != ScalarField(np, f) {
			return fmt.Errorf("%w: %s differs", ErrMismatch, f)
		}
	}
	ol, nl := []string{}, []string{}
	var err1, err2 error
	if raw, ok := op["requesttypedescriptions"]; ok {
		ol, err1 = stringList(raw)
	}
	if raw, ok := np["requesttypedescriptions"]; ok {
		nl, err2 = stringList(raw)
	}
	if err1 != nil || err2 != nil || len(nl) > len(ol) || !slices.Equal(ol[len(ol)-len(nl):], nl) {
		return fmt.Errorf("%w: requesttypedescriptions are not what remains of the issued ones", ErrMismatch)
	}
	if auth, ok := r.Auth(); ok {
		if c := auth.Get("currencyiso3a"); c != "" && c != ScalarField(op, "currencyiso3a") {
			return fmt.Errorf("%w: AUTH currency differs", ErrMismatch)
		}
		if b := auth.Get("baseamount"); b != "" && ScalarField(op, "baseamount") != "" && b != ScalarField(op, "baseamount") {
			return fmt.Errorf("%w: AUTH amount differs", ErrMismatch)
		}
		if m := auth.Get("mainamount"); m != "" && ScalarField(op, "mainamount") != "" && m != ScalarField(op, "mainamount") {
			return fmt.Errorf("%w: AUTH amount differs", ErrMismatch)
		}
		if o := auth.Get("orderreference"); o != "" && o != ScalarField(op, "orderreference") {
			return fmt.Errorf("%w: AUTH orderreference differs", ErrMismatch)
		}
	}
	return nil
}

// checkAuthOnly binds a response without a nested request JWT to the
// issued payload op: only an AUTH element that names the same order, amount
// and currency can decide the payment; anything else is not about it.
func (r *Response) checkAuthOnly(op map[string]json.RawMessage) error {
	e, ok := r.Auth()
	if !ok {
		e = r.Main()
	}
	if e.Get("orderreference") == "" || e.Get("orderreference") != ScalarField(op, "orderreference") {
		return fmt.Errorf("%w: no nested request jwt, and the result names another orderreference", ErrMismatch)
	}
	if e.Get("requesttypedescription") != "AUTH" {
		return nil // an ERROR or 3-D Secure step: it cannot make money move
	}
	if e.Get("currencyiso3a") != ScalarField(op, "currencyiso3a") {
		return fmt.Errorf("%w: AUTH currency differs", ErrMismatch)
	}
	cur := ScalarField(op, "currencyiso3a")
	want, ok1 := AmountOf(Result{Fields: map[string]string{"baseamount": ScalarField(op, "baseamount"), "mainamount": ScalarField(op, "mainamount")}}, cur)
	got, ok2 := AmountOf(e, cur)
	if !ok1 || !ok2 || got != want {
		return fmt.Errorf("%w: AUTH amount differs", ErrMismatch)
	}
	return nil
}

// OrderReference returns the orderreference of the nested request JWT
// (or, without one, of the result element), which names Tender's payment.
func (r *Response) OrderReference() string {
	if r.RequestJWT == nil {
		if e, ok := r.Auth(); ok {
			return e.Get("orderreference")
		}
		return r.Main().Get("orderreference")
	}
	p, err := PayloadOf(r.RequestJWT)
	if err != nil {
		return ""
	}
	return ScalarField(p, "orderreference")
}

var reFieldName = regexp.MustCompile(`^[a-z0-9]{1,40}$`)

var reMasked = regexp.MustCompile(`^[0-9]{0,6}[#*X]{3,}[0-9]{0,4}$`)

// MaskedPAN returns v if it is masked (at most the first 6 and last 4
// digits shown, as 411111######1111), else "" so a full card number is
// never stored.
func MaskedPAN(v string) string {
	if reMasked.MatchString(v) {
		return v
	}
	return ""
}

// detailFields are kept on the payment from the gateway's answer.
var detailFields = []string{"settlestatus", "enrolled", "status", "transactionreference", "authcode", "paymenttypedescription", "errorcode", "errormessage"}

// Details returns the fields Tender keeps on the payment from elements,
// later elements winning, with maskedpan only when masked.
func Details(elems ...Result) map[string]string {
	d := map[string]string{}
	for _, e := range elems {
		if e.Get("requesttypedescription") == "SUBSCRIPTION" {
			// The schedule's own transaction: kept apart, so the AUTH's
			// reference and settlestatus stay the payment's.
			if v := e.Get("transactionreference"); v != "" {
				d["subscription_transactionreference"] = v
			}
			continue
		}
		for _, f := range detailFields {
			if v := e.Get(f); v != "" {
				d[f] = v
			}
		}
		if m := MaskedPAN(e.Get("maskedpan")); m != "" {
			d["maskedpan"] = m
		}
	}
	return d
}

// AmountOf returns an element's amount in minor units from baseamount, or
// from mainamount for currency.
func AmountOf(e Result, currency string) (int64, bool) {
	if b := e.Get("baseamount"); b != "" {
		v, err := strconv.ParseInt(b, 10, 64)
		return v, err == nil && v >= 0
	}
	if m := e.Get("mainamount"); m != "" {
		return parseMain(m, currency)
	}
	return 0, false
}
