package trustpayments

// Unit tests written against the survivors of the mutation run at b0a23dc
// (MUTANTS.md, "trustpayments") where no checkout through the simulator
// reaches the rule.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// The limiter of checks caused by returns without a JWT forgets every
// payment once it holds 10000, rather than grow: a bound on its memory.
func TestCheckLimiterForgetsAtItsBound(t *testing.T) {
	var l checkLimiter
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10000 {
		if !l.allow(fmt.Sprint(i), now) {
			t.Fatalf("payment %d refused its first check", i)
		}
	}
	if l.allow("0", now) {
		t.Fatal("payment 0 checked twice in a minute")
	}
	if !l.allow("new", now) || len(l.last) != 1 {
		t.Fatalf("the 10001st payment: %d remembered, want 1 (forgotten at 10000)", len(l.last))
	}
	if !l.allow("0", now) {
		t.Fatal("payment 0 still remembered after the limiter forgot")
	}
}

// The merchant sees which fields the gateway refused, at most five.
func TestFailureNamesInvalidFields(t *testing.T) {
	f := FailureOf("30000", []string{"pan", "Not A Field", "expirydate", "securitycode", "billingpostcode", "billingcountryiso2a", "billingemail"})
	want := "Trust Payments rejected the payment data (invalid field: pan, expirydate, securitycode, billingpostcode, billingcountryiso2a)"
	if f.Code != tender.FailInvalid || f.Message != want || f.ProviderCode != "30000" {
		t.Fatalf("%+v\nwant message %q", f, want)
	}
	if f := FailureOf("30000", []string{"Not A Field"}); f.Message != "Trust Payments rejected the payment data" {
		t.Fatalf("no field: %q", f.Message)
	}
}

// An errorcode is shown as it is up to 6 digits; anything else as "?".
func TestSafeCodeLength(t *testing.T) {
	for code, want := range map[string]string{"123456": "123456", "1234567": "?", "0": "0", "7000a": "?"} {
		if got := FailureOf(code, nil).ProviderCode; got != want {
			t.Errorf("%q shown as %q, want %q", code, got, want)
		}
	}
}

// Classify: any five-digit code starting with 3 is invalid data.
func TestClassifyInvalidFamily(t *testing.T) {
	for code, want := range map[string]Outcome{"31000": OutcomeInvalid, "39999": OutcomeInvalid, "3": OutcomeUnknown, "3000": OutcomeUnknown, "300000": OutcomeUnknown} {
		if got := Classify(code); got != want {
			t.Errorf("Classify(%s) = %v, want %v", code, got, want)
		}
	}
}

// An AUTH record with only mainamount gives its amount in minor units.
func TestAmountOfMainAmount(t *testing.T) {
	for m, want := range map[string]int64{"10.50": 1050, "0.01": 1} {
		if v, ok := AmountOf(Result{Fields: map[string]string{"mainamount": m}}, "GBP"); !ok || v != want {
			t.Errorf("mainamount %s: %d %v, want %d", m, v, ok, want)
		}
	}
	if _, ok := AmountOf(Result{Fields: map[string]string{"mainamount": "ten"}}, "GBP"); ok {
		t.Error("mainamount ten read as an amount")
	}
}

// When the element that is the result is not the AUTH but an AUTH is on
// record and failed, the AUTH's errorcode decides.
func TestFailedAuthDecides(t *testing.T) {
	r := &Response{Envelope: ResponseEnvelope{Response: []Result{
		{Fields: map[string]string{"requesttypedescription": "THREEDQUERY", "errorcode": "0", "customeroutput": "RESULT"}},
		{Fields: map[string]string{"requesttypedescription": "AUTH", "errorcode": "70000", "settlestatus": "3", "transactionreference": "1-2-3"}},
	}}}
	u := UpdateOf(r)
	if u.Status != tender.StatusFailed || u.Failure == nil || u.Failure.Code != tender.FailDeclined {
		t.Fatalf("%+v", u)
	}
}

// A merchant's own fields keep their values when the payment's locale is
// added to them.
func TestLocaleAddedToMerchantFields(t *testing.T) {
	p := &tender.Payment{Input: []byte(`{"billingfirstname":"Ann"}`)}
	m, err := extraOf(p, "nl-NL")
	if err != nil || m["billingfirstname"] != "Ann" || m["locale"] != "nl_NL" || len(m) != 2 {
		t.Fatalf("%v %v", m, err)
	}
}

