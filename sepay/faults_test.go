package sepay_test

import (
	"context"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/sepay"
	"github.com/tenderpay/tender/sepay/sim"
)

// dropAnswers passes requests on to the simulator but loses the answer of
// every operation named in drop (the SOAPAction's last part), as a crash or
// a hang-up between request and answer would.
func dropAnswers(drop *atomic.Value) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name, _ := drop.Load().(string)
			if name == "" || !strings.HasSuffix(strings.Trim(r.Header.Get("SOAPAction"), `"`), "/"+name) {
				h.ServeHTTP(w, r)
				return
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			panic(http.ErrAbortHandler)
		})
	}
}

func (e *env) charged(p *tender.Payment) []sim.Entry {
	var out []sim.Entry
	for _, en := range e.sim.Ledger() {
		if en.TransactionRef == sepay.TransactionRef(p.ID) {
			out = append(out, en)
		}
	}
	return out
}

// A payment the merchant asked to cancel is never sent from Status, neither
// one whose first request was lost (unknown) nor one never sent (pending).
func TestCancelRequestedNeverResends(t *testing.T) {
	e := newEnv(t, nil)
	lost := e.payment(1061, sid1) // rule 61: the first request never arrives
	if err := e.start(lost, sid1); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("start: %v", err)
	}
	never := e.payment(500, sid2) // stored, Start never called
	for _, c := range []struct {
		p   *tender.Payment
		sid string
	}{{lost, sid1}, {never, sid2}} {
		op := e.op(c.p, c.sid)
		op.CancelRequested = true
		u, err := e.conn.Status(context.Background(), op)
		if err != nil || u.Status != tender.StatusCanceled || u.Failure == nil || u.Failure.Code != tender.FailCanceled {
			t.Fatalf("%s: %+v %v", c.p.Status, u, err)
		}
		if n := len(e.charged(c.p)); n != 0 {
			t.Fatalf("%s payment reached Sepay from Status (%d transactions)", c.p.Status, n)
		}
	}
}

// Cancel asks first and sends CancelTransaction only while the sale is
// queued. Should a cancel cross the terminal's approval, Sepay may answer
// it 00 (notes §3.4); the engine confirms every cancel with Status, which
// must report the sale.
func TestCancelOfFinishedSale(t *testing.T) {
	e := newEnvWith(t, nil, func(o *sim.Options) { o.CancelFinishedStatus = sepay.StatusOK })
	p := e.payment(1234, sid1)
	e.start(p, sid1)
	e.finish(sid1)
	_, err := e.conn.Cancel(context.Background(), e.op(p, sid1))
	if tender.ErrorCodeOf(err) != tender.EConflict || tender.AsError(err).ProviderCode != sepay.StatusOK {
		t.Fatalf("cancel of an approved sale: %v", err)
	}
	// The cancel that crossed the approval.
	cl := &sepay.Client{URL: e.simURL + sim.ServicePath, Login: login, Key: integrator,
		Sepay: map[int]*rsa.PublicKey{0: &simKey.PublicKey}, HTTP: http.DefaultClient, Timeout: 2 * time.Second}
	res, err := cl.CancelTransaction(context.Background(), sid1, sepay.TransactionRef(p.ID), false)
	if err != nil || res.Status() != sepay.StatusOK {
		t.Fatalf("late cancel: %+v %v", res, err)
	}
	op := e.op(p, sid1)
	op.CancelRequested = true
	u, err := e.conn.Status(context.Background(), op)
	if err != nil || u.Status != tender.StatusCaptured {
		t.Fatalf("status after a cancel answered 00: %+v %v", u, err)
	}
	e.apply(p, u)
	e.ledger(p)
}

