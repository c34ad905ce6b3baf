package trustpayments_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	tp "github.com/tenderpay/tender/trustpayments"
	"github.com/tenderpay/tender/trustpayments/sim"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a connector wired to the simulator over real HTTP, with a tiny
// stand-in for the engine (apply checks every transition).
type env struct {
	t        *testing.T
	srv      *httptest.Server
	sim      *sim.Sim
	conn     *tp.Connector
	acct     tender.Account
	clock    *fakeClock
	payments map[string]*tender.Payment
	ops      int
	// drop, when it holds a func(*http.Request) bool that says yes, loses
	// the answer to that request after the simulator has served it.
	drop *atomic.Value
}

const callbackURL = "https://tender.example/callbacks/trustpayments/trustpayments-sandbox"

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	var h http.Handler
	drop := &atomic.Value{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, _ := drop.Load().(func(*http.Request) bool); f != nil && f(r) {
			// The request is served, its answer lost.
			h.ServeHTTP(httptest.NewRecorder(), r)
			panic(http.ErrAbortHandler)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	sb, err := sim.Sandbox(tender.SandboxOptions{BaseURL: srv.URL, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	h = sb.Handler
	e := &env{t: t, srv: srv, sim: sb.Handler.(*sim.Sim), acct: sb.Account, clock: clock, payments: map[string]*tender.Payment{}, drop: drop}
	e.conn = tp.New(tp.Options{HTTPClient: srv.Client(), Clock: clock, Timeout: 5 * time.Second})
	if err := e.conn.ValidateAccount(&e.acct); err != nil {
		t.Fatalf("sandbox account: %v", err)
	}
	return e
}

func (e *env) op(p *tender.Payment, amount int64) *tender.Op {
	e.ops++
	return &tender.Op{Payment: p, Account: &e.acct, Amount: amount, ID: "op" + string(rune('a'+e.ops%26)) + p.ID,
		CallbackURL: callbackURL, PageURL: "https://tender.example/pay/" + p.ID}
}

func (e *env) apply(p *tender.Payment, u tender.Update) {
	e.t.Helper()
	if u.Status != "" && u.Status != p.Status {
		if err := p.Status.Transition(u.Status); err != nil {
			e.t.Fatalf("%s: %v", p.ID, err)
		}
		p.Status = u.Status
	}
	if u.ProviderReference != "" {
		p.ProviderReference = u.ProviderReference
	}
	if u.NextAction != nil {
		p.NextAction = u.NextAction
	}
	if u.Failure != nil {
		p.Failure = u.Failure
	}
	if u.State != nil {
		p.State = u.State
	}
	for k, v := range u.Details {
		if p.Details == nil {
			p.Details = map[string]string{}
		}
		p.Details[k] = v
	}
}

func (e *env) start(amount int64, manual bool) *tender.Payment {
	e.t.Helper()
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: amount, Currency: "GBP", Status: tender.StatusPending,
		Connector: tp.Name, Account: e.acct.ID, CaptureMode: tender.CaptureAutomatic, CreatedAt: e.clock.Now()}
	if manual {
		p.CaptureMode = tender.CaptureManual
	}
	if err := e.conn.ValidatePayment(p, &e.acct, nil); err != nil {
		e.t.Fatal(err)
	}
	u, err := e.conn.Start(context.Background(), e.op(p, 0))
	if err != nil {
		e.t.Fatal(err)
	}
	e.apply(p, u)
	if p.Status != tender.StatusRequiresAction || p.NextAction.URL != "https://tender.example/pay/"+p.ID || p.NextAction.Data["jwt"] == "" {
		e.t.Fatalf("after Start: %+v %+v", p.Status, p.NextAction)
	}
	e.payments[p.ID] = p
	return p
}

// gateway does what the stand-in st.js does: POST /jwt/ with the request
// JWT and card data, retrying a transport error once.
func (e *env) gateway(jwt string, req map[string]any) (string, error) {
	if _, ok := req["requesttypedescriptions"]; !ok {
		tok, _ := tp.Parse(jwt)
		pl, _ := tp.PayloadOf(tok)
		req["requesttypedescriptions"] = json.RawMessage(pl["requesttypedescriptions"])
	}
	body, _ := json.Marshal(map[string]any{"jwt": jwt, "version": "1.00", "acceptcustomeroutput": "2.00", "request": []any{req}})
	var lastErr error
	for range 2 {
		resp, err := e.srv.Client().Post(e.srv.URL+"/jwt/", "application/json", bytes.NewReader(body))
		if err != nil {
			lastErr = err
			continue
		}
		var out struct{ JWT string }
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		return out.JWT, nil
	}
	return "", lastErr
}

// decode reads a response JWT without verifying (as the library does).
func decode(t *testing.T, raw string) (tp.ResponseEnvelope, tp.Result) {
	t.Helper()
	tok, err := tp.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var env tp.ResponseEnvelope
	if err := json.Unmarshal(tok.Claims["payload"], &env); err != nil {
		t.Fatal(err)
	}
	main := env.Response[len(env.Response)-1]
	for _, r := range env.Response {
		if r.Get("customeroutput") != "" {
			main = r
			break
		}
	}
	return env, main
}

func card(pan string) map[string]any {
	return map[string]any{"pan": pan, "expirydate": "12/30", "securitycode": "123"}
}

// ret posts the checkout form to the return callback and applies the result.
func (e *env) ret(p *tender.Payment, form url.Values) (*tender.CallbackResult, error) {
	req := httptest.NewRequest(http.MethodPost, callbackURL+"/return", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := e.conn.Callback(context.Background(), &tender.Callback{Account: &e.acct, Path: "return", Request: req, Body: []byte(form.Encode()),
		Find: func(ctx context.Context, ref string) (*tender.Payment, error) {
			if p, ok := e.payments[ref]; ok {
				return p, nil
			}
			return nil, tender.Errorf(tender.ENotFound, "no payment")
		}})
	if err == nil && res.Update != nil {
		e.apply(e.payments[res.PaymentID], *res.Update)
	}
	return res, err
}

// pay runs a checkout to its end with a card, and posts the result.
func (e *env) pay(p *tender.Payment, pan string) {
	e.t.Helper()
	raw, err := e.gateway(p.NextAction.Data["jwt"], card(pan))
	if err != nil {
		e.t.Fatalf("gateway: %v", err)
	}
	res, err := e.ret(p, url.Values{"jwt": {raw}, "orderreference": {p.ID}})
	if err != nil {
		e.t.Fatalf("return: %v", err)
	}
	if !res.Landing || res.PaymentID != p.ID {
		e.t.Fatalf("return result %+v", res)
	}
}

func TestFrictionlessApproval(t *testing.T) {
	e := newEnv(t)
	p := e.start(1050, false)
	e.pay(p, "4111111111111111")
	if p.Status != tender.StatusCaptured || p.ProviderReference == "" {
		t.Fatalf("status %s ref %q", p.Status, p.ProviderReference)
	}
	for k, want := range map[string]string{"settlestatus": "0", "enrolled": "Y", "status": "Y", "maskedpan": "411111######1111", "paymenttypedescription": "VISA", "transactionreference": p.ProviderReference} {
		if p.Details[k] != want {
			t.Errorf("Details[%s] = %q, want %q", k, p.Details[k], want)
		}
	}
	if !strings.HasPrefix(p.Details["authcode"], "TEST") {
		t.Errorf("authcode %q", p.Details["authcode"])
	}
	if a := e.sim.Approved(p.ID); len(a) != 1 || a[0].BaseAmount != 1050 || a[0].Reference != p.ProviderReference {
		t.Fatalf("ledger %+v", a)
	}
	// Posting the same response again changes nothing.
	res, err := e.ret(p, url.Values{"jwt": {mustLastJWT(t, e, p)}})
	if err == nil && res.Update != nil {
		t.Fatalf("replay produced an update %+v", res.Update)
	}
}

func mustLastJWT(t *testing.T, e *env, p *tender.Payment) string {
	raw, err := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111"))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestChallengeApproval(t *testing.T) {
	for _, tc := range []struct {
		name, pan, otp string
		want           tender.Status
		fail           string
	}{
		{"right code", "4000000000001091", sim.OTP, tender.StatusCaptured, ""},
		{"wrong code", "4000000000001091", "0000", tender.StatusFailed, tender.FailAuthentication},
		{"failing step-up", "5200000000001104", sim.OTP, tender.StatusFailed, tender.FailAuthentication},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.start(2500, false)
			raw, err := e.gateway(p.NextAction.Data["jwt"], card(tc.pan))
			if err != nil {
				t.Fatal(err)
			}
			env, main := decode(t, raw)
			if main.Get("customeroutput") != "THREEDREDIRECT" || main.Get("acsurl") == "" {
				t.Fatalf("no challenge: %+v", main.Fields)
			}
			// The library drives the ACS, then resends the remaining types
			// with the nested JWT.
			body, _ := json.Marshal(map[string]string{"threedpayload": main.Get("threedpayload"), "otp": tc.otp})
			resp, err := e.srv.Client().Post(main.Get("acsurl"), "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			var acs struct{ ThreeDResponse string }
			_ = json.NewDecoder(resp.Body).Decode(&acs)
			resp.Body.Close()
			final, err := e.gateway(env.JWT, map[string]any{"threedresponse": acs.ThreeDResponse})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.ret(p, url.Values{"jwt": {final}}); err != nil {
				t.Fatal(err)
			}
			if p.Status != tc.want || (tc.fail != "" && p.Failure.Code != tc.fail) {
				t.Fatalf("status %s failure %+v", p.Status, p.Failure)
			}
			if got := len(e.sim.Approved(p.ID)); (got == 1) != (tc.want == tender.StatusCaptured) {
				t.Fatalf("ledger approved AUTHs = %d", got)
			}
		})
	}
}

func TestDeclines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		amount int64
		pan    string
		code   string
	}{
		{"sandbox rule 51", 1051, "4111111111111111", tender.FailDeclined},
		{"documented decline card", 1000, "4000000000000812", tender.FailDeclined},
		{"documented amount 700.00", 70000, "4111111111111111", tender.FailDeclined},
		{"failed frictionless", 1000, "4000000000001018", tender.FailAuthentication},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.start(tc.amount, false)
			e.pay(p, tc.pan)
			if p.Status != tender.StatusFailed || p.Failure.Code != tc.code {
				t.Fatalf("status %s failure %+v", p.Status, p.Failure)
			}
			if len(e.sim.Approved(p.ID)) != 0 {
				t.Fatal("ledger has an approved AUTH")
			}
		})
	}
}

