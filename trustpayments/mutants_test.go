package trustpayments_test

// Tests written against the survivors of the mutation run at b0a23dc
// (MUTANTS.md, "trustpayments"): each pins a rule that a surviving mutant
// broke without any test noticing.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	tp "github.com/tenderpay/tender/trustpayments"
)

// post sends body to the return callback with the given method and
// content type, the payments of e to be found.
func (e *env) post(method, contentType, body string) (*tender.CallbackResult, error) {
	req := httptest.NewRequest(method, callbackURL+"/return", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return e.conn.Callback(context.Background(), &tender.Callback{Account: &e.acct, Path: "return", Request: req, Body: []byte(body),
		Find: func(ctx context.Context, ref string) (*tender.Payment, error) {
			if p, ok := e.payments[ref]; ok {
				return p, nil
			}
			return nil, tender.Errorf(tender.ENotFound, "no payment")
		}})
}

// The return is a POST; anything else is refused before it is read.
func TestReturnMustBePost(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	form := url.Values{"orderreference": {p.ID}}.Encode()
	if _, err := e.post(http.MethodGet, "application/x-www-form-urlencoded", form); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("GET: %v", err)
	}
	if res, err := e.post(http.MethodPost, "application/x-www-form-urlencoded", form); err != nil || res.PaymentID != p.ID {
		t.Fatalf("POST: %+v %v", res, err)
	}
}