// A status code the notes do not list is not an outcome: the payment stays
// open and is asked about again.
func TestUnlistedStatusKeepsPaymentOpen(t *testing.T) {
	e := newEnv(t, nil)
	p := e.payment(800, sid1)
	e.start(p, sid1)
	e.sim.Pickup(sid1)
	for _, code := range []string{"16", "99"} {
		if err := e.sim.AnswerNext(p.ID, code); err != nil {
			t.Fatal(err)
		}
		u, err := e.status(p, sid1)
		if tender.ErrorCodeOf(err) != tender.EUnavailable || u.Status != "" || p.Status != tender.StatusProcessing {
			t.Fatalf("answer %s: %+v %v, payment %s", code, u, err, p.Status)
		}
	}
	e.clock.Add(time.Minute)
	e.status(p, sid1)
	if p.Status != tender.StatusCaptured {
		t.Fatal(p.Status)
	}
	e.ledger(p)
}

// An approval of another amount moved money: it is captured as Sepay
// reports it and raised as a discrepancy, lower or higher.
func TestApprovalOfAnotherAmount(t *testing.T) {
	for _, took := range []int64{900, 1100} {
		e := newEnv(t, nil)
		p := e.payment(1000, sid1)
		e.start(p, sid1)
		if err := e.sim.TakeAmount(p.ID, took); err != nil {
			t.Fatal(err)
		}
		e.finish(sid1)
		u, err := e.status(p, sid1)
		if err != nil || u.Status != tender.StatusCaptured || u.Captured != took ||
			!strings.Contains(u.Discrepancy, sepay.FormatAmount(took)) || u.Details["amount"] != sepay.FormatAmount(took) {
			t.Fatalf("took %d: %+v %v", took, u, err)
		}
		if l := e.charged(p); len(l) != 1 || !l[0].Charged || l[0].Amount != took {
			t.Fatalf("ledger %+v", l)
		}
	}
}

// Status of a payment stored pending: Start never called, so the first
// request is sent from Status (within the resend window); or Start reached
// Sepay and its answer was lost, so the existing transaction is followed.
func TestStatusOfPendingPayment(t *testing.T) {
	var drop atomic.Value
	e := newEnv(t, dropAnswers(&drop))
	never := e.payment(300, sid1)
	u, err := e.status(never, sid1)
	if err != nil || u.Status != tender.StatusProcessing || len(e.charged(never)) != 1 {
		t.Fatalf("never started: %+v %v", u, err)
	}

	lost := e.payment(400, sid2)
	drop.Store("StartTransaction")
	if _, err := e.conn.Start(context.Background(), e.op(lost, sid2)); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("start with lost answer: %v", err)
	}
	drop.Store("")
	if lost.Status != tender.StatusPending {
		t.Fatal(lost.Status) // the engine never stored Start's outcome
	}
	u, err = e.status(lost, sid2)
	if err != nil || u.Status != tender.StatusProcessing || strings.Contains(u.Note, "same reference") {
		t.Fatalf("lost answer: %+v %v", u, err)
	}
	e.finish(sid2)
	e.status(lost, sid2)
	if lost.Status != tender.StatusCaptured || len(e.charged(lost)) != 1 {
		t.Fatalf("%s %+v", lost.Status, e.charged(lost))
	}
}

// Cancel of a processing payment: refused (conflict) once the terminal has
// it; a lost cancel answer leaves the outcome unknown.
func TestCancelProcessingClassified(t *testing.T) {
	var drop atomic.Value
	e := newEnv(t, dropAnswers(&drop))
	p := e.payment(700, sid1)
	e.start(p, sid1)
	drop.Store("CancelTransaction")
	_, err := e.conn.Cancel(context.Background(), e.op(p, sid1))
	drop.Store("")
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("lost cancel answer: %v", err)
	}
	// The cancel did reach Sepay: Status says so.
	if u, err := e.status(p, sid1); err != nil || u.Status != tender.StatusCanceled {
		t.Fatalf("after lost cancel answer: %+v %v", u, err)
	}

	// A status question that fails before the cancel: nothing was sent.
	r := e.payment(750, sid1)
	e.start(r, sid1)
	drop.Store("GetTransactionStatus")
	_, err = e.conn.Cancel(context.Background(), e.op(r, sid1))
	drop.Store("")
	if c := tender.ErrorCodeOf(err); c == tender.EUnavailable || c == tender.EInternal || e.charged(r)[0].State != sim.Queued {
		t.Fatalf("cancel whose status question failed: %v, ledger %+v", err, e.charged(r))
	}
	e.conn.Cancel(context.Background(), e.op(r, sid1))

	q := e.payment(800, sid1)
	e.start(q, sid1)
	e.sim.Pickup(sid1)
	_, err = e.conn.Cancel(context.Background(), e.op(q, sid1))
	if tender.ErrorCodeOf(err) != tender.EConflict || tender.AsError(err).ProviderCode != sepay.StatusInProgress {
		t.Fatalf("cancel in progress: %v", err)
	}
}

