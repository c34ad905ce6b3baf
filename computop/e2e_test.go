package computop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/computop"
	"github.com/tenderpay/tender/computop/sim"
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

const (
	testMID  = "WeroTestShop"
	testBF   = "S1mulat0r-Bf-Key"
	testHMAC = "S1mulat0r-Hmac-Key-32-chars-long"
)

// harness plays Tender's engine around the connector: it keeps payments,
// applies Updates through the state machine, and routes Paygate's notify
// and the shopper's browser to Connector.Callback over real HTTP.
type harness struct {
	t        *testing.T
	clock    *fakeClock
	conn     *computop.Connector
	sim      *sim.Sim
	simSrv   *httptest.Server
	tender   *httptest.Server
	acct     *tender.Account
	s2s      atomic.Int64 // requests to capture/reverse/inquire
	mu       sync.Mutex
	payments map[string]*tender.Payment
	rejected atomic.Int64
	// lose, when it holds a func(*http.Request) bool that says yes, loses
	// the answer to that request after the simulator has served it.
	lose atomic.Value
}

func newHarness(t *testing.T, simOpts sim.Options, alg computop.Algorithm, encKey string) *harness {
	t.Helper()
	h := &harness{t: t, clock: &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}, payments: map[string]*tender.Payment{}}
	simOpts.Clock, simOpts.AllowHTTP = h.clock, true
	if simOpts.RetryUnit == 0 {
		simOpts.RetryUnit = time.Millisecond
	}
	s, err := sim.New(simOpts, sim.MerchantConfig{ID: testMID, Algorithm: alg, EncryptionKey: []byte(encKey), HMACKey: []byte(testHMAC), PartialCaptures: true})
	if err != nil {
		t.Fatal(err)
	}
	h.sim = s
	h.simSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.URL.Path, "/WERO.aspx") {
			h.s2s.Add(1)
		}
		if f, _ := h.lose.Load().(func(*http.Request) bool); f != nil && f(r) {
			s.ServeHTTP(httptest.NewRecorder(), r)
			panic(http.ErrAbortHandler)
		}
		s.ServeHTTP(w, r)
	}))
	h.acct = &tender.Account{ID: "cp1", Connector: "computop", Environment: tender.EnvSandbox,
		Settings:    map[string]string{"base_url": h.simSrv.URL, "merchant_id": testMID, "encryption": string(alg), "min_amount": "1"},
		Credentials: map[string]string{"encryption_key": encKey, "hmac_key": testHMAC}}
	h.conn = computop.New(computop.Options{HTTPClient: h.simSrv.Client(), Clock: h.clock, Timeout: 2 * time.Second})
	if err := h.conn.ValidateAccount(h.acct); err != nil {
		t.Fatal(err)
	}
	h.tender = httptest.NewServer(http.HandlerFunc(h.serveTender))
	t.Cleanup(func() { h.tender.Close(); h.simSrv.Close(); s.Close() })
	return h
}

