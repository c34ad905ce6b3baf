package trustpayments_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	tp "github.com/tenderpay/tender/trustpayments"
)

// loseAnswers makes the env lose the answer to every Webservices request
// of type typ (TRANSACTIONUPDATE, REFUND, ...) until the returned func is
// called.
func (e *env) loseAnswers(typ string) func() {
	e.drop.Store(func(r *http.Request) bool {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		return strings.Contains(string(body), `"`+typ+`"`)
	})
	return func() { e.drop.Store(func(*http.Request) bool { return false }) }
}

func (e *env) check(kind tender.OpKind, op *tender.Op) (tender.OpOutcome, tender.Update) {
	e.t.Helper()
	out, u, err := e.conn.CheckOperation(context.Background(), kind, op)
	if err != nil {
		e.t.Fatalf("check %s: %v", kind, err)
	}
	return out, u
}

// A capture whose answer was lost is found in the AUTH record: released for
// its amount (succeeded), not released yet (pending), released for less or
// cancelled (failed: it can no longer arrive).
func TestCheckOperationCapture(t *testing.T) {
	e := newEnv(t)
	p := e.start(2000, true)
	e.pay(p, "4111111111111111")
	op := e.op(p, 1500)
	if out, _ := e.check(tender.OpCapture, op); out != tender.OpPending {
		t.Fatalf("before the capture: %s", out)
	}
	restore := e.loseAnswers("TRANSACTIONUPDATE")
	_, err := e.conn.Capture(context.Background(), op)
	restore()
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("capture with a lost answer: %v", err)
	}
	out, u := e.check(tender.OpCapture, op)
	if out != tender.OpSucceeded || u.Status != tender.StatusCaptured || u.Details["settlebaseamount"] != "1500" {
		t.Fatalf("after the capture: %s %+v", out, u)
	}
	if out, _ := e.check(tender.OpCapture, e.op(p, 1800)); out != tender.OpFailed {
		t.Fatalf("a capture of more than was released: %s", out)
	}

	q := e.start(2000, true)
	e.pay(q, "4111111111111111")
	qop := e.op(q, 2000)
	if _, err := e.conn.Cancel(context.Background(), e.op(q, 0)); err != nil {
		t.Fatal(err)
	}
	if out, _ := e.check(tender.OpCapture, qop); out != tender.OpFailed {
		t.Fatalf("capture of a cancelled AUTH: %s", out)
	}
}

// A refund whose answer was lost is found by its orderreference, derived
// from the operation id; one never sent is pending (nothing proves it never
// arrives), and is never sent by the check.
func TestCheckOperationRefund(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	e.pay(p, "4111111111111111")
	p.CapturedAmount = 1000
	e.sim.Settle()
	op := e.op(p, 400)
	if out, _ := e.check(tender.OpRefund, op); out != tender.OpPending {
		t.Fatalf("before the refund: %s", out)
	}
	restore := e.loseAnswers("REFUND")
	_, err := e.conn.Refund(context.Background(), op)
	restore()
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("refund with a lost answer: %v", err)
	}
	out, u := e.check(tender.OpRefund, op)
	if out != tender.OpSucceeded || u.Status != tender.StatusPartiallyRefunded || u.Details["refund_transactionreference"] == "" {
		t.Fatalf("after the refund: %s %+v", out, u)
	}
	if out, _ := e.check(tender.OpRefund, e.op(p, 400)); out != tender.OpPending {
		t.Fatalf("another refund operation: %s", out)
	}
	if got := e.sim.Refunded(p.ProviderReference); got != 400 {
		t.Fatalf("ledger refunded %d, want 400", got)
	}
}

// A partial capture closes the authorization (captured), and no cancel may
// then touch the settled part: refused for a payment with a capture booked,
// and for one whose capture went through with its answer lost.
func TestPartialCaptureClosesAuthorization(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.start(2000, true)
	e.pay(p, "4111111111111111")
	u, err := e.conn.Capture(ctx, e.op(p, 1500))
	if err != nil || u.Status != tender.StatusCaptured {
		t.Fatalf("partial capture: %+v %v", u, err)
	}
	// A payment stored partially_captured (before captures closed the
	// authorization): the cancel is refused and the settled part stays.
	p.Status, p.CapturedAmount = tender.StatusPartiallyCaptured, 1500
	_, err = e.conn.Cancel(ctx, e.op(p, 0))
	if tender.ErrorCodeOf(err) != tender.ENotSupported || !strings.Contains(tender.ErrorMessageOf(err), "settles an authorization once") {
		t.Fatalf("cancel of a partially captured payment: %v", err)
	}
	if a := e.sim.Approved(p.ID)[0]; a.SettleStatus != "0" || a.SettleAmount != 1500 {
		t.Fatalf("ledger after the refused cancel: %+v", a)
	}

	q := e.start(2000, true)
	e.pay(q, "4111111111111111")
	restore := e.loseAnswers("TRANSACTIONUPDATE")
	_, err = e.conn.Capture(ctx, e.op(q, 1000))
	restore()
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("capture with a lost answer: %v", err)
	}
	_, err = e.conn.Cancel(ctx, e.op(q, 0)) // q is still authorized in Tender
	if tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("cancel after an unbooked capture: %v", err)
	}
	if a := e.sim.Approved(q.ID)[0]; a.SettleStatus != "0" || a.SettleAmount != 1000 {
		t.Fatalf("ledger after the refused cancel: %+v", a)
	}
}