// A payment whose first request never reached Sepay, sent again from
// Status while its terminal is busy with another payment, fails as busy
// (nothing moved) instead of staying open; sent again on a free terminal it
// is queued.
func TestResendToBusyTerminalFails(t *testing.T) {
	e := newEnv(t, nil)
	other := e.payment(100, sid1)
	if err := e.start(other, sid1); err != nil {
		t.Fatal(err)
	}
	never := e.payment(200, sid1) // stored, its Start never reached Sepay
	u, err := e.status(never, sid1)
	if err != nil || u.Status != tender.StatusFailed || u.Failure == nil || u.Failure.Code != tender.FailTerminalBusy ||
		u.Failure.ProviderCode != sepay.StatusPending || len(e.charged(never)) != 0 {
		t.Fatalf("resent to a busy terminal: %+v %+v %v", u, u.Failure, err)
	}
	free := e.payment(300, sid2)
	u, err = e.status(free, sid2)
	if err != nil || u.Status != tender.StatusProcessing || u.Note != "the first request never reached Sepay; sent again with the same reference" {
		t.Fatalf("resent to a free terminal: %+v %v", u, err)
	}
}

// A cancel of a sale already canceled on the terminal (14) is that cancel:
// the payment is canceled, with the terminal's ticket, and nothing is sent.
func TestCancelOfSaleCanceledAtTerminal(t *testing.T) {
	e := newEnv(t, nil)
	p := e.payment(1054, sid1) // rule 54: canceled on the terminal
	e.start(p, sid1)
	e.finish(sid1)
	u, err := e.conn.Cancel(context.Background(), e.op(p, sid1))
	if err != nil || u.Status != tender.StatusCanceled || u.Failure == nil || u.Failure.ProviderCode != sepay.StatusCanceled ||
		u.Note != "already canceled at Sepay (14)" || u.Receipt == nil {
		t.Fatalf("cancel of a sale canceled at the terminal: %+v %v", u, err)
	}
	// A sale that failed on the terminal cannot be canceled: a conflict.
	f := e.payment(1051, sid1) // rule 51: declined
	e.start(f, sid1)
	e.finish(sid1)
	if _, err := e.conn.Cancel(context.Background(), e.op(f, sid1)); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("cancel of a declined sale: %v", err)
	}
}

// A status code the notes do not list, answered to the question before a
// cancel, cancels nothing and says which code came back.
func TestCancelAfterUnlistedStatus(t *testing.T) {
	e := newEnv(t, nil)
	p := e.payment(800, sid1)
	e.start(p, sid1)
	if err := e.sim.AnswerNext(p.ID, "99"); err != nil {
		t.Fatal(err)
	}
	_, err := e.conn.Cancel(context.Background(), e.op(p, sid1))
	want := "Sepay answered 99 (Undefined error) about the payment; nothing was canceled, try again"
	if tender.ErrorCodeOf(err) != tender.EProvider || tender.ErrorMessageOf(err) != want || e.charged(p)[0].State != sim.Queued {
		t.Fatalf("cancel after 99: %v, ledger %+v", err, e.charged(p))
	}
}