func (h *harness) serveTender(w http.ResponseWriter, r *http.Request) {
	if id, ok := strings.CutPrefix(r.URL.Path, "/pay/"); ok {
		p := h.get(id)
		fmt.Fprintf(w, "payment %s is %s", p.ID, p.Status)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/callbacks/computop/"+h.acct.ID+"/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	res, err := h.conn.Callback(r.Context(), &tender.Callback{Account: h.acct, Path: rest, Request: r, Body: body,
		Find: func(ctx context.Context, ref string) (*tender.Payment, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			if p, ok := h.payments[ref]; ok {
				cp := *p
				return &cp, nil
			}
			return nil, tender.Errorf(tender.ENotFound, "no payment")
		}})
	if err != nil {
		h.rejected.Add(1)
		http.Error(w, tender.ErrorMessageOf(err), http.StatusBadRequest)
		return
	}
	if res.Update != nil && !res.Confirm {
		if err := h.apply(res.PaymentID, *res.Update); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
	}
	if res.Landing {
		http.Redirect(w, r, "/pay/"+res.PaymentID, http.StatusSeeOther)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *harness) get(id string) *tender.Payment {
	h.mu.Lock()
	defer h.mu.Unlock()
	cp := *h.payments[id]
	return &cp
}

// apply is the engine's part: state machine, totals, State.
func (h *harness) apply(id string, u tender.Update) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.payments[id]
	if u.Status != "" && u.Status != p.Status {
		if err := p.Status.Transition(u.Status); err != nil {
			return err
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
	return nil
}

func (h *harness) op(p *tender.Payment, id string, amount int64) *tender.Op {
	return &tender.Op{Payment: p, Account: h.acct, ID: id, Amount: amount,
		CallbackURL: h.tender.URL + "/callbacks/computop/" + h.acct.ID, PageURL: h.tender.URL + "/pay/" + p.ID}
}

var billing = json.RawMessage(`{"billing":{"first_name":"Max","last_name":"Müller","street":"Hauptstraße 1","city":"Berlin","zip":"10115","country_code":"de"}}`)

func (h *harness) start(amount int64, mode tender.CaptureMode) *tender.Payment {
	h.t.Helper()
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: amount, Currency: "EUR", Status: tender.StatusPending,
		Connector: "computop", Account: h.acct.ID, Reference: "ORDER-" + fmt.Sprint(amount), Description: "Bestellung",
		CaptureMode: mode, Input: billing, CreatedAt: h.clock.Now(), OperationID: "op-" + fmt.Sprint(amount)}
	if err := h.conn.ValidatePayment(p, h.acct, nil); err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.payments[p.ID] = p
	h.mu.Unlock()
	u, err := h.conn.Start(context.Background(), h.op(h.get(p.ID), "create-"+p.ID, 0))
	if err != nil {
		h.t.Fatal(err)
	}
	if u.Status != tender.StatusRequiresAction || u.NextAction == nil || !strings.Contains(u.NextAction.URL, "/WERO.aspx?") {
		h.t.Fatalf("start: %+v", u)
	}
	if err := h.apply(p.ID, u); err != nil {
		h.t.Fatal(err)
	}
	return h.get(p.ID)
}

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// shopper opens next_action.url and presses a button; it returns the final
// page text and the URL the browser ended at.
func (h *harness) shopper(p *tender.Payment, action string) (string, *url.URL) {
	h.t.Helper()
	resp, err := http.Get(p.NextAction.URL)
	if err != nil {
		h.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `name="action" value="approve"`) || !strings.Contains(string(page), `name="action" value="decline"`) {
		h.t.Fatalf("shopper page %d: %s", resp.StatusCode, page)
	}
	form := url.Values{"action": {action}}
	for _, m := range hiddenRe.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], m[2])
	}
	resp, err = http.PostForm(h.simSrv.URL+"/WERO.aspx", form)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body), resp.Request.URL
}

func (h *harness) ledger(transID string) sim.Entry {
	h.t.Helper()
	es := h.sim.Payments(testMID, transID)
	if len(es) != 1 {
		h.t.Fatalf("ledger has %d payments for %s", len(es), transID)
	}
	return es[0]
}

func state(t *testing.T, p *tender.Payment) map[string]any {
	var m map[string]any
	json.Unmarshal(p.State, &m)
	return m
}

func TestApproveAutomaticCapture(t *testing.T) {
	for _, tc := range []struct {
		name string
		alg  computop.Algorithm
		key  string
		opts sim.Options
	}{
		{"blowfish", computop.Blowfish, testBF, sim.Options{}},
		{"blowfish space padding lower hex", computop.Blowfish, testBF, sim.Options{Padding: computop.PadSpace, LowerHex: true}},
		{"aes", computop.AES, "S1mulat0r-AesKey", sim.Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts, tc.alg, tc.key)
			p := h.start(1999, tender.CaptureAutomatic)
			text, at := h.shopper(p, "approve")
			if at.Path != "/pay/"+p.ID || !strings.Contains(text, "captured") {
				t.Fatalf("browser ended at %s: %s", at, text)
			}
			p = h.get(p.ID)
			e := h.ledger(p.ID)
			if p.Status != tender.StatusCaptured || p.ProviderReference != e.PayID || e.State != sim.StateCaptured || e.AmountCap != 1999 || !e.NotifyAcked {
				t.Fatalf("tender %s %s; ledger %+v", p.Status, p.ProviderReference, e)
			}
			if st := state(t, p); st["notified"] != true || st["pay_id"] != e.PayID {
				t.Errorf("state %v", st)
			}
			if h.rejected.Load() != 0 {
				t.Errorf("%d callbacks rejected", h.rejected.Load())
			}
		})
	}
}

