package sepay_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/sepay"
	"github.com/tenderpay/tender/sepay/sim"
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

var (
	keysOnce           sync.Once
	simKey, integrator *rsa.PrivateKey
	simCert, intCert   []byte
)

func keys(t *testing.T) {
	keysOnce.Do(func() {
		var err error
		if simKey, err = sepay.GenerateKey(); err != nil {
			panic(err)
		}
		if integrator, err = sepay.GenerateKey(); err != nil {
			panic(err)
		}
		simCert, _ = sepay.NewCertificate(simKey, "sim", time.Now())
		intCert, _ = sepay.NewCertificate(integrator, "integrator", time.Now())
	})
}

const (
	login = "shop-login"
	sid1  = "12345678"
	sid2  = "87654321"
)

// env is a connector talking over real HTTP to a simulator, and a stand-in
// for Tender's callback endpoint that hands callbacks to the connector.
type env struct {
	t         *testing.T
	clock     *fakeClock
	sim       *sim.Sim
	simURL    string
	conn      *sepay.Connector
	account   *tender.Account
	terminals map[string]*tender.Terminal
	tender    *httptest.Server
	callbacks chan *tender.CallbackResult

	mu       sync.Mutex
	payments map[string]*tender.Payment
}

func newEnv(t *testing.T, wrap func(http.Handler) http.Handler) *env {
	return newEnvWith(t, wrap, nil)
}

// newEnvWith is newEnv with simulator options changed by opt.
func newEnvWith(t *testing.T, wrap func(http.Handler) http.Handler, opt func(*sim.Options)) *env {
	keys(t)
	e := &env{t: t, clock: &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)},
		payments: map[string]*tender.Payment{}, callbacks: make(chan *tender.CallbackResult, 10)}
	so := sim.Options{Key: simKey, Certificate: simCert, Clock: e.clock,
		ProcessFor: time.Minute, CallbackBackoff: 10 * time.Millisecond}
	if opt != nil {
		opt(&so)
	}
	s, err := sim.New(so)
	if err != nil {
		t.Fatal(err)
	}
	s.AddLogin(login, 0, intCert)
	s.AddTerminal(login, sid1, "192.168.1.50", 4000)
	s.AddTerminal(login, sid2, "192.168.1.51", 0)
	e.sim = s
	var h http.Handler = s
	if wrap != nil {
		h = wrap(s)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	e.simURL = srv.URL
	e.conn = sepay.New(sepay.Options{Clock: e.clock, RequestTimeout: 2 * time.Second, PollInterval: time.Second, CallbackPollInterval: callbackPoll})
	e.account = &tender.Account{ID: "sepay-test", Connector: "sepay", Environment: tender.EnvSandbox,
		Settings: map[string]string{"base_url": srv.URL + "/v2", "login": login,
			"sepay_certificate": string(simCert), "certificate": string(intCert)},
		Credentials: map[string]string{"private_key": string(sepay.MarshalPrivateKey(integrator))}}
	if err := e.conn.ValidateAccount(e.account); err != nil {
		t.Fatal(err)
	}
	e.terminals = map[string]*tender.Terminal{
		sid1: {ID: "term-1", Connector: "sepay", Account: "sepay-test", ProviderID: sid1},
		sid2: {ID: "term-2", Connector: "sepay", Account: "sepay-test", ProviderID: sid2},
	}
	e.tender = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/callbacks/sepay/sepay-test/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		res, err := e.conn.Callback(r.Context(), &tender.Callback{Account: e.account, Path: rest, Request: r, Body: body, Find: e.find})
		if err != nil {
			http.Error(w, tender.ErrorMessageOf(err), http.StatusBadRequest)
			return
		}
		e.callbacks <- res
	}))
	t.Cleanup(e.tender.Close)
	return e
}

func (e *env) find(ctx context.Context, ref string) (*tender.Payment, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.payments {
		if p.ID == ref || p.ProviderReference == ref {
			return p, nil
		}
	}
	return nil, tender.Errorf(tender.ENotFound, "no payment %s", ref)
}

// payment creates a stored payment as the engine would.
func (e *env) payment(cents int64, sid string) *tender.Payment {
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: cents, Currency: "EUR", Status: tender.StatusPending,
		Connector: "sepay", Account: "sepay-test", Terminal: e.terminals[sid].ID, CreatedAt: e.clock.Now()}
	if err := e.conn.ValidatePayment(p, e.account, e.terminals[sid]); err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.payments[p.ID] = p
	e.mu.Unlock()
	return p
}