// A return without a JWT asks for a status check only while the payment
// is open (the shopper may still be paying); a decided payment is not
// checked again. The limit of one check a minute is per payment, whoever
// else is checked meanwhile.
func TestReturnWithoutJWTChecksOnlyOpenPayments(t *testing.T) {
	e := newEnv(t)
	for st, check := range map[tender.Status]bool{
		tender.StatusRequiresAction: true, tender.StatusPending: true, tender.StatusUnknown: true,
		tender.StatusCaptured: false, tender.StatusAuthorized: false, tender.StatusFailed: false, tender.StatusCanceled: false,
	} {
		p := e.start(1000, false)
		p.Status = st
		res, err := e.ret(p, url.Values{"orderreference": {p.ID}, "errorcode": {"50003"}})
		if err != nil || res.PaymentID != p.ID {
			t.Fatalf("%s: %+v %v", st, res, err)
		}
		if res.Confirm != check || (res.Update != nil) != check {
			t.Errorf("%s: confirm %v, update %+v; want a check: %v", st, res.Confirm, res.Update, check)
		}
	}

	p, q := e.start(1000, false), e.start(1000, false)
	for i, x := range []*tender.Payment{p, q, p, q} {
		res, err := e.ret(x, url.Values{"orderreference": {x.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if want := i < 2; res.Confirm != want {
			t.Errorf("return %d (%s): confirm %v, want %v", i, x.ID, res.Confirm, want)
		}
	}
}

// A return names its payment by an orderreference of at most 25
// characters (the gateway's limit), and no longer.
func TestReturnReferenceLength(t *testing.T) {
	e := newEnv(t)
	for n, ok := range map[int]bool{25: true, 26: false} {
		id := "pay_" + strings.Repeat("x", n-4)
		e.payments[id] = &tender.Payment{ID: id, Amount: 1000, Currency: "GBP", Status: tender.StatusRequiresAction, Connector: tp.Name, Account: e.acct.ID}
		res, err := e.ret(e.payments[id], url.Values{"orderreference": {id}})
		if ok && (err != nil || res.PaymentID != id) {
			t.Errorf("%d characters: %+v %v", n, res, err)
		}
		if !ok && tender.ErrorCodeOf(err) != tender.EInvalid {
			t.Errorf("%d characters: %v, want invalid", n, err)
		}
	}
}

// A response JWT that does not verify is refused, and the refusal is
// recorded on the payment it names: the form's orderreference, else the
// orderreference in its (unverified) nested request JWT.
func TestRefusedResponseNamesItsPayment(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	good, err := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111"))
	if err != nil {
		t.Fatal(err)
	}
	segs := strings.Split(good, ".")
	sig := []byte(segs[2])
	if sig[0] == 'A' {
		sig[0] = 'B'
	} else {
		sig[0] = 'A'
	}
	bad := segs[0] + "." + segs[1] + "." + string(sig)
	for name, form := range map[string]url.Values{
		"without orderreference": {"jwt": {bad}},
		"with orderreference":    {"jwt": {bad}, "orderreference": {p.ID}},
	} {
		res, err := e.ret(p, form)
		if tender.ErrorCodeOf(err) != tender.EInvalid || res == nil || res.PaymentID != p.ID {
			t.Errorf("%s: %+v %v; want invalid, naming %s", name, res, err, p.ID)
		}
	}
	if p.Status != tender.StatusRequiresAction {
		t.Fatalf("status %s", p.Status)
	}
}

// An app posts the response JWT as JSON and gets JSON back.
func TestJSONReturn(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	raw, err := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"jwt": raw, "n": 1})
	res, err := e.post(http.MethodPost, "application/json", string(body))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if res.Landing || res.ContentType != "application/json" || json.Unmarshal(res.Body, &got) != nil || got["payment_id"] != p.ID {
		t.Fatalf("reply %+v %s", res, res.Body)
	}
	if res.Update == nil || res.Update.Status != tender.StatusCaptured {
		t.Fatalf("update %+v", res.Update)
	}
}

// A response from before the chain reached AUTH (the 3-D Secure
// challenge's redirect) is no news for the payment, but is noted on it.
func TestResponseBeforeAuthIsNoted(t *testing.T) {
	e := newEnv(t)
	p := e.start(2500, false)
	raw, err := e.gateway(p.NextAction.Data["jwt"], card("4000000000001091"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.ret(p, url.Values{"jwt": {raw}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Update == nil || res.Update.Status != "" || !strings.Contains(res.Update.Note, "without an approved AUTH") {
		t.Fatalf("update %+v", res.Update)
	}
	if p.Status != tender.StatusRequiresAction {
		t.Fatalf("status %s", p.Status)
	}
}

// An authorization (manual capture) stores the card it was asked to save,
// as a capture does; and a second AUTH on the same checkout of an
// authorized payment is cancelled at once, as one of a captured payment.
func TestAuthorizationSavesCardAndTakesNoSecondAuth(t *testing.T) {
	e := newEnv(t)
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 1500, Currency: "GBP", Status: tender.StatusPending, Connector: tp.Name,
		Account: e.acct.ID, CaptureMode: tender.CaptureManual, Customer: "c1", SetupFutureUsage: tender.SetupOffSession, CreatedAt: e.clock.Now()}
	if err := e.conn.ValidatePayment(p, &e.acct, nil); err != nil {
		t.Fatal(err)
	}
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
	res, err := e.ret(p, url.Values{"jwt": {raw}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != tender.StatusAuthorized || res.Update.SavedCard == nil || res.Update.SavedCard.ProviderReference != p.ProviderReference {
		t.Fatalf("status %s, saved card %+v", p.Status, res.Update.SavedCard)
	}
	first := p.ProviderReference
	e.pay(p, "4111111111111111")
	auths := e.sim.Approved(p.ID)
	if p.Status != tender.StatusAuthorized || p.ProviderReference != first || len(auths) != 2 || auths[0].SettleStatus != "2" || auths[1].SettleStatus != "3" {
		t.Fatalf("second AUTH of an authorized payment: %s %s, ledger %+v", p.Status, p.ProviderReference, auths)
	}
}

// A connector made without a client or a timeout uses its defaults (a
// client of its own, 30 s a call) and reaches the gateway.
func TestConnectorDefaults(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	if _, err := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111")); err != nil {
		t.Fatal(err)
	}
	c := tp.New(tp.Options{Clock: e.clock})
	u, err := c.Status(context.Background(), e.op(p, 0))
	if err != nil || u.Status != tender.StatusCaptured {
		t.Fatalf("default connector: %+v %v", u, err)
	}
}

// ValidatePayment refuses what the checkout cannot carry, before a JWT is
// issued.
func TestValidatePaymentRefuses(t *testing.T) {
	e := newEnv(t)
	base := func() *tender.Payment {
		return &tender.Payment{ID: tender.NewID("pay"), Amount: 1000, Currency: "GBP", Connector: tp.Name, Account: e.acct.ID, CaptureMode: tender.CaptureAutomatic}
	}
	for _, tc := range []struct {
		name  string
		edit  func(*tender.Payment)
		param string // "" accepted
	}{
		{"plain", func(p *tender.Payment) {}, ""},
		{"negative", func(p *tender.Payment) { p.Amount = -1 }, "amount"},
		{"zero", func(p *tender.Payment) { p.Amount = 0 }, "amount"},
		{"zero saving a card", func(p *tender.Payment) { p.Amount = 0; p.SetupFutureUsage = tender.SetupOffSession; p.Customer = "c1" }, ""},
		{"merchant field", func(p *tender.Payment) { p.Input = json.RawMessage(`{"billingfirstname":"Ann"}`) }, ""},
		{"gateway field", func(p *tender.Payment) { p.Input = json.RawMessage(`{"baseamount":"1"}`) }, "trustpayments.baseamount"},
		{"currency", func(p *tender.Payment) { p.Currency = "gbp" }, "?"},
	} {
		p := base()
		tc.edit(p)
		err := e.conn.ValidatePayment(p, &e.acct, nil)
		switch {
		case tc.param == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.param == "?" && tender.ErrorCodeOf(err) != tender.EInvalid:
			t.Errorf("%s: %v, want invalid", tc.name, err)
		case tc.param != "" && tc.param != "?" && (tender.ErrorCodeOf(err) != tender.EInvalid || paramOf(err) != tc.param):
			t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.param)
		}
	}
}

// Start asks for the first check once the request JWT can no longer be
// used (MaxAge) and the shopper's last submit has had its grace.
func TestStartChecksAfterTheCheckout(t *testing.T) {
	e := newEnv(t)
	cfg, err := tp.ParseConfig(&e.acct)
	if err != nil {
		t.Fatal(err)
	}
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 1000, Currency: "GBP", Status: tender.StatusPending, Connector: tp.Name, Account: e.acct.ID, CreatedAt: e.clock.Now()}
	u, err := e.conn.Start(context.Background(), e.op(p, 0))
	if err != nil || u.CheckIn != cfg.MaxAge+tp.CheckoutGrace {
		t.Fatalf("CheckIn %v (%v), want %v", u.CheckIn, err, cfg.MaxAge+tp.CheckoutGrace)
	}
}

// An open checkout with nothing at the gateway expires once its request
// JWT, the clock skew allowed and the grace have all run out: not a
// second before.
func TestCheckoutExpiresToTheSecond(t *testing.T) {
	e := newEnv(t)
	cfg, _ := tp.ParseConfig(&e.acct)
	p := e.start(1000, false)
	e.clock.Add(cfg.MaxAge + tp.DefaultSkew + tp.CheckoutGrace)
	u, err := e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil || u.Status != "" {
		t.Fatalf("at the deadline: %+v %v", u, err)
	}
	e.clock.Add(time.Second)
	u, err = e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil || u.Status != tender.StatusFailed || u.Failure.Code != tender.FailExpired {
		t.Fatalf("a second later: %+v %v", u, err)
	}
}

// Failed attempts on record decide a payment in doubt, or an expired
// checkout, with their own failure (declined, 3-D Secure), not "expired";
// an open checkout is left open (the shopper may try again); an outcome
// the gateway itself does not know is asked about again in 5 minutes.
func TestStatusReadsFailedAttempts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		amount int64
		pan    string
		status tender.Status // the payment's before the check
		late   bool          // checked after the checkout expired
		want   tender.Status
		code   string
	}{
		{"declined, in doubt", 1051, "4111111111111111", tender.StatusUnknown, false, tender.StatusFailed, tender.FailDeclined},
		{"declined, expired", 1051, "4111111111111111", tender.StatusRequiresAction, true, tender.StatusFailed, tender.FailDeclined},
		{"declined, checkout open", 1051, "4111111111111111", tender.StatusRequiresAction, false, "", ""},
		{"3-D Secure failed, in doubt", 1000, "4000000000001018", tender.StatusUnknown, false, tender.StatusFailed, tender.FailAuthentication},
		{"nothing on record, in doubt", 1000, "", tender.StatusUnknown, false, "", ""},
		{"gateway in doubt", 60010, "4111111111111111", tender.StatusRequiresAction, false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.start(tc.amount, false)
			if tc.pan != "" {
				if _, err := e.gateway(p.NextAction.Data["jwt"], card(tc.pan)); err != nil {
					t.Fatal(err)
				}
			}
			p.Status = tc.status
			if tc.late {
				e.clock.Add(2 * time.Hour)
			}
			u, err := e.conn.Status(context.Background(), e.op(p, 0))
			if err != nil {
				t.Fatal(err)
			}
			if u.Status != tc.want || (tc.code != "") != (u.Failure != nil) || u.Failure != nil && u.Failure.Code != tc.code {
				t.Fatalf("%+v; want %q %q", u, tc.want, tc.code)
			}
			if tc.amount == 60010 && u.CheckIn != 5*time.Minute {
				t.Fatalf("in doubt at the gateway: check in %v, want 5m", u.CheckIn)
			}
		})
	}
}