// capture captures amount of payment id and, when it is accepted, books
// it on the harness's payment as the engine would.
func (h *harness) capture(ctx context.Context, id, opID string, amount int64) (tender.Update, error) {
	h.t.Helper()
	u, err := h.conn.Capture(ctx, h.op(h.get(id), opID, amount))
	if err == nil {
		h.mu.Lock()
		h.payments[id].CapturedAmount += amount
		h.mu.Unlock()
		if err := h.apply(id, u); err != nil {
			h.t.Fatal(err)
		}
	}
	return u, err
}

func TestManualCapturePartialThenTooMuch(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(1999, tender.CaptureManual)
	h.shopper(p, "approve")
	p = h.get(p.ID)
	if p.Status != tender.StatusAuthorized {
		t.Fatalf("status %s", p.Status)
	}
	ctx := context.Background()
	capture := func(opID string, amount int64) (tender.Update, error) { return h.capture(ctx, p.ID, opID, amount) }
	if u, err := capture("cap-1", 1000); err != nil || u.Status != tender.StatusPartiallyCaptured {
		t.Fatalf("capture 1: %+v %v", u, err)
	}
	if u, err := capture("cap-2", 500); err != nil || u.Status != tender.StatusPartiallyCaptured {
		t.Fatalf("capture 2: %+v %v", u, err)
	}
	before := h.s2s.Load()
	_, err := capture("cap-3", 500)
	if tender.ErrorCodeOf(err) != tender.EInvalid || h.s2s.Load() != before {
		t.Fatalf("capture 3 over the amount: %v, %d requests sent", err, h.s2s.Load()-before)
	}
	// A retried capture (same operation id) is answered from Paygate's
	// ReqId memory and takes nothing.
	if _, err := h.conn.Capture(ctx, h.op(h.get(p.ID), "cap-2", 400)); err != nil {
		t.Logf("replayed capture: %v", err)
	}
	e := h.ledger(p.ID)
	if len(e.Captures) != 2 || e.AmountCap != 1500 {
		t.Fatalf("ledger captures %+v", e.Captures)
	}
	if u, err := capture("cap-4", 499); err != nil || u.Status != tender.StatusCaptured {
		t.Fatalf("capture rest: %+v %v", u, err)
	}
	if e := h.ledger(p.ID); e.AmountCap != 1999 || e.State != sim.StateCaptured || h.get(p.ID).CapturedAmount != 1999 {
		t.Fatalf("ledger %+v", e)
	}
}

func TestCaptureWindow(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(2500, tender.CaptureManual)
	h.shopper(p, "approve")
	h.clock.Add(computop.CaptureWindow + time.Minute)
	before := h.s2s.Load()
	_, err := h.conn.Capture(context.Background(), h.op(h.get(p.ID), "late", 100))
	if tender.ErrorCodeOf(err) != tender.EConflict || !strings.Contains(tender.ErrorMessageOf(err), "10 days") || h.s2s.Load() != before {
		t.Fatalf("late capture: %v", err)
	}
	// The simulator enforces the window too.
	h.clock.Add(-2 * time.Minute)
	if _, err := h.conn.Capture(context.Background(), h.op(h.get(p.ID), "in-time", 100)); err != nil {
		t.Fatalf("capture inside the window: %v", err)
	}
}