func (e *env) op(p *tender.Payment, sid string) *tender.Op {
	return &tender.Op{Payment: p, Account: e.account, Terminal: e.terminals[sid], ID: "op-" + p.ID,
		CallbackURL: e.tender.URL + "/callbacks/sepay/sepay-test"}
}

// apply applies an update as the engine would, checking the state machine.
func (e *env) apply(p *tender.Payment, u tender.Update) {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if u.Status != "" && u.Status != p.Status {
		if err := p.Status.Transition(u.Status); err != nil {
			e.t.Fatalf("illegal transition: %v", err)
		}
		p.Status = u.Status
	}
	if u.ProviderReference != "" {
		p.ProviderReference = u.ProviderReference
	}
	if u.State != nil {
		p.State = u.State
	}
	if u.Failure != nil {
		p.Failure = u.Failure
	}
	if u.Receipt != nil {
		p.Receipt = u.Receipt
	}
}

func (e *env) start(p *tender.Payment, sid string) error {
	e.t.Helper()
	u, err := e.conn.Start(context.Background(), e.op(p, sid))
	if err != nil {
		if tender.ErrorCodeOf(err) == tender.EUnavailable {
			e.apply(p, tender.Update{Status: tender.StatusUnknown})
		} else {
			e.apply(p, tender.Update{Status: tender.StatusFailed})
		}
		return err
	}
	e.apply(p, u)
	return nil
}

func (e *env) status(p *tender.Payment, sid string) (tender.Update, error) {
	e.t.Helper()
	u, err := e.conn.Status(context.Background(), e.op(p, sid))
	if err == nil {
		e.apply(p, u)
	}
	return u, err
}

