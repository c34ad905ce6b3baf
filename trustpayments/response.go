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
	Token      *Token
	Envelope   ResponseEnvelope
	RequestJWT *Token // the nested request JWT, verified
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
// "Alleen waarden van "AUTH" geven de autorisatie van een betaling aan").
func (r *Response) Auth() (Result, bool) {
	for _, e := range r.Envelope.Response {
		if e.Get("requesttypedescription") == "AUTH" {
			return e, true
		}
	}
	return Result{}, false
}

// ErrMismatch means a response is genuine but not about the payment it was
// presented for (another order, amount, currency or site).
var ErrMismatch = errors.New("response is for another payment")

// VerifyResponse checks a response JWT strictly (notes §5): the pinned
// response algorithm, the signature over the received segments, iat within
// the account's window, aud = the JWT user name, no foreign iss, version
// 1.00, and a nested request JWT signed with the account's secret and
// algorithm whose iss is the JWT user name.
func (cfg Config) VerifyResponse(raw string, now time.Time) (*Response, error) {
	t, err := Verify(raw, VerifyOptions{Alg: cfg.ResponseAlgorithm, Secret: cfg.Secret, Now: now, MaxAge: cfg.MaxAge})
	if err != nil {
		return nil, err
	}
	if aud := t.StringClaim("aud"); aud != cfg.JWTUsername && (aud != "" || responseAudienceRequired) {
		return nil, fmt.Errorf("%w: aud is not this account's JWT user", ErrMismatch)
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
	// The nested JWT is re-issued by the gateway at each step with a fresh
	// iat (notes §4.3); the outer token's iat already bounds freshness.
	nested, err := Verify(r.Envelope.JWT, VerifyOptions{Alg: cfg.Algorithm, Secret: cfg.Secret, IgnoreExpiry: true})
	if err != nil {
		return nil, fmt.Errorf("nested request jwt: %w", err)
	}
	if nested.StringClaim("iss") != cfg.JWTUsername {
		return nil, fmt.Errorf("%w: nested request jwt has another iss", ErrMismatch)
	}
	r.RequestJWT = nested
	return r, nil
}

// lockedFields are the request fields that the nested request JWT must
// carry exactly as Tender issued them. requesttypedescriptions shrinks as
// the chain proceeds (notes §4.3) and is checked separately.
var lockedFields = []string{"accounttypedescription", "baseamount", "mainamount", "currencyiso3a", "sitereference", "orderreference", "settlestatus", "termurl"}

// CheckIssued checks that the response is about the request JWT Tender
// issued (issued is its raw token): the nested request JWT carries the
// same locked fields, its request types are what remains of ours, and the
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
	np, err := PayloadOf(r.RequestJWT)
	if err != nil {
		return err
	}
	for _, f := range lockedFields {
		_, inOrig := op[f]
		_, inNested := np[f]
		if inOrig != inNested || ScalarField(op, f) != ScalarField(np, f) {
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

// OrderReference returns the orderreference of the nested request JWT,
// which names Tender's payment.
func (r *Response) OrderReference() string {
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