func TestManualCapturePartialAndRefund(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.start(2000, true)
	e.pay(p, "5200000000001005")
	if p.Status != tender.StatusAuthorized || p.Details["settlestatus"] != "2" {
		t.Fatalf("status %s settlestatus %q", p.Status, p.Details["settlestatus"])
	}
	u, err := e.conn.Capture(ctx, e.op(p, 1500))
	if err != nil {
		t.Fatal(err)
	}
	e.apply(p, u)
	p.CapturedAmount = 1500
	if p.Status != tender.StatusCaptured { // Trust Payments settles once: the rest is released
		t.Fatalf("after capture: %s", p.Status)
	}
	auth := e.sim.Approved(p.ID)[0]
	if auth.SettleStatus != "0" || auth.SettleAmount != 1500 {
		t.Fatalf("ledger after capture: %+v", auth)
	}
	if _, err := e.conn.Capture(ctx, e.op(p, 500)); tender.ErrorCodeOf(err) != tender.ENotSupported {
		t.Fatalf("second capture: %v", err)
	}
	refundOp := e.op(p, 500)
	u, err = e.conn.Refund(ctx, refundOp)
	if err != nil {
		t.Fatal(err)
	}
	e.apply(p, u)
	p.RefundedAmount += 500
	if p.Status != tender.StatusPartiallyRefunded {
		t.Fatalf("after refund: %s", p.Status)
	}
	// A retry of the same refund operation finds it and refunds nothing more.
	if _, err := e.conn.Refund(ctx, refundOp); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Refunded(p.ProviderReference); got != 500 {
		t.Fatalf("ledger refunded %d, want 500", got)
	}
	// More than is left is refused by the gateway (20007).
	if _, err := e.conn.Refund(ctx, e.op(p, 1001)); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("over-refund: %v", err)
	}
	u, err = e.conn.Refund(ctx, e.op(p, 1000))
	if err != nil {
		t.Fatal(err)
	}
	e.apply(p, u)
	if p.Status != tender.StatusRefunded || e.sim.Refunded(p.ProviderReference) != 1500 {
		t.Fatalf("status %s refunded %d", p.Status, e.sim.Refunded(p.ProviderReference))
	}
}