// finish has the terminal pick the payment up and decide.
func (e *env) finish(sid string) {
	e.t.Helper()
	if err := e.sim.Pickup(sid); err != nil {
		e.t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	e.sim.Advance()
}

// ledger checks the simulator's view of p: exactly one transaction, charged
// exactly when Tender has it captured.
func (e *env) ledger(p *tender.Payment) sim.Entry {
	e.t.Helper()
	var found []sim.Entry
	for _, en := range e.sim.Ledger() {
		if en.TransactionRef == sepay.TransactionRef(p.ID) {
			found = append(found, en)
		}
	}
	if len(found) != 1 {
		e.t.Fatalf("ledger has %d transactions for %s, want 1", len(found), p.ID)
	}
	if found[0].Charged != (p.Status == tender.StatusCaptured) || found[0].Amount != p.Amount {
		e.t.Fatalf("ledger %+v disagrees with payment %s (%d)", found[0], p.Status, p.Amount)
	}
	return found[0]
}

func TestApprove(t *testing.T) {
	e := newEnv(t, nil)
	p := e.payment(1234, sid1)
	if err := e.start(p, sid1); err != nil {
		t.Fatal(err)
	}
	if p.Status != tender.StatusProcessing || p.ProviderReference != p.ID {
		t.Fatalf("after start: %s ref %q", p.Status, p.ProviderReference)
	}
	if u, err := e.status(p, sid1); err != nil || u.Status != "" || u.CheckIn != callbackPoll {
		t.Fatalf("queued: %+v %v", u, err)
	}
	e.sim.Pickup(sid1)
	u, err := e.status(p, sid1)
	if err != nil || u.Status != "" || u.Details["brand"] == "" {
		t.Fatalf("in progress: %+v %v", u, err)
	}
	e.clock.Add(time.Minute)
	u, err = e.status(p, sid1)
	if err != nil || p.Status != tender.StatusCaptured {
		t.Fatalf("approved: %+v %v", u, err)
	}
	if p.Receipt == nil || !strings.Contains(p.Receipt.Raw, "@LF") || len(p.Receipt.Lines) < 4 ||
		!strings.Contains(strings.Join(p.Receipt.Lines, "\n"), "EUR 12,34") {
		t.Fatalf("receipt %+v", p.Receipt)
	}
	if u.Details["brand"] == "" || u.Details["transaction_time"] == "" {
		t.Errorf("details %v", u.Details)
	}
	e.ledger(p)
}

func TestDecline(t *testing.T) {
	e := newEnv(t, nil)
	p := e.payment(1051, sid1)
	e.start(p, sid1)
	e.finish(sid1)
	if _, err := e.status(p, sid1); err != nil {
		t.Fatal(err)
	}
	if p.Status != tender.StatusFailed || p.Failure.Code != tender.FailDeclined || p.Failure.ProviderCode != "116" ||
		!strings.Contains(p.Failure.Message, "Not sufficient funds") {
		t.Fatalf("%s %+v", p.Status, p.Failure)
	}
	if p.Receipt == nil || !strings.Contains(strings.Join(p.Receipt.Lines, "\n"), "GEWEIGERD") {
		t.Fatalf("declined without the terminal's ticket: %+v", p.Receipt)
	}
	e.ledger(p)
}

func TestCanceledAtTerminal(t *testing.T) {
	e := newEnv(t, nil)
	p := e.payment(1054, sid1)
	e.start(p, sid1)
	e.finish(sid1)
	e.status(p, sid1)
	if p.Status != tender.StatusCanceled || p.Failure.Code != tender.FailCanceledAtTerminal {
		t.Fatalf("%s %+v", p.Status, p.Failure)
	}
	// Sepay's 14 carries the ticket the terminal printed; it is passed on.
	if p.Receipt == nil || !strings.Contains(p.Receipt.Raw, "@LF") || !strings.Contains(strings.Join(p.Receipt.Lines, "\n"), "GEANNULEERD") {
		t.Fatalf("canceled on the terminal without its ticket: %+v", p.Receipt)
	}
	e.ledger(p)
}

func TestCancelQueuedAndInProgress(t *testing.T) {
	e := newEnv(t, nil)
	p := e.payment(500, sid1)
	e.start(p, sid1)
	u, err := e.conn.Cancel(context.Background(), e.op(p, sid1))
	if err != nil || u.Status != tender.StatusCanceled {
		t.Fatalf("cancel queued: %+v %v", u, err)
	}
	e.apply(p, u)
	if e.ledger(p).State != sim.Canceled {
		t.Fatal("sim did not cancel")
	}
	if p.Receipt != nil {
		t.Fatalf("a payment canceled before the terminal had it has a receipt: %+v", p.Receipt)
	}

	q := e.payment(600, sid1)
	if err := e.start(q, sid1); err != nil {
		t.Fatalf("terminal not free after cancel: %v", err)
	}
	e.sim.Pickup(sid1)
	_, err = e.conn.Cancel(context.Background(), e.op(q, sid1))
	if tender.ErrorCodeOf(err) != tender.EConflict || !strings.Contains(tender.ErrorMessageOf(err), "on the terminal") {
		t.Fatalf("cancel in progress: %v", err)
	}
	e.clock.Add(time.Minute)
	e.status(q, sid1)
	if q.Status != tender.StatusCaptured {
		t.Fatalf("after refused cancel: %s", q.Status)
	}
	e.ledger(q)
}

func TestBusyTerminal(t *testing.T) {
	e := newEnv(t, nil)
	a, b := e.payment(100, sid1), e.payment(200, sid1)
	e.start(a, sid1)
	err := e.start(b, sid1)
	if tender.ErrorCodeOf(err) != tender.ETerminalBusy || tender.AsError(err).ProviderCode != "11" {
		t.Fatalf("second payment: %v", err)
	}
	if p := e.payment(300, sid2); e.start(p, sid2) != nil {
		t.Fatal("other terminal refused")
	}
	for _, en := range e.sim.Ledger() {
		if en.TransactionRef == b.ID {
			t.Fatal("busy payment reached the ledger")
		}
	}
}

func TestNoAnswerThenReconciled(t *testing.T) {
	e := newEnv(t, nil)
	e.conn = sepay.New(sepay.Options{Clock: e.clock, RequestTimeout: 200 * time.Millisecond})
	p := e.payment(1055, sid1)
	err := e.start(p, sid1)
	if tender.ErrorCodeOf(err) != tender.EUnavailable || p.Status != tender.StatusUnknown {
		t.Fatalf("start: %v, %s", err, p.Status)
	}
	// The status questions get the usual timeout: on a loaded machine an
	// answer may take longer than the 200 ms the start was given.
	e.conn = sepay.New(sepay.Options{Clock: e.clock, RequestTimeout: 5 * time.Second})
	if _, err := e.status(p, sid1); err != nil || p.Status != tender.StatusProcessing {
		t.Fatalf("reconcile while queued: %v %s", err, p.Status)
	}
	e.finish(sid1)
	e.status(p, sid1)
	if p.Status != tender.StatusCaptured {
		t.Fatalf("reconciled to %s", p.Status)
	}
	e.ledger(p)
}

// Rule 61: the first request is lost before Sepay did anything; the status
// inquiry finds nothing and the same reference is sent again, once.
func TestLostRequestResentWithSameRef(t *testing.T) {
	e := newEnv(t, nil)
	p := e.payment(1061, sid1)
	if err := e.start(p, sid1); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("start: %v", err)
	}
	if len(e.sim.Ledger()) != 0 {
		t.Fatal("dropped request reached the ledger")
	}
	u, err := e.status(p, sid1)
	if err != nil || p.Status != tender.StatusProcessing || !strings.Contains(u.Note, "same reference") {
		t.Fatalf("reconcile: %+v %v %s", u, err, p.Status)
	}
	// Asking again (as the engine would after a lost answer) never adds a payment.
	if err := e.start(p, sid1); err != nil {
		t.Fatalf("start again: %v", err)
	}
	e.finish(sid1)
	e.status(p, sid1)
	if p.Status != tender.StatusCaptured {
		t.Fatal(p.Status)
	}
	e.ledger(p)

	// Past the resend window, a reference Sepay never saw fails the payment.
	old := e.payment(2061, sid2)
	e.start(old, sid2)
	e.clock.Add(sepay.ResendWindow)
	e.status(old, sid2)
	if old.Status != tender.StatusFailed || old.Failure.Code != tender.FailProvider {
		t.Fatalf("old lost payment: %s %+v", old.Status, old.Failure)
	}
}