func TestReversal(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(3000, tender.CaptureManual)
	h.shopper(p, "approve")
	u, err := h.conn.Cancel(context.Background(), h.op(h.get(p.ID), "cancel-1", 0))
	if err != nil || u.Status != tender.StatusCanceled {
		t.Fatalf("cancel: %+v %v", u, err)
	}
	if err := h.apply(p.ID, u); err != nil {
		t.Fatal(err)
	}
	if e := h.ledger(p.ID); e.State != sim.StateCancelled || e.Reversals != 1 || e.AmountAuth != 0 {
		t.Fatalf("ledger %+v", e)
	}
	// Status agrees after the fact.
	if u, err := h.conn.Status(context.Background(), h.op(h.get(p.ID), "", 0)); err != nil || u.Status != "" {
		t.Fatalf("status after cancel: %+v %v", u, err)
	}
}

func TestCancelBeforeResultRefused(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(3000, tender.CaptureManual)
	if _, err := h.conn.Cancel(context.Background(), h.op(p, "c", 0)); tender.ErrorCodeOf(err) != tender.ENotSupported {
		t.Fatalf("cancel while open: %v, want not_supported", err)
	}
}

func TestDeclineAndCancel(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	for _, tc := range []struct {
		amount  int64
		action  string
		status  tender.Status
		failure string
	}{
		{1051, "approve", tender.StatusFailed, tender.FailDeclined},
		{1054, "approve", tender.StatusCanceled, tender.FailCanceledByCustomer},
		{1000, "decline", tender.StatusCanceled, tender.FailCanceledByCustomer},
	} {
		p := h.start(tc.amount, tender.CaptureAutomatic)
		_, at := h.shopper(p, tc.action)
		p = h.get(p.ID)
		if at.Path != "/pay/"+p.ID || p.Status != tc.status || p.Failure == nil || p.Failure.Code != tc.failure {
			t.Fatalf("%d %s: at %s, %s %+v", tc.amount, tc.action, at.Path, p.Status, p.Failure)
		}
		if e := h.ledger(p.ID); e.State != sim.StateFailed || e.AmountAuth != 0 {
			t.Fatalf("ledger %+v", e)
		}
	}
}

func TestNeverAnswers55Reconciled(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	ctx := context.Background()
	p := h.start(1055, tender.CaptureAutomatic)
	text, _ := h.shopper(p, "approve")
	if !strings.Contains(text, "Waiting") {
		t.Fatalf("page: %s", text)
	}
	if got := h.get(p.ID).Status; got != tender.StatusRequiresAction {
		t.Fatalf("status %s", got)
	}
	// Paygate unreachable and the notify overdue: unknown.
	h.clock.Add(computop.NotifyGrace + time.Minute)
	h.acct.Settings["base_url"] = "http://127.0.0.1:1"
	u, err := h.conn.Status(ctx, h.op(h.get(p.ID), "", 0))
	if err != nil || u.Status != tender.StatusUnknown {
		t.Fatalf("status while unreachable: %+v %v", u, err)
	}
	h.apply(p.ID, u)
	h.acct.Settings["base_url"] = h.simSrv.URL
	u, err = h.conn.Status(ctx, h.op(h.get(p.ID), "", 0))
	if err != nil || u.Status != tender.StatusCaptured {
		t.Fatalf("reconciled: %+v %v", u, err)
	}
	if err := h.apply(p.ID, u); err != nil {
		t.Fatal(err)
	}
	if e := h.ledger(p.ID); !e.Silent || e.AmountCap != 1055 || h.get(p.ID).ProviderReference != e.PayID {
		t.Fatalf("ledger %+v", e)
	}
}

func TestAbandonedNeverOpened(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	ctx := context.Background()
	p := h.start(1200, tender.CaptureAutomatic)
	if u, err := h.conn.Status(ctx, h.op(h.get(p.ID), "", 0)); err != nil || u.Status != "" {
		t.Fatalf("early status: %+v %v", u, err)
	}
	h.clock.Add(computop.NotifyGrace)
	u, err := h.conn.Status(ctx, h.op(h.get(p.ID), "", 0))
	if err != nil || u.Status != tender.StatusUnknown {
		t.Fatalf("overdue: %+v %v", u, err)
	}
	h.apply(p.ID, u)
	h.clock.Add(computop.AbandonAfter)
	u, err = h.conn.Status(ctx, h.op(h.get(p.ID), "", 0))
	if err != nil || u.Status != tender.StatusCanceled || u.Failure.Code != tender.FailExpired {
		t.Fatalf("abandoned: %+v %v", u, err)
	}
}

