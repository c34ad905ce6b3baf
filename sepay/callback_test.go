package sepay_test

import (
	"context"
	"testing"
	"time"

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
	signed := func(change func(sepay.Values)) []byte { return signedResult(t, p, "43.21", change) }
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
	if err != nil || res.PaymentID != p.ID || res.Confirm || res.Update.Status != tender.StatusCaptured {
		t.Fatalf("matching callback: %+v %v", res, err)
	}
	if p.Status != tender.StatusProcessing {
		t.Fatalf("a callback changed the payment by itself: %s", p.Status)
	}
}

// signedResult is a GetTransactionStatusResult about p on sid1, signed with
// the simulated Sepay's key, with change applied to its values.
func signedResult(t *testing.T, p *tender.Payment, amount string, change func(sepay.Values)) []byte {
	t.Helper()
	v := sepay.Values{"key_index": "0", "version": sepay.ProtocolVersion, "login": login, "sid": sid1,
		"transactionref": sepay.TransactionRef(p.ID), "amount": amount, "status": sepay.StatusOK}
	change(v)
	sig, err := sepay.Sign(simKey, sepay.GetTransactionStatus.Result.Canonical(v))
	if err != nil {
		t.Fatal(err)
	}
	return sepay.GetTransactionStatus.MarshalResult(v, sig)
}

// What a signed result about the payment says, as an Update: the amount
// Sepay reports (none, zero or unreadable is an error, not an outcome;
// another one is captured as reported and raised), the decline's codes and
// a cancel on the terminal, and a terminal still at work.
func TestResultDecidesTheOutcome(t *testing.T) {
	e := newEnv(t, nil)
	p := e.payment(4321, sid1)
	if err := e.start(p, sid1); err != nil {
		t.Fatal(err)
	}
	decide := func(amount string, v sepay.Values) (tender.Update, error) {
		t.Helper()
		body := signedResult(t, p, amount, func(w sepay.Values) {
			for k, x := range v {
				w[k] = x
			}
		})
		res, err := e.conn.Callback(context.Background(), &tender.Callback{Account: e.account, Path: sepay.CallbackPath, Body: body, Find: e.find})
		if err != nil {
			return tender.Update{}, err
		}
		return *res.Update, nil
	}
	for _, a := range []string{"0.00", "-43.21", "43.215"} {
		if u, err := decide(a, nil); tender.ErrorCodeOf(err) != tender.EProvider {
			t.Errorf("approval of %s: %+v %v, want provider_error", a, u, err)
		}
	}
	u, err := decide("43.21", sepay.Values{"brand": "VISA"})
	if err != nil || u.Status != tender.StatusCaptured || u.Captured != 0 || u.Discrepancy != "" ||
		u.Note != "approved by the terminal (VISA)" || u.Details["amount"] != "" {
		t.Errorf("approval of the amount: %+v %v", u, err)
	}
	u, err = decide("40.00", nil)
	if err != nil || u.Status != tender.StatusCaptured || u.Captured != 4000 || u.Details["amount"] != "40.00" ||
		u.Discrepancy != "Sepay reports amount 40.00 EUR for this payment of 43.21 EUR" {
		t.Errorf("approval of another amount: %+v %v", u, err)
	}
	for _, c := range []struct {
		te, tr      string
		status      tender.Status
		code, pcode string
	}{
		{"116", "", tender.StatusFailed, tender.FailDeclined, "116"},
		{"000", "2627", tender.StatusFailed, tender.FailDeclined, "2627"},
		{"", "02629", tender.StatusCanceled, tender.FailCanceledAtTerminal, "02629"},
		{"100", "2621", tender.StatusCanceled, tender.FailCanceledAtTerminal, "100"},
	} {
		u, err := decide("43.21", sepay.Values{"status": sepay.StatusFailed, "transactionerror": c.te, "transactionresult": c.tr})
		if err != nil || u.Status != c.status || u.Failure == nil || u.Failure.Code != c.code || u.Failure.ProviderCode != c.pcode {
			t.Errorf("failed %q/%q: %+v %+v %v", c.te, c.tr, u, u.Failure, err)
		}
	}
	u, err = decide("43.21", sepay.Values{"status": sepay.StatusCanceled, "message": "by the clerk"})
	if err != nil || u.Status != tender.StatusCanceled || u.Failure.Message != "Canceled: by the clerk" || u.Failure.ProviderCode != sepay.StatusCanceled {
		t.Errorf("canceled: %+v %v", u, err)
	}
	u, err = decide("43.21", sepay.Values{"status": sepay.StatusCanceled})
	if err != nil || u.Failure.Message != "Canceled" {
		t.Errorf("canceled without a message: %+v %v", u, err)
	}
	for code, note := range map[string]string{sepay.StatusQueued: "waiting for the terminal to pick the payment up",
		sepay.StatusInProgress: "the terminal is working on the payment"} {
		u, err := decide("40.00", sepay.Values{"status": code})
		if err != nil || u.Status != "" || u.Note != note || u.Discrepancy != "" || u.CheckIn != callbackPoll {
			t.Errorf("%s: %+v %v", code, u, err)
		}
	}
	p.Status = tender.StatusPending
	if u, err := decide("43.21", sepay.Values{"status": sepay.StatusQueued}); err != nil || u.Status != tender.StatusProcessing {
		t.Errorf("queued while pending: %+v %v", u, err)
	}
}