func TestDuplicateStartFollowsExisting(t *testing.T) {
	e := newEnv(t, nil)
	p := e.payment(700, sid1)
	e.start(p, sid1)
	u, err := e.conn.Start(context.Background(), e.op(p, sid1))
	if err != nil || u.Status != tender.StatusProcessing || !strings.Contains(u.Note, "06") {
		t.Fatalf("duplicate start: %+v %v", u, err)
	}
	e.ledger(p)
}

// A response whose signed content was altered on the way is an error of its
// own, not a decline; asked again untampered, the truth comes through.
func TestTamperedResponseRejected(t *testing.T) {
	var tamper sync.Map
	e := newEnv(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, on := tamper.Load("on"); !on {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := strings.Replace(rec.Body.String(), "<status>00</status>", "<status>13</status><transactionerror>100</transactionerror>", 1)
			body = strings.Replace(body, "<transactionerror>100</transactionerror><transactiontime>", "<transactiontime>", 1)
			w.WriteHeader(rec.Code)
			io.WriteString(w, body)
		})
	})
	p := e.payment(900, sid1)
	e.start(p, sid1)
	e.finish(sid1)
	tamper.Store("on", true)
	_, err := e.status(p, sid1)
	if !errors.Is(err, sepay.ErrSignature) || tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("tampered: %v", err)
	}
	if p.Status != tender.StatusProcessing {
		t.Fatalf("tampered answer believed: %s", p.Status)
	}
	tamper.Delete("on")
	e.status(p, sid1)
	if p.Status != tender.StatusCaptured {
		t.Fatal(p.Status)
	}
	e.ledger(p)
}

func TestWrongSepayCertificate(t *testing.T) {
	e := newEnv(t, nil)
	e.account.Settings["sepay_certificate"] = sepay.ProductionCertificatePEM
	p := e.payment(100, sid1)
	err := e.start(p, sid1)
	if !errors.Is(err, sepay.ErrSignature) || p.Status != tender.StatusUnknown {
		t.Fatalf("%v %s", err, p.Status)
	}
}