// Webservices errorcodes after which nothing happened are told apart.
func TestWSErrorCodes(t *testing.T) {
	for code, want := range map[string]struct {
		code  tender.ErrorCode
		param string
	}{
		"60017": {tender.EConflict, ""}, "20005": {tender.EConflict, ""}, "20007": {tender.EInvalid, "amount"},
		"60016": {tender.EInvalid, "amount"}, "70000": {tender.EDeclined, ""}, "60010": {tender.EUnavailable, ""}, "12345": {tender.EProvider, ""},
	} {
		e := tender.AsError(wsError(code, "no"))
		if e.Code != want.code || e.Param != want.param || e.ProviderCode != code {
			t.Errorf("%s: %+v, want %s %q", code, e, want.code, want.param)
		}
	}
}

// Parse takes a token of up to maxTokenLen bytes, not one more; its
// errors name the segment at fault.
func TestParseBounds(t *testing.T) {
	head := "eyJhbGciOiJIUzI1NiJ9." + b64.EncodeToString([]byte(`{"iat":1}`)) + "."
	sig := strings.Repeat("A", maxTokenLen-len(head))
	if len(sig)%4 == 1 {
		t.Fatal("pick another header: the signature cannot be that long")
	}
	if _, err := Parse(head + sig); err != nil {
		t.Fatalf("%d bytes: %v", maxTokenLen, err)
	}
	if _, err := Parse(head + sig + "AAA"); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("%d bytes: %v", maxTokenLen+3, err)
	}
	if _, err := Parse(head + "!!"); err == nil || !strings.Contains(err.Error(), "segment 3 ") {
		t.Fatalf("bad signature segment: %v", err)
	}
}

// iat is seconds since the epoch, from 0 to 1e11.
func TestIssuedAtBounds(t *testing.T) {
	if at, err := (&Token{Claims: map[string]json.RawMessage{"iat": json.RawMessage("1565346539.5")}}).IssuedAt(); err != nil || at.Nanosecond() != 5e8 || at.Unix() != 1565346539 {
		t.Errorf("iat 1565346539.5: %v %v", at, err)
	}
	for raw, ok := range map[string]bool{"0": true, "1e11": true, "-1": false, "100000000001": false} {
		_, err := (&Token{Claims: map[string]json.RawMessage{"iat": json.RawMessage(raw)}}).IssuedAt()
		if (err == nil) != ok {
			t.Errorf("iat %s: %v", raw, err)
		}
	}
}

// truncate cuts what is longer than n, and marks the cut.
func TestTruncate(t *testing.T) {
	if truncate("abc", 3) != "abc" || truncate("abcd", 3) != "abc…" {
		t.Fatal(truncate("abc", 3), truncate("abcd", 3))
	}
	if string(PrettyJSON([]byte(`{"a":1}`))) != "{\n  \"a\": 1\n}" || string(PrettyJSON([]byte("no"))) != "no" {
		t.Fatalf("%s", PrettyJSON([]byte(`{"a":1}`)))
	}
}

// An AUTH record without settlebaseamount is released for the capture of
// the whole amount only.
func TestReleasedWithoutSettleAmount(t *testing.T) {
	p := &tender.Payment{Amount: 2000}
	r := Result{Fields: map[string]string{"settlestatus": "0"}}
	if !released(r, 2000, p) || released(r, 1500, p) {
		t.Fatalf("released(2000) %v, released(1500) %v", released(r, 2000, p), released(r, 1500, p))
	}
}

// What the AUTH record says about a capture of 2000 authorized.
func TestCaptureOutcome(t *testing.T) {
	p := &tender.Payment{Amount: 2000, Currency: "GBP"}
	for _, tc := range []struct {
		ss, sba string
		amount  int64
		want    tender.OpOutcome
	}{
		{"0", "1500", 1500, tender.OpSucceeded},
		{"3", "2000", 1500, tender.OpFailed},
		{"100", "1500", 1800, tender.OpFailed},
		{"10", "1500", 1000, tender.OpFailed},
		{"0", "1500", 1800, tender.OpFailed},
		{"1", "1500", 1800, tender.OpFailed},
		{"0", "1500", 1000, tender.OpPending}, // settlebaseamount may go down to it yet
		{"2", "2000", 1500, tender.OpPending},
	} {
		out, _, err := captureOutcome(Result{Fields: map[string]string{"settlestatus": tc.ss, "settlebaseamount": tc.sba}}, &tender.Op{Payment: p, Amount: tc.amount})
		if err != nil || out != tc.want {
			t.Errorf("settlestatus %s settlebaseamount %s, capture of %d: %s %v, want %s", tc.ss, tc.sba, tc.amount, out, err, tc.want)
		}
	}
}