// callbackPoll is the test connector's CallbackPollInterval.
const callbackPoll = 7 * time.Second

// A payment sent with a callbackurl is asked about only every
// CallbackPollInterval (its callback tells the outcome; the poll finds a
// lost one); one sent without is polled every PollInterval. A callback
// about a transaction still open only wakes the engine (Confirm).
func TestPollingFollowsTheCallback(t *testing.T) {
	e := newEnv(t, nil)
	p := e.payment(4321, sid1)
	u, err := e.conn.Start(context.Background(), e.op(p, sid1))
	if err != nil || u.CheckIn != callbackPoll {
		t.Fatalf("start with a callback: %+v %v", u, err)
	}
	e.apply(p, u)
	res, err := e.conn.Callback(context.Background(), &tender.Callback{Account: e.account, Path: sepay.CallbackPath,
		Body: signedResult(t, p, "43.21", func(v sepay.Values) { v["status"] = sepay.StatusInProgress }), Find: e.find})
	if err != nil || !res.Confirm {
		t.Fatalf("callback of an open transaction: %+v %v", res, err)
	}

	e.account.Settings["callbacks"] = "false"
	q := e.payment(1234, sid2)
	u, err = e.conn.Start(context.Background(), e.op(q, sid2))
	if err != nil || u.CheckIn != time.Second {
		t.Fatalf("start without a callback: %+v %v", u, err)
	}
	e.apply(q, u)
	if u, err := e.status(q, sid2); err != nil || u.CheckIn != time.Second {
		t.Fatalf("queued without a callback: %+v %v", u, err)
	}
}

// The defaults: a payment sent with a callback is asked about every 10 s,
// one without every 2 s.
func TestPollingDefaults(t *testing.T) {
	e := newEnv(t, nil)
	e.conn = sepay.New(sepay.Options{Clock: e.clock, RequestTimeout: 2 * time.Second})
	p := e.payment(4321, sid1)
	if u, err := e.conn.Start(context.Background(), e.op(p, sid1)); err != nil || u.CheckIn != 10*time.Second {
		t.Fatalf("start with a callback: %+v %v", u, err)
	}
	e.account.Settings["callbacks"] = "false"
	q := e.payment(1234, sid2)
	if u, err := e.conn.Start(context.Background(), e.op(q, sid2)); err != nil || u.CheckIn != 2*time.Second {
		t.Fatalf("start without a callback: %+v %v", u, err)
	}
}