func TestCancelAuthorization(t *testing.T) {
	e := newEnv(t)
	p := e.start(3000, true)
	e.pay(p, "4111111111111111")
	u, err := e.conn.Cancel(context.Background(), e.op(p, 0))
	if err != nil {
		t.Fatal(err)
	}
	e.apply(p, u)
	if p.Status != tender.StatusCanceled || e.sim.Approved(p.ID)[0].SettleStatus != "3" {
		t.Fatalf("status %s ledger %+v", p.Status, e.sim.Approved(p.ID))
	}
	// Cancelling again (a retry) is accepted; a refund of a cancelled AUTH is refused.
	if _, err := e.conn.Cancel(context.Background(), e.op(p, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.conn.Refund(context.Background(), e.op(p, 100)); err == nil {
		t.Fatal("refund of a cancelled AUTH accepted")
	}
}

func TestCancelOpenCheckoutThenLatePayment(t *testing.T) {
	e := newEnv(t)
	p := e.start(3000, false)
	u, err := e.conn.Cancel(context.Background(), e.op(p, 0))
	if err != nil {
		t.Fatal(err)
	}
	e.apply(p, u)
	if p.Status != tender.StatusCanceled {
		t.Fatalf("status %s", p.Status)
	}
	// The shopper pays on the stale checkout anyway: the AUTH is cancelled.
	e.pay(p, "4111111111111111")
	if p.Status != tender.StatusCanceled || e.sim.Approved(p.ID)[0].SettleStatus != "3" {
		t.Fatalf("status %s ledger %+v", p.Status, e.sim.Approved(p.ID))
	}
}

// A request JWT stays usable until it expires, so a shopper can pay a
// payment that has already failed or been paid (on a merchant's own page
// that lets them retry). Such an AUTH is cancelled at once: no money moves
// that the payment does not account for.
func TestAuthThePaymentCannotTakeIsCancelled(t *testing.T) {
	e := newEnv(t)
	p := e.start(3000, false)
	e.pay(p, "4111111111111111")
	if p.Status != tender.StatusCaptured {
		t.Fatalf("status %s", p.Status)
	}
	first := p.ProviderReference
	e.pay(p, "4111111111111111")
	auths := e.sim.Approved(p.ID)
	if len(auths) != 2 || auths[0].SettleStatus != "0" || auths[1].SettleStatus != "3" {
		t.Fatalf("second payment of one JWT: ledger %+v", auths)
	}
	if p.Status != tender.StatusCaptured || p.ProviderReference != first {
		t.Fatalf("status %s reference %s, want captured %s", p.Status, p.ProviderReference, first)
	}

	f := e.start(3100, false)
	e.pay(f, "4000000000000812") // declined
	if f.Status != tender.StatusFailed {
		t.Fatalf("status %s", f.Status)
	}
	e.pay(f, "4111111111111111")
	if a := e.sim.Approved(f.ID); f.Status != tender.StatusFailed || len(a) != 1 || a[0].SettleStatus != "3" {
		t.Fatalf("payment after a decline: status %s ledger %+v", f.Status, a)
	}
}

func TestResponseForAnotherPaymentRefused(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	// A request JWT for the same order but another amount, signed with the
	// account's key (say, by a second, buggy integration): its genuine
	// response must not settle this payment.
	cfg, _ := tp.ParseConfig(&e.acct)
	other, err := cfg.RequestJWT(tp.Order{Reference: p.ID, Amount: 1, Currency: "GBP"}, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := e.gateway(other, card("4111111111111111"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ret(p, url.Values{"jwt": {raw}}); !errors.Is(err, tp.ErrMismatch) {
		t.Fatalf("other amount: err = %v", err)
	}
	// Another payment's genuine response names that payment, not this one.
	q := e.start(1000, false)
	rawQ, _ := e.gateway(q.NextAction.Data["jwt"], card("4111111111111111"))
	res, err := e.ret(p, url.Values{"jwt": {rawQ}})
	if err != nil || res.PaymentID != q.ID || p.Status != tender.StatusRequiresAction {
		t.Fatalf("res %+v err %v p %s", res, err, p.Status)
	}
	// Tampered or foreign tokens are refused.
	good, _ := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111"))
	segs := strings.Split(good, ".")
	for name, bad := range map[string]string{
		"tampered":  segs[0] + "." + segs[1] + "x." + segs[2],
		"unsigned":  "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + segs[1] + ".",
		"truncated": segs[0] + "." + segs[1],
	} {
		if _, err := e.ret(p, url.Values{"jwt": {bad}}); tender.ErrorCodeOf(err) != tender.EInvalid {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// An expired response (posted after the window) is refused.
	e.clock.Add(2 * time.Hour)
	if _, err := e.ret(p, url.Values{"jwt": {good}}); !errors.Is(err, tp.ErrExpired) {
		t.Errorf("expired: err = %v", err)
	}
	if p.Status != tender.StatusRequiresAction {
		t.Fatalf("status changed to %s", p.Status)
	}
}

func TestCommunicationErrorReconciled(t *testing.T) {
	e := newEnv(t)
	p := e.start(1055, false) // sandbox rule 55: approved, never answered
	if _, err := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111")); err == nil {
		t.Fatal("rule 55 answered")
	}
	// The library posts the form without a JWT (errorcode 50000): that
	// proves nothing, so it only asks for a status check.
	res, err := e.ret(p, url.Values{"errorcode": {"50000"}, "errormessage": {"Time-out"}, "orderreference": {p.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != tender.StatusRequiresAction || !res.Confirm {
		t.Fatalf("status %s, confirm %v; want requires_action and a check", p.Status, res.Confirm)
	}
	u, err := e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil {
		t.Fatal(err)
	}
	e.apply(p, u)
	if p.Status != tender.StatusCaptured || p.ProviderReference != e.sim.Approved(p.ID)[0].Reference {
		t.Fatalf("after Status: %s %q", p.Status, p.ProviderReference)
	}
}

// A browser resends a POST whose reused connection closed unanswered, so
// under rule 55 the gateway can approve the same request twice. The
// reconciliation keeps one AUTH and voids the other: cancelled while
// unsettled, refunded in full once settled.
func TestDuplicateAuthVoided(t *testing.T) {
	for _, settled := range []bool{false, true} {
		e := newEnv(t)
		p := e.start(2055, false)
		// e.gateway tries twice, as a browser resends.
		if _, err := e.gateway(p.NextAction.Data["jwt"], card("4111111111111111")); err == nil {
			t.Fatal("rule 55 answered")
		}
		if _, err := e.ret(p, url.Values{"errorcode": {"50003"}, "orderreference": {p.ID}}); err != nil {
			t.Fatal(err)
		}
		if settled {
			e.sim.Settle()
		}
		for range 2 { // a second check (a retry) changes nothing more
			u, err := e.conn.Status(context.Background(), e.op(p, 0))
			if err != nil {
				t.Fatal(err)
			}
			if p.Status == tender.StatusRequiresAction {
				e.apply(p, u)
			}
		}
		auths := e.sim.Approved(p.ID)
		if p.Status != tender.StatusCaptured || len(auths) != 2 || p.ProviderReference != auths[0].Reference {
			t.Fatalf("settled=%v: status %s reference %s ledger %+v", settled, p.Status, p.ProviderReference, auths)
		}
		if settled {
			if got := e.sim.Refunded(auths[1].Reference); got != 2055 || e.sim.Refunded(auths[0].Reference) != 0 {
				t.Fatalf("settled duplicate refunded %d, kept AUTH refunded %d", got, e.sim.Refunded(auths[0].Reference))
			}
		} else if auths[0].SettleStatus != "0" || auths[1].SettleStatus != "3" {
			t.Fatalf("unsettled duplicate: settlestatus %s (kept) and %s (duplicate)", auths[0].SettleStatus, auths[1].SettleStatus)
		}
	}
}

// TestReturnWithoutJWTChangesNothing: anyone can post a return naming a
// payment. Without a verified response JWT it changes nothing (the shopper
// keeps the card form) and causes at most one status check a minute.
func TestReturnWithoutJWTChangesNothing(t *testing.T) {
	e := newEnv(t)
	p := e.start(1050, false)
	before := p.NextAction
	checks := 0
	for i := range 5 {
		res, err := e.ret(p, url.Values{"orderreference": {p.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Update != nil && (res.Update.Status != "" || res.Update.NextAction != nil || res.Update.Failure != nil || res.Update.State != nil) {
			t.Fatalf("return %d changes the payment: %+v", i, res.Update)
		}
		if res.Confirm {
			checks++
		}
	}
	if p.Status != tender.StatusRequiresAction || p.NextAction != before || checks != 1 {
		t.Fatalf("status %s, next action kept %v, %d checks; want requires_action, kept, 1", p.Status, p.NextAction == before, checks)
	}
	if _, body, err := e.conn.CheckoutPage(context.Background(), e.op(p, 0)); err != nil || !bytes.Contains(body, []byte("st-form")) {
		t.Fatalf("the card form is gone: %v", err)
	}
	e.clock.Add(returnCheckEvery)
	if res, err := e.ret(p, url.Values{"orderreference": {p.ID}}); err != nil || !res.Confirm {
		t.Fatalf("a minute later: %v, confirm %v", err, res != nil && res.Confirm)
	}
}

const returnCheckEvery = time.Minute

func TestFirstRequestDroppedRetried(t *testing.T) {
	e := newEnv(t)
	p := e.start(1061, false) // sandbox rule 61: the first request is dropped
	e.pay(p, "4111111111111111")
	if p.Status != tender.StatusCaptured || len(e.sim.Approved(p.ID)) != 1 {
		t.Fatalf("status %s, ledger %d", p.Status, len(e.sim.Approved(p.ID)))
	}
}

func TestStatusExpiresAbandonedCheckout(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	u, err := e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil || u.Status != "" {
		t.Fatalf("fresh: %+v %v", u, err)
	}
	e.clock.Add(2 * time.Hour)
	u, err = e.conn.Status(context.Background(), e.op(p, 0))
	if err != nil {
		t.Fatal(err)
	}
	e.apply(p, u)
	if p.Status != tender.StatusFailed || p.Failure.Code != tender.FailExpired {
		t.Fatalf("status %s %+v", p.Status, p.Failure)
	}
}

func TestWebservicesErrors(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	bad := e.acct
	bad.Credentials = map[string]string{tp.CredentialJWTSecret: "x", tp.CredentialWSPassword: "wrong"}
	op := e.op(p, 0)
	op.Account = &bad
	if _, err := e.conn.Status(context.Background(), op); tender.ErrorCodeOf(err) != tender.EProvider {
		t.Fatalf("bad password: %v", err)
	}
	down := tp.New(tp.Options{HTTPClient: e.srv.Client(), Timeout: time.Second})
	gone := e.acct
	gone.Settings = map[string]string{}
	for k, v := range e.acct.Settings {
		gone.Settings[k] = v
	}
	gone.Settings[tp.SettingWebservicesURL] = "http://127.0.0.1:1/json/"
	op.Account = &gone
	if _, err := down.Status(context.Background(), op); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestCheckoutPage(t *testing.T) {
	e := newEnv(t)
	p := e.start(1234, false)
	ct, body, err := e.conn.CheckoutPage(context.Background(), e.op(p, 0))
	if err != nil {
		t.Fatal(err)
	}
	s := string(body)
	for _, want := range []string{`src="` + e.srv.URL + `/js/v3/st.js"`, `action="` + callbackURL + `/return"`, p.NextAction.Data["jwt"], "12.34 GBP", "SecureTrading("} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if !strings.HasPrefix(ct, "text/html") {
		t.Errorf("content type %q", ct)
	}
	// The stand-in library the page loads is served by the simulator.
	resp, err := e.srv.Client().Get(e.srv.URL + "/js/v3/st.js")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("st.js: %v", err)
	}
	resp.Body.Close()
}

func TestLedgerAgrees(t *testing.T) {
	e := newEnv(t)
	var all []*tender.Payment
	for _, a := range []int64{1000, 1051, 1061, 2222} {
		p := e.start(a, false)
		e.pay(p, "4111111111111111")
		all = append(all, p)
	}
	for _, p := range all {
		approved := e.sim.Approved(p.ID)
		switch p.Status {
		case tender.StatusCaptured:
			if len(approved) != 1 || approved[0].BaseAmount != p.Amount || approved[0].Reference != p.ProviderReference {
				t.Errorf("%s captured, ledger %+v", p.ID, approved)
			}
		default:
			if len(approved) != 0 {
				t.Errorf("%s %s, ledger %+v", p.ID, p.Status, approved)
			}
		}
	}
}