// Status of a payment stored pending: Start (which calls no one; it only
// issues the request JWT) never ran or its answer was never stored. Status
// gives what Start gives, so the shopper can still pay; canceled when the
// merchant asked; expired when a checkout would have run out.
func TestStatusOfPendingPayment(t *testing.T) {
	e := newEnv(t)
	pending := func() *tender.Payment {
		p := &tender.Payment{ID: tender.NewID("pay"), Amount: 1200, Currency: "GBP", Status: tender.StatusPending,
			Connector: tp.Name, Account: e.acct.ID, CaptureMode: tender.CaptureAutomatic, CreatedAt: e.clock.Now()}
		e.payments[p.ID] = p
		return p
	}
	p := pending()
	if _, err := e.conn.Start(context.Background(), e.op(p, 0)); err != nil { // its answer is lost
		t.Fatal(err)
	}
	u, err := e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil || u.Status != tender.StatusRequiresAction || u.NextAction == nil || u.NextAction.Data["jwt"] == "" || u.State == nil {
		t.Fatalf("pending: %+v %v", u, err)
	}
	e.apply(p, u)
	e.pay(p, "4111111111111111")
	if p.Status != tender.StatusCaptured || len(e.sim.Approved(p.ID)) != 1 {
		t.Fatalf("paid with the JWT from Status: %s", p.Status)
	}

	c := pending()
	op := e.op(c, 0)
	op.CancelRequested = true
	if u, err := e.conn.Status(context.Background(), op); err != nil || u.Status != tender.StatusCanceled || u.NextAction != nil {
		t.Fatalf("pending, cancel requested: %+v %v", u, err)
	}

	old := pending()
	e.clock.Add(2 * time.Hour)
	if u, err := e.conn.Status(context.Background(), e.op(old, 0)); err != nil || u.Status != tender.StatusFailed || u.Failure.Code != tender.FailExpired {
		t.Fatalf("pending, expired: %+v %v", u, err)
	}
}

// A refund declined by the gateway is on record under its orderreference:
// the check says failed, and nothing was refunded.
func TestCheckOperationRefundDeclined(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	e.pay(p, "4111111111111111")
	p.CapturedAmount = 1000
	e.sim.Settle()
	op := e.op(p, 351) // sandbox rule 51: the refund declines
	restore := e.loseAnswers("REFUND")
	_, err := e.conn.Refund(context.Background(), op)
	restore()
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("refund with a lost answer: %v", err)
	}
	if out, _ := e.check(tender.OpRefund, op); out != tender.OpFailed {
		t.Fatalf("a declined refund: %s", out)
	}
	if _, err := e.conn.Refund(context.Background(), e.op(p, 351)); tender.ErrorCodeOf(err) != tender.EDeclined {
		t.Fatalf("a declined refund answered: %v", err)
	}
	if got := e.sim.Refunded(p.ProviderReference); got != 0 {
		t.Fatalf("ledger refunded %d", got)
	}
}

// An AUTH of another amount under the payment's orderreference (another
// integration's request JWT) that came first is never kept over the
// shopper's AUTH of the payment's amount: reconciling a payment in doubt
// keeps the right one and voids the other.
func TestReconcileKeepsTheAuthOfThePaymentsAmount(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	cfg, _ := tp.ParseConfig(&e.acct)
	other, err := cfg.RequestJWT(tp.Order{Reference: p.ID, Amount: 1, Currency: "GBP"}, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.gateway(other, card("4111111111111111")); err != nil {
		t.Fatal(err)
	}
	// The shopper pays; the response never comes back to Tender.
	if _, err := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111")); err != nil {
		t.Fatal(err)
	}
	p.Status = tender.StatusUnknown
	u, err := e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil {
		t.Fatal(err)
	}
	e.apply(p, u)
	var kept, foreign tp.Result
	for _, a := range e.sim.Approved(p.ID) {
		r := tp.Result{Fields: map[string]string{"settlestatus": a.SettleStatus}}
		if a.BaseAmount == 1000 {
			kept = r
			if a.Reference != p.ProviderReference {
				t.Fatalf("kept %s, the shopper's AUTH is %s", p.ProviderReference, a.Reference)
			}
		} else {
			foreign = r
		}
	}
	if p.Status != tender.StatusCaptured || kept.Get("settlestatus") != "0" || foreign.Get("settlestatus") != "3" {
		t.Fatalf("status %s, shopper's AUTH settlestatus %q, other AUTH %q", p.Status, kept.Get("settlestatus"), foreign.Get("settlestatus"))
	}
}

// A refund or cancel whose first question (TRANSACTIONQUERY) failed sent
// nothing: a refusal, not an outcome in doubt.
func TestQuestionBeforeSendingFailedIsARefusal(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, true)
	e.pay(p, "4111111111111111")
	restore := e.loseAnswers("TRANSACTIONQUERY")
	_, cerr := e.conn.Cancel(context.Background(), e.op(p, 0))
	restore()
	if c := tender.ErrorCodeOf(cerr); c == tender.EUnavailable || c == tender.EInternal {
		t.Fatalf("cancel: %v", cerr)
	}
	if a := e.sim.Approved(p.ID)[0]; a.SettleStatus != "2" {
		t.Fatalf("the cancel went through: %+v", a)
	}

	q := e.start(1000, false)
	e.pay(q, "4111111111111111")
	q.CapturedAmount = 1000
	e.sim.Settle()
	restore = e.loseAnswers("TRANSACTIONQUERY")
	_, rerr := e.conn.Refund(context.Background(), e.op(q, 100))
	restore()
	if c := tender.ErrorCodeOf(rerr); c == tender.EUnavailable || c == tender.EInternal {
		t.Fatalf("refund: %v", rerr)
	}
	if got := e.sim.Refunded(q.ProviderReference); got != 0 {
		t.Fatalf("refunded %d", got)
	}
}