// The result of a response is st.js's: the first element with
// customeroutput, else the last; nothing in an empty list.
func TestMainIsTheResult(t *testing.T) {
	el := func(typ, co string) Result {
		return Result{Fields: map[string]string{"requesttypedescription": typ, "customeroutput": co}}
	}
	for _, tc := range []struct {
		list []Result
		want string
	}{
		{[]Result{el("THREEDQUERY", ""), el("AUTH", "RESULT"), el("RISKDEC", "")}, "AUTH"},
		{[]Result{el("THREEDQUERY", ""), el("AUTH", "")}, "AUTH"},
		{[]Result{el("THREEDQUERY", "THREEDREDIRECT"), el("AUTH", "RESULT")}, "THREEDQUERY"},
		{nil, ""},
	} {
		r := &Response{Envelope: ResponseEnvelope{Response: tc.list}}
		if got := r.Main().Get("requesttypedescription"); got != tc.want {
			t.Errorf("%v: main %q, want %q", tc.list, got, tc.want)
		}
	}
}

// A response may name its issuer only as this account's JWT user.
func TestResponseIssuer(t *testing.T) {
	cfg := Config{JWTUsername: "tender_v3", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}
	for iss, ok := range map[string]bool{"tender_v3": true, "someone_else": false} {
		c := claimsOf(t, shapeAppleAuth)
		c["iss"] = iss
		_, err := cfg.VerifyResponse(sign(t, HS256, seedSecret, c), time.Unix(appleAuthIat, 0))
		if ok && err != nil || !ok && !errors.Is(err, ErrMismatch) {
			t.Errorf("iss %s: %v", iss, err)
		}
	}
}

// On an account that sends mainamount, the AUTH's mainamount binds the
// response to the issued amount as baseamount does.
func TestAuthMainAmountBinds(t *testing.T) {
	issued := sign(t, HS256, seedSecret, map[string]any{"iss": "tender_jwt", "iat": 1, "payload": map[string]any{
		"currencyiso3a": "GBP", "mainamount": "10.00", "sitereference": "test_site12345", "orderreference": "pay_1",
		"requesttypedescriptions": []string{"AUTH"}}})
	tok, err := Parse(issued)
	if err != nil {
		t.Fatal(err)
	}
	for main, ok := range map[string]bool{"10.00": true, "": true, "10.01": false} {
		auth := Result{Fields: map[string]string{"requesttypedescription": "AUTH", "errorcode": "0", "currencyiso3a": "GBP", "orderreference": "pay_1"}}
		if main != "" {
			auth.Fields["mainamount"] = main
		}
		r := &Response{RequestJWT: tok, Envelope: ResponseEnvelope{Response: []Result{auth}}}
		if err := r.CheckIssued(issued); ok && err != nil || !ok && !errors.Is(err, ErrMismatch) {
			t.Errorf("AUTH mainamount %q: %v", main, err)
		}
	}
}

// A subscription's own transaction is kept apart from the AUTH's.
func TestDetailsKeepTheSubscriptionApart(t *testing.T) {
	d := Details(Result{Fields: map[string]string{"requesttypedescription": "AUTH", "transactionreference": "1-2-3", "settlestatus": "0"}},
		Result{Fields: map[string]string{"requesttypedescription": "SUBSCRIPTION", "transactionreference": "1-2-4", "settlestatus": "2"}})
	if d["transactionreference"] != "1-2-3" || d["settlestatus"] != "0" || d["subscription_transactionreference"] != "1-2-4" {
		t.Fatalf("%v", d)
	}
}

// baseamount 0 (a verify-only payment's ACCOUNTCHECK) is an amount.
func TestAmountOfZero(t *testing.T) {
	if v, ok := AmountOf(Result{Fields: map[string]string{"baseamount": "0"}}, "GBP"); !ok || v != 0 {
		t.Fatalf("%d %v", v, ok)
	}
	if _, ok := AmountOf(Result{Fields: map[string]string{"baseamount": "-1"}}, "GBP"); ok {
		t.Fatal("baseamount -1 read as an amount")
	}
}
