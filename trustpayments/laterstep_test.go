package trustpayments_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
	tp "github.com/tenderpay/tender/trustpayments"
)

// An approved AUTH holds the shopper's money even when a step chained
// after it fails: the SUBSCRIPTION the simulator refuses here (frequency 0,
// errorcode 30000, the chain's last element, marked TRYAGAIN). The payment
// is captured, as
// the AUTH says, and the note tells of the failed step; calling it failed
// would leave money taken that Tender does not account for.
func TestApprovedAuthDecidesOverLaterStep(t *testing.T) {
	e := newEnv(t)
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 999, Currency: "GBP", Status: tender.StatusPending, Connector: tp.Name,
		Account: e.acct.ID, CaptureMode: tender.CaptureAutomatic, Customer: "c1", SetupFutureUsage: tender.SetupOffSession, CreatedAt: e.clock.Now(),
		// Frequency 0 is refused by ValidatePayment; the gateway refuses
		// it too, after the AUTH, which is the shape under test.
		Subscription: &tender.Subscription{Type: "recurring", Unit: "month", Frequency: 0, FinalNumber: 3, Number: 1}}
	u, err := e.conn.Start(context.Background(), e.op(p, 0))
	if err != nil {
		t.Fatal(err)
	}
	e.apply(p, u)
	e.payments[p.ID] = p
	raw, err := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111"))
	if err != nil {
		t.Fatal(err)
	}
	env, main := decode(t, raw)
	if last := env.Response[len(env.Response)-1]; main.Get("requesttypedescription") != "AUTH" || last.Get("requesttypedescription") != "SUBSCRIPTION" || last.Get("errorcode") != "30000" {
		t.Fatalf("the simulator did not fail the SUBSCRIPTION after the AUTH: %+v", env.Response)
	}
	if a := e.sim.Approved(p.ID); len(a) != 1 || a[0].BaseAmount != 999 {
		t.Fatalf("ledger %+v", a)
	}
	res, err := e.ret(p, url.Values{"jwt": {raw}, "orderreference": {p.ID}})
	if err != nil || res.Update == nil {
		t.Fatalf("return: %+v %v", res, err)
	}
	if p.Status != tender.StatusCaptured || p.Failure != nil || p.ProviderReference != e.sim.Approved(p.ID)[0].Reference {
		t.Fatalf("status %s failure %+v ref %q: the approved AUTH must decide", p.Status, p.Failure, p.ProviderReference)
	}
	if n := res.Update.Note; !strings.Contains(n, "SUBSCRIPTION") || !strings.Contains(n, "30000") {
		t.Fatalf("note %q does not tell of the failed SUBSCRIPTION", n)
	}
}

// A failed AUTH decides whatever follows it, and a verify-only
// ACCOUNTCHECK that was approved does not outvote the 3-D Secure step
// after it that failed.
func TestAuthElementDecides(t *testing.T) {
	el := func(kv ...string) tp.Result {
		r := tp.Result{Fields: map[string]string{}}
		for i := 0; i < len(kv); i += 2 {
			r.Fields[kv[i]] = kv[i+1]
		}
		return r
	}
	for _, tc := range []struct {
		name  string
		chain []tp.Result
		want  tender.Status
		fail  string
	}{
		{"approved AUTH, failed SUBSCRIPTION", []tp.Result{
			el("requesttypedescription", "AUTH", "errorcode", "0", "settlestatus", "2", "transactionreference", "1-2-3"),
			el("requesttypedescription", "SUBSCRIPTION", "errorcode", "70000", "customeroutput", "RESULT")}, tender.StatusAuthorized, ""},
		{"declined AUTH, then a step that says 0", []tp.Result{
			el("requesttypedescription", "AUTH", "errorcode", "70000", "settlestatus", "3", "transactionreference", "1-2-3"),
			el("requesttypedescription", "SUBSCRIPTION", "errorcode", "0", "customeroutput", "RESULT")}, tender.StatusFailed, tender.FailDeclined},
		{"approved verify, failed 3-D Secure", []tp.Result{
			el("requesttypedescription", "ACCOUNTCHECK", "errorcode", "0", "baseamount", "0", "settlestatus", "0", "transactionreference", "1-2-3"),
			el("requesttypedescription", "THREEDQUERY", "errorcode", "60022", "customeroutput", "RESULT")}, tender.StatusFailed, tender.FailAuthentication},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := tp.UpdateOf(&tp.Response{Envelope: tp.ResponseEnvelope{Response: tc.chain}})
			if u.Status != tc.want || (tc.fail == "") != (u.Failure == nil) || u.Failure != nil && u.Failure.Code != tc.fail {
				t.Fatalf("%s %+v, want %s %s", u.Status, u.Failure, tc.want, tc.fail)
			}
			if tc.fail == "" && !strings.Contains(u.Note, "SUBSCRIPTION failed with errorcode 70000") {
				t.Fatalf("note %q", u.Note)
			}
		})
	}
}