// A reconciled AUTH carries a failure only when it was cancelled.
func TestReconciledAuthFailureOnlyWhenCancelled(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	if _, err := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111")); err != nil {
		t.Fatal(err)
	}
	p.Status = tender.StatusUnknown
	u, err := e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil || u.Status != tender.StatusCaptured || u.Failure != nil {
		t.Fatalf("captured: %+v %v", u, err)
	}

	q := e.start(1000, true)
	e.pay(q, "4111111111111111")
	if _, err := e.conn.Cancel(context.Background(), e.op(q, 0)); err != nil {
		t.Fatal(err)
	}
	q.Status = tender.StatusUnknown
	u, err = e.conn.Status(context.Background(), e.op(q, 0))
	if err != nil || u.Status != tender.StatusCanceled || u.Failure == nil || u.Failure.Code != tender.FailCanceled {
		t.Fatalf("cancelled: %+v %v", u, err)
	}
}

// A payment whose Start answer was lost gets its request JWT from Status,
// and its record says so.
func TestNeverStartedNote(t *testing.T) {
	e := newEnv(t)
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 1200, Currency: "GBP", Status: tender.StatusPending,
		Connector: tp.Name, Account: e.acct.ID, CaptureMode: tender.CaptureAutomatic, CreatedAt: e.clock.Now()}
	u, err := e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil || u.Status != tender.StatusRequiresAction || !strings.Contains(u.Note, "issued by Status") {
		t.Fatalf("%+v %v", u, err)
	}
}