func TestCallbackVerifiedAndBelieved(t *testing.T) {
	e := newEnv(t, nil)
	p := e.payment(4321, sid1)
	e.start(p, sid1)
	e.finish(sid1)
	var res *tender.CallbackResult
	select {
	case res = <-e.callbacks:
	case <-time.After(10 * time.Second):
		t.Fatal("no callback")
	}
	// A verified final result is believed as it is: no status is asked.
	if res.Confirm || res.PaymentID != p.ID || res.Update.Status != tender.StatusCaptured {
		t.Fatalf("callback result %+v", res)
	}
	asked := e.sim.Stats().Requests["GetTransactionStatus"]
	e.apply(p, *res.Update)
	if p.Status != tender.StatusCaptured || asked != 0 {
		t.Fatal(p.Status, asked)
	}

	// A forged callback (signed with the integrator's key, not Sepay's) is refused.
	v := sepay.Values{"key_index": "0", "version": "2", "login": login, "sid": sid1, "transactionref": p.ID,
		"amount": "43.21", "status": "00"}
	sig, _ := sepay.Sign(integrator, sepay.GetTransactionStatus.Result.Canonical(v))
	_, err := e.conn.Callback(context.Background(), &tender.Callback{Account: e.account, Path: "notify",
		Body: sepay.GetTransactionStatus.MarshalResult(v, sig), Find: e.find})
	if tender.ErrorCodeOf(err) != tender.EUnauthorized {
		t.Fatalf("forged callback: %v", err)
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t, nil)
	c := e.conn
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 100, Currency: "USD"}
	if err := c.ValidatePayment(p, e.account, e.terminals[sid1]); tender.AsError(err).Param != "currency" {
		t.Errorf("USD: %v", err)
	}
	p.Currency, p.Reference = "EUR", "a;b"
	if err := c.ValidatePayment(p, e.account, e.terminals[sid1]); tender.AsError(err).Param != "reference" {
		t.Errorf("reference with ;: %v", err)
	}
	p.Reference, p.Amount = "", 0
	if err := c.ValidatePayment(p, e.account, e.terminals[sid1]); tender.AsError(err).Param != "amount" {
		t.Errorf("zero: %v", err)
	}
	p.Amount = 100000000 // EUR 1,000,000.00: one cent more than a terminal takes
	if err := c.ValidatePayment(p, e.account, e.terminals[sid1]); tender.AsError(err).Param != "amount" {
		t.Errorf("EUR 1,000,000.00: %v", err)
	}
	p.Amount = 99999999
	if err := c.ValidatePayment(p, e.account, e.terminals[sid1]); err != nil {
		t.Errorf("EUR 999,999.99: %v", err)
	}
	p.Amount = 1
	if err := c.ValidatePayment(p, e.account, e.terminals[sid1]); err != nil {
		t.Errorf("one cent: %v", err)
	}
	p.Amount = 100
	if err := c.ValidatePayment(p, e.account, nil); tender.AsError(err).Param != "terminal" {
		t.Errorf("no terminal: %v", err)
	}
	p.CaptureMode = tender.CaptureManual
	if err := c.ValidatePayment(p, e.account, e.terminals[sid1]); tender.ErrorCodeOf(err) != tender.ENotSupported || tender.AsError(err).Param != "capture" {
		t.Errorf("capture manual on a terminal that captures at once: %v", err)
	}
	p.CaptureMode = tender.CaptureAutomatic
	if err := c.ValidateTerminal(&tender.Terminal{ProviderID: ""}, e.account); err == nil {
		t.Error("empty SID accepted")
	}
	for key, val := range map[string]string{
		"settings.login": "", "settings.base_url": "ftp://x", "settings.key_index": "-1",
		"settings.sepay_certificate": "junk", "credentials.private_key": "junk",
		"settings.certificate": string(simCert), "settings.callbacks": "maybe",
	} {
		a := *e.account
		a.Settings, a.Credentials = map[string]string{}, map[string]string{}
		for k, v := range e.account.Settings {
			a.Settings[k] = v
		}
		for k, v := range e.account.Credentials {
			a.Credentials[k] = v
		}
		kind, name, _ := strings.Cut(key, ".")
		if kind == "settings" {
			a.Settings[name] = val
		} else {
			a.Credentials[name] = val
		}
		if err := c.ValidateAccount(&a); tender.AsError(err) == nil || tender.AsError(err).Param != key {
			t.Errorf("%s=%q: %v", key, val, err)
		}
	}
	if _, err := c.Refund(context.Background(), e.op(e.payment(100, sid1), sid1)); tender.ErrorCodeOf(err) != tender.ENotSupported {
		t.Errorf("refund: %v", err)
	}
}
