package sepay_test

import (
	"context"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/sepay"
)

// A callback signed by Sepay is still checked against the stored payment:
// another terminal's (sid), another login's or an unknown reference's is
// refused, and so is one on another path; the payment is left as it was.
func TestCallbackMustMatchThePayment(t *testing.T) {
	e := newEnv(t, nil)
	p := e.payment(4321, sid1)
	if err := e.start(p, sid1); err != nil {
		t.Fatal(err)
	}
	signed := func(change func(sepay.Values)) []byte {
		v := sepay.Values{"key_index": "0", "version": sepay.ProtocolVersion, "login": login, "sid": sid1,
			"transactionref": sepay.TransactionRef(p.ID), "amount": "43.21", "status": sepay.StatusOK}
		change(v)
		sig, err := sepay.Sign(simKey, sepay.GetTransactionStatus.Result.Canonical(v))
		if err != nil {
			t.Fatal(err)
		}
		return sepay.GetTransactionStatus.MarshalResult(v, sig)
	}
	call := func(path string, body []byte) (*tender.CallbackResult, error) {
		return e.conn.Callback(context.Background(), &tender.Callback{Account: e.account, Path: path, Body: body, Find: e.find})
	}
	for name, c := range map[string]struct {
		path   string
		change func(sepay.Values)
		code   tender.ErrorCode
	}{
		"another terminal": {sepay.CallbackPath, func(v sepay.Values) { v["sid"] = sid2 }, tender.EInvalid},
		"another login":    {sepay.CallbackPath, func(v sepay.Values) { v["login"] = login + "x" }, tender.EInvalid},
		"unknown ref":      {sepay.CallbackPath, func(v sepay.Values) { v["transactionref"] = "nosuchref" }, tender.ENotFound},
		"another path":     {"/elsewhere", func(sepay.Values) {}, tender.ENotFound},
	} {
		if res, err := call(c.path, signed(c.change)); tender.ErrorCodeOf(err) != c.code {
			t.Errorf("%s: %+v %v, want %s", name, res, err, c.code)
		}
	}
	res, err := call(sepay.CallbackPath, signed(func(sepay.Values) {}))
	if err != nil || res.PaymentID != p.ID || !res.Confirm || res.Update.Status != tender.StatusCaptured {
		t.Fatalf("matching callback: %+v %v", res, err)
	}
	if p.Status != tender.StatusProcessing {
		t.Fatalf("a callback changed the payment by itself: %s", p.Status)
	}
}