func paramOf(err error) string {
	if e := tender.AsError(err); e != nil {
		return e.Param
	}
	return ""
}

// A refund of nothing is refused before anything is sent.
func TestRefundOfNothingRefused(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	e.pay(p, "4111111111111111")
	e.sim.Settle()
	if _, err := e.conn.Refund(context.Background(), e.op(p, 0)); tender.ErrorCodeOf(err) != tender.EInvalid || paramOf(err) != "amount" {
		t.Fatalf("refund of 0: %v", err)
	}
	if got := e.sim.Refunded(p.ProviderReference); got != 0 {
		t.Fatalf("ledger refunded %d", got)
	}
}

// A payment with no captured amount recorded (captured at once by the
// checkout) counts its whole amount as captured: a refund of part of it
// leaves it partially refunded, the rest refunds it.
func TestRefundWithoutCapturedAmount(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	e.pay(p, "4111111111111111")
	e.sim.Settle()
	p.CapturedAmount = 0
	u, err := e.conn.Refund(context.Background(), e.op(p, 400))
	if err != nil || u.Status != tender.StatusPartiallyRefunded {
		t.Fatalf("refund of 400 of 1000: %+v %v", u, err)
	}
	e.apply(p, u)
	p.RefundedAmount = 400
	u, err = e.conn.Refund(context.Background(), e.op(p, 600))
	if err != nil || u.Status != tender.StatusRefunded {
		t.Fatalf("refund of the other 600: %+v %v", u, err)
	}
}