func TestFirstRequestDropped61(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(2061, tender.CaptureManual)
	if resp, err := http.Get(p.NextAction.URL); err == nil {
		resp.Body.Close()
		t.Fatal("first WERO.aspx request answered")
	}
	h.shopper(p, "approve") // the shopper reloads
	if got := h.get(p.ID).Status; got != tender.StatusAuthorized {
		t.Fatalf("status %s", got)
	}
	ctx := context.Background()
	_, err := h.conn.Capture(ctx, h.op(h.get(p.ID), "cap-a", 2061))
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("dropped capture: %v", err)
	}
	// The engine retries with the same operation: one capture only.
	u, err := h.conn.Capture(ctx, h.op(h.get(p.ID), "cap-a", 2061))
	if err != nil || u.Status != tender.StatusCaptured {
		t.Fatalf("retry: %+v %v", u, err)
	}
	if _, err := h.conn.Capture(ctx, h.op(h.get(p.ID), "cap-a", 2061)); err != nil {
		t.Fatalf("second retry: %v", err)
	}
	if e := h.ledger(p.ID); len(e.Captures) != 1 || e.AmountCap != 2061 {
		t.Fatalf("ledger %+v", e)
	}
}

func TestCaptureBeforeNotifyRefused(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(1500, tender.CaptureManual)
	h.shopper(p, "approve")
	// Pretend only the browser came back: drop "notified" from the state.
	h.mu.Lock()
	h.payments[p.ID].State = json.RawMessage(strings.Replace(string(h.payments[p.ID].State), `"notified":true`, `"notified":false`, 1))
	h.mu.Unlock()
	before := h.s2s.Load()
	if _, err := h.conn.Capture(context.Background(), h.op(h.get(p.ID), "c", 100)); tender.ErrorCodeOf(err) != tender.EConflict || h.s2s.Load() != before {
		t.Fatalf("capture before notify: %v", err)
	}
}

// A capture's amount is checked before anything is sent: positive, at
// most what is left of the authorization (all of it allowed), and at
// least the account's minimum (100 cents by default; the minimum itself
// allowed).
func TestCaptureAmountBounds(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(1999, tender.CaptureManual)
	h.shopper(p, "approve")
	h.acct.Settings["min_amount"] = "100"
	ctx := context.Background()
	capture := func(opID string, amount int64) (tender.Update, error) { return h.capture(ctx, p.ID, opID, amount) }
	for _, c := range []struct {
		amount int64
		msg    string
	}{{0, "positive"}, {-1, "positive"}, {99, "helpdesk"}, {2000, "exceeds"}} {
		before := h.s2s.Load()
		_, err := capture(fmt.Sprint("bad-", c.amount), c.amount)
		if tender.ErrorCodeOf(err) != tender.EInvalid || !strings.Contains(tender.ErrorMessageOf(err), c.msg) || h.s2s.Load() != before {
			t.Errorf("capture of %d: %v (%d requests sent), want invalid: %s", c.amount, err, h.s2s.Load()-before, c.msg)
		}
	}
	if u, err := capture("min", 100); err != nil || u.Status != tender.StatusPartiallyCaptured {
		t.Fatalf("capture of the minimum: %+v %v", u, err)
	}
	before := h.s2s.Load()
	if _, err := capture("too-much", 1900); tender.ErrorCodeOf(err) != tender.EInvalid || h.s2s.Load() != before {
		t.Fatalf("capture of 1 more than is left: %v", err)
	}
	if u, err := capture("rest", 1899); err != nil || u.Status != tender.StatusCaptured {
		t.Fatalf("capture of exactly what is left: %+v %v", u, err)
	}
	if e := h.ledger(p.ID); e.AmountCap != 1999 {
		t.Fatalf("ledger captured %d", e.AmountCap)
	}
}