// A duplicate AUTH that could not be voided leaves the payment undecided
// (the reconciler asks again): the shopper is never left charged twice
// by a payment that looks settled.
func TestDuplicateNotVoidedLeavesPaymentUndecided(t *testing.T) {
	t.Run("cancel lost", func(t *testing.T) {
		e := newEnv(t)
		p := e.start(2055, false)
		if _, err := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111")); err == nil {
			t.Fatal("rule 55 answered")
		}
		restore := e.loseAnswers("TRANSACTIONUPDATE")
		u, err := e.conn.Status(context.Background(), e.op(p, 0))
		restore()
		if err == nil || u.Status != "" {
			t.Fatalf("with the cancel's answer lost: %+v %v", u, err)
		}
		u, err = e.conn.Status(context.Background(), e.op(p, 0))
		if err != nil || u.Status != tender.StatusCaptured {
			t.Fatalf("retried: %+v %v", u, err)
		}
		if a := e.sim.Approved(p.ID); len(a) != 2 || a[1].SettleStatus != "3" {
			t.Fatalf("ledger %+v", a)
		}
	})
	t.Run("refund refused", func(t *testing.T) {
		e := newEnv(t)
		p := e.start(2055, false)
		if _, err := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111")); err == nil {
			t.Fatal("rule 55 answered")
		}
		e.sim.Settle()
		auths := e.sim.Approved(p.ID)
		// Someone refunded the duplicate already (on the portal): the
		// gateway refuses another refund of it (20007).
		dup := &tender.Payment{ID: tender.NewID("pay"), Amount: 2055, CapturedAmount: 2055, Currency: "GBP", Status: tender.StatusCaptured,
			Connector: tp.Name, Account: e.acct.ID, ProviderReference: auths[1].Reference}
		if _, err := e.conn.Refund(context.Background(), e.op(dup, 2055)); err != nil {
			t.Fatal(err)
		}
		u, err := e.conn.Status(context.Background(), e.op(p, 0))
		if err == nil || u.Status != "" {
			t.Fatalf("with the duplicate's refund refused: %+v %v", u, err)
		}
		if got := e.sim.Refunded(auths[1].Reference); got != 2055 {
			t.Fatalf("duplicate refunded %d", got)
		}
	})
}

// Among approved AUTHs of other amounts only (another integration's
// request JWTs for this orderreference), the one kept for the discrepancy
// is the first not cancelled; it is not cancelled as a duplicate of a
// cancelled one.
func TestAdoptKeepsTheLiveAuthOfAnotherAmount(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	cfg, _ := tp.ParseConfig(&e.acct)
	var refs []string
	for _, amount := range []int64{999, 1001} {
		other, err := cfg.RequestJWT(tp.Order{Reference: p.ID, Amount: amount, Currency: "GBP", Manual: true}, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.gateway(other, card("4111111111111111")); err != nil {
			t.Fatal(err)
		}
		a := e.sim.Approved(p.ID)
		refs = append(refs, a[len(a)-1].Reference)
	}
	first := &tender.Payment{ID: tender.NewID("pay"), Amount: 999, Currency: "GBP", Status: tender.StatusAuthorized,
		Connector: tp.Name, Account: e.acct.ID, ProviderReference: refs[0]}
	if _, err := e.conn.Cancel(context.Background(), e.op(first, 0)); err != nil {
		t.Fatal(err)
	}
	p.Status = tender.StatusUnknown
	u, err := e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil || u.Status != "" || !strings.Contains(u.Discrepancy, refs[1]) {
		t.Fatalf("%+v %v; want a discrepancy naming %s", u, err, refs[1])
	}
	if a := e.sim.Approved(p.ID); len(a) != 2 || a[0].SettleStatus != "3" || a[1].SettleStatus != "2" {
		t.Fatalf("ledger %+v; want the 10.01 AUTH left as it was", a)
	}
}

// A verify-only payment (amount 0, saving the card) whose answer was lost
// is decided by its ACCOUNTCHECK on record, and its card is saved.
func TestVerifyOnlyReconciled(t *testing.T) {
	e := newEnv(t)
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 0, Currency: "GBP", Status: tender.StatusPending, Connector: tp.Name,
		Account: e.acct.ID, CaptureMode: tender.CaptureAutomatic, Customer: "c1", SetupFutureUsage: tender.SetupOffSession, CreatedAt: e.clock.Now()}
	if err := e.conn.ValidatePayment(p, &e.acct, nil); err != nil {
		t.Fatal(err)
	}
	u, err := e.conn.Start(context.Background(), e.op(p, 0))
	if err != nil {
		t.Fatal(err)
	}
	e.apply(p, u)
	if _, err := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111")); err != nil {
		t.Fatal(err)
	}
	u, err = e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil || u.Status == "" || u.Status == tender.StatusFailed || u.SavedCard == nil {
		t.Fatalf("%+v %v", u, err)
	}
}

// Cancelling an open checkout whose AUTH was approved with its answer
// lost finds that AUTH and cancels it; only a checkout with no approved
// AUTH is cancelled without the gateway.
func TestCancelOpenCheckoutFindsItsAuth(t *testing.T) {
	e := newEnv(t)
	p := e.start(3000, true)
	if _, err := e.gateway(p.NextAction.Data["jwt"], card("4000000000000812")); err != nil { // declined first
		t.Fatal(err)
	}
	if _, err := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111")); err != nil {
		t.Fatal(err)
	}
	u, err := e.conn.Cancel(context.Background(), e.op(p, 0))
	auths := e.sim.Approved(p.ID)
	if err != nil || u.Status != tender.StatusCanceled || len(auths) != 1 || u.ProviderReference != auths[0].Reference || auths[0].SettleStatus != "3" {
		t.Fatalf("%+v %v, ledger %+v", u, err, auths)
	}
}

// A cancel whose answer is lost is in doubt (unavailable), not refused;
// its retry finds the AUTH cancelled. A cancel the gateway refuses is
// refused, and one of an AUTH the gateway does not show is the provider's
// error, not "not found".
func TestCancelAnswers(t *testing.T) {
	e := newEnv(t)
	p := e.start(3000, true)
	e.pay(p, "4111111111111111")
	restore := e.loseAnswers("TRANSACTIONUPDATE")
	_, err := e.conn.Cancel(context.Background(), e.op(p, 0))
	restore()
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("cancel with its answer lost: %v", err)
	}
	if u, err := e.conn.Cancel(context.Background(), e.op(p, 0)); err != nil || u.Status != tender.StatusCanceled {
		t.Fatalf("retry: %+v %v", u, err)
	}

	// An AUTH settled at the gateway (60017) while Tender still holds the
	// payment authorized.
	q := e.start(3000, false)
	e.pay(q, "4111111111111111")
	e.sim.Settle()
	q.Status = tender.StatusAuthorized
	if _, err := e.conn.Cancel(context.Background(), e.op(q, 0)); err == nil {
		t.Fatal("cancel of a settled AUTH accepted")
	}
	if a := e.sim.Approved(q.ID); a[0].SettleStatus != "100" {
		t.Fatalf("ledger %+v", a)
	}

	r := e.start(3000, true)
	r.Status, r.ProviderReference = tender.StatusAuthorized, "99-9-99999"
	if _, err := e.conn.Cancel(context.Background(), e.op(r, 0)); tender.ErrorCodeOf(err) != tender.EProvider {
		t.Fatalf("cancel of an AUTH the gateway does not show: %v", err)
	}
}

// A capture of nothing is refused before anything is sent; a capture of
// the whole amount only releases the AUTH (settlestatus 0), naming no
// settled amount: only a partial capture lowers it.
func TestCaptureAmounts(t *testing.T) {
	e := newEnv(t)
	p := e.start(2000, true)
	e.pay(p, "4111111111111111")
	if _, err := e.conn.Capture(context.Background(), e.op(p, 0)); tender.ErrorCodeOf(err) != tender.EInvalid || paramOf(err) != "amount" {
		t.Fatalf("capture of 0: %v", err)
	}
	var sent []string
	e.drop.Store(func(r *http.Request) bool {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.Contains(string(body), `"TRANSACTIONUPDATE"`) {
			sent = append(sent, string(body))
		}
		return false
	})
	u, err := e.conn.Capture(context.Background(), e.op(p, 2000))
	if err != nil || u.Status != tender.StatusCaptured {
		t.Fatalf("full capture: %+v %v", u, err)
	}
	if strings.Contains(u.Note, "the rest") {
		t.Errorf("full capture: note %q", u.Note)
	}
	if len(sent) != 1 || strings.Contains(sent[0], "settlebaseamount") || !strings.Contains(sent[0], `"settlestatus":"0"`) {
		t.Fatalf("full capture sent %q", sent)
	}
}

// A capture the gateway refuses (the AUTH was cancelled) is refused, not
// booked; a retry of a capture that went through with its answer lost
// is booked once the gateway refuses it as already settled.
func TestCaptureRefusedAndRetried(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.start(2000, true)
	e.pay(p, "4111111111111111")
	if _, err := e.conn.Cancel(ctx, e.op(p, 0)); err != nil { // its answer not applied: p stays authorized
		t.Fatal(err)
	}
	if u, err := e.conn.Capture(ctx, e.op(p, 2000)); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("capture of a cancelled AUTH: %+v %v", u, err)
	}

	q := e.start(2000, true)
	e.pay(q, "4111111111111111")
	op := e.op(q, 1500)
	restore := e.loseAnswers("TRANSACTIONUPDATE")
	_, err := e.conn.Capture(ctx, op)
	restore()
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("capture with its answer lost: %v", err)
	}
	e.sim.Settle()
	u, err := e.conn.Capture(ctx, op)
	if err != nil || u.Status != tender.StatusCaptured || !strings.Contains(u.Note, "the rest (5.00 GBP) is released") {
		t.Fatalf("retried after settlement: %+v %v", u, err)
	}
	if a := e.sim.Approved(q.ID)[0]; a.SettleStatus != "100" || a.SettleAmount != 1500 {
		t.Fatalf("ledger %+v", a)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The connector sends through the HTTP client it was given (its
// transport: proxies, TLS settings), not one of its own.
func TestProvidedHTTPClientUsed(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	e.pay(p, "4111111111111111")
	target, _ := url.Parse(e.srv.URL)
	via := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r.URL.Scheme, r.URL.Host = target.Scheme, target.Host
		return http.DefaultTransport.RoundTrip(r)
	})}
	acct := e.acct
	acct.Settings = map[string]string{}
	for k, v := range e.acct.Settings {
		acct.Settings[k] = v
	}
	acct.Settings[tp.SettingWebservicesURL] = "http://trustpayments.invalid/json/"
	c := tp.New(tp.Options{HTTPClient: via, Clock: e.clock, Timeout: 5 * time.Second})
	op := e.op(p, 0)
	op.Account = &acct
	p.Status = tender.StatusUnknown
	if u, err := c.Status(context.Background(), op); err != nil || u.Status != tender.StatusCaptured {
		t.Fatalf("%+v %v", u, err)
	}
}

// A capture check of an AUTH the gateway does not show (yet) is in doubt,
// not "not found".
func TestCheckCaptureOfUnknownAuth(t *testing.T) {
	e := newEnv(t)
	p := e.start(2000, true)
	p.Status, p.ProviderReference = tender.StatusAuthorized, "99-9-99999"
	if _, _, err := e.conn.CheckOperation(context.Background(), tender.OpCapture, e.op(p, 2000)); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("%v", err)
	}
}

// A refund found by the check that brings the refunds to the captured
// amount refunds the payment; one short of it, partially.
func TestCheckOperationRefundStatus(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	e.pay(p, "4111111111111111")
	p.CapturedAmount = 1000
	e.sim.Settle()
	for _, tc := range []struct {
		before, amount int64
		want           tender.Status
	}{{0, 400, tender.StatusPartiallyRefunded}, {400, 600, tender.StatusRefunded}} {
		p.RefundedAmount = tc.before
		op := e.op(p, tc.amount)
		restore := e.loseAnswers("REFUND")
		_, err := e.conn.Refund(context.Background(), op)
		restore()
		if tender.ErrorCodeOf(err) != tender.EUnavailable {
			t.Fatalf("refund with a lost answer: %v", err)
		}
		if out, u := e.check(tender.OpRefund, op); out != tender.OpSucceeded || u.Status != tc.want {
			t.Fatalf("refund of %d after %d: %s %+v, want %s", tc.amount, tc.before, out, u, tc.want)
		}
	}
}

// Status believes only records of its own order: a query answered with
// another order's records (a gateway that ignored the filter) decides
// nothing, even with an approved AUTH of the same amount among them.
func TestStatusIgnoresAnotherOrdersRecords(t *testing.T) {
	e := newEnv(t)
	p, q := e.start(1000, false), e.start(1000, false)
	e.pay(q, "4111111111111111")
	e.drop.Store(func(r *http.Request) bool {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte(`"TRANSACTIONQUERY"`)) {
			body = bytes.ReplaceAll(body, []byte(p.ID), []byte(q.ID))
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		return false
	})
	u, err := e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil || u.Status != "" || u.ProviderReference != "" {
		t.Fatalf("%+v %v", u, err)
	}
}
