package epay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
	"github.com/tenderpay/tender/epay/sim"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testTID = "99000031"

type env struct {
	t     *testing.T
	clock *fakeClock
	sim   *sim.Sim
	srv   *httptest.Server
	conn  *epay.Connector
	acct  *tender.Account
	term  *tender.Terminal
	// tamper, when set, rewrites Impact's signpos answers.
	tamper func(epay.SignPOSResponse) epay.SignPOSResponse
	// drop, when set, loses the answer to requests whose path ends so
	// (after the simulator has handled them).
	drop atomic.Value // string
	// fail500, when set, answers 500 Internal Server Error to requests
	// whose path ends so, after the simulator has handled them (a server
	// that did the work and failed to say so).
	fail500 atomic.Value // string
	// refuse, when set to a refusal, answers its status to requests whose
	// path ends in its suffix without passing them on (nothing is done).
	refuse atomic.Value // refusal
}

type refusal struct {
	suffix string
	status int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clock: &fakeClock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}}
	s, err := sim.New(sim.Options{Clock: e.clock, Users: map[string]string{"merchant": "s3cret"},
		Terminals:     []sim.TerminalConfig{{TID: testTID, ID: 358046, Name: "Test"}, {TID: "99000032", ID: 358047}},
		ImpactAPIKeys: []string{"impact-key"}, AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour,
		PressDelay: -1, ProcessDelay: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.sim = s
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	t.Cleanup(s.Close)
	pub, _ := epay.MarshalPublicKey(s.ImpactPublicKey())
	e.acct = &tender.Account{ID: "epay-test", Connector: "epay", Environment: tender.EnvSandbox,
		Settings:    map[string]string{"impact_url": e.srv.URL + "/impact", "webecr_url": e.srv.URL + "/webecr", "provider_public_key": pub},
		Credentials: map[string]string{"impact_api_key": "impact-key", "user": "merchant", "password": "s3cret"}}
	e.conn = epay.New(epay.Options{HTTPClient: e.srv.Client(), Clock: e.clock, RequestTimeout: 2 * time.Second,
		PollInterval: 50 * time.Millisecond, LostAfter: time.Minute, OperationWait: 10 * time.Second})
	// Pair the terminal as a merchant does: code on the terminal → ApiKey.
	code, err := s.ShowOTP(testTID)
	if err != nil {
		t.Fatal(err)
	}
	wc := &epay.WebECRClient{BaseURL: e.srv.URL + "/webecr", User: "merchant", Password: "s3cret", HTTP: e.srv.Client()}
	key, err := wc.Redeem(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	e.term = &tender.Terminal{ID: "t1", Connector: "epay", Account: e.acct.ID, ProviderID: testTID,
		Credentials: map[string]string{"api_key": key}}
	if err := e.conn.ValidateAccount(e.acct); err != nil {
		t.Fatal(err)
	}
	if err := e.conn.ValidateTerminal(e.term, e.acct); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) serve(w http.ResponseWriter, r *http.Request) {
	if f, _ := e.refuse.Load().(refusal); f.suffix != "" && strings.HasSuffix(r.URL.Path, f.suffix) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(`{"detail":"refused by the test"}`))
		return
	}
	if f, _ := e.fail500.Load().(string); f != "" && strings.HasSuffix(r.URL.Path, f) {
		e.sim.ServeHTTP(httptest.NewRecorder(), r)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if d, _ := e.drop.Load().(string); d != "" && strings.HasSuffix(r.URL.Path, d) {
		e.sim.ServeHTTP(httptest.NewRecorder(), r)
		panic(http.ErrAbortHandler)
	}
	if e.tamper == nil || !strings.HasSuffix(r.URL.Path, "/signpos") {
		e.sim.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	e.sim.ServeHTTP(rec, r)
	var resp epay.SignPOSResponse
	_ = json.Unmarshal(rec.Body.Bytes(), &resp)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(e.tamper(resp))
}

// invoice returns an invoice whose total is amount, 24 % VAT included.
func invoice(amount int64, mark string) json.RawMessage {
	vat := amount * 24 / 124
	m := ""
	if mark != "" {
		m = `,"mark":` + mark
	}
	return json.RawMessage(fmt.Sprintf(`{"issuer_vat":"EL999999999","date":"2026-03-02","branch":0,"type":"11.1","series":"ΑΛΠ","number":"%d","net_amount":%d,"vat_amount":%d,"total_amount":%d%s}`,
		amount, amount-vat, vat, amount, m))
}

func (e *env) payment(amount int64) *tender.Payment {
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: amount, Currency: "EUR", Status: tender.StatusPending,
		Connector: "epay", Account: e.acct.ID, Terminal: e.term.ID, Input: invoice(amount, ""), CreatedAt: e.clock.Now()}
	if err := e.conn.ValidatePayment(p, e.acct, e.term); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) op(p *tender.Payment) *tender.Op {
	return &tender.Op{Payment: p, Account: e.acct, Terminal: e.term, ID: "op-" + p.ID}
}

// apply does what the engine does with an Update.
func (e *env) apply(p *tender.Payment, u tender.Update) {
	e.t.Helper()
	if u.Status != "" {
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
	if u.Details != nil {
		if p.Details == nil {
			p.Details = map[string]string{}
		}
		for k, v := range u.Details {
			p.Details[k] = v
		}
	}
	if u.Status == tender.StatusCaptured {
		p.CapturedAmount = p.Amount
	}
}

// start runs Start as the engine does: an unavailable error → unknown.
func (e *env) start(p *tender.Payment) error {
	u, err := e.conn.Start(context.Background(), e.op(p))
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

// settle calls Status, advancing the clock, until the payment settles.
func (e *env) settle(p *tender.Payment) {
	e.t.Helper()
	for i := 0; i < 20 && !p.Status.Settled(); i++ {
		u, err := e.conn.Status(context.Background(), e.op(p))
		if err != nil {
			e.t.Fatalf("status: %v", err)
		}
		e.apply(p, u)
		e.clock.Advance(10 * time.Second)
	}
	if !p.Status.Settled() {
		e.t.Fatalf("payment still %s", p.Status)
	}
}

func (e *env) ledger(ref string) []sim.Entry {
	var out []sim.Entry
	for _, l := range e.sim.Ledger() {
		if l.CustomerReference == ref {
			out = append(out, l)
		}
	}
	return out
}

func TestApprovalCarriesMyDATA(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1240)
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	if p.Status != tender.StatusProcessing || p.ProviderReference == "" {
		t.Fatalf("after start: %s %q", p.Status, p.ProviderReference)
	}
	// Nothing happens until the operator presses the ECR key.
	u, err := e.conn.Status(context.Background(), e.op(p))
	if err != nil || u.Status != "" {
		t.Fatalf("before press: %+v %v", u, err)
	}
	if !e.sim.Press(testTID) {
		t.Fatal("no pending intent on the terminal")
	}
	e.settle(p)
	if p.Status != tender.StatusCaptured {
		t.Fatalf("status %s (%+v)", p.Status, p.Failure)
	}
	d := p.Details
	for _, k := range []string{"mydata_payment_method_type", "mydata_amount", "mydata_tip_amount", "mydata_transaction_id",
		"mydata_tid", "mydata_signing_author", "mydata_signature", "mydata_pos_input", "mydata",
		"rrn", "auth_code", "masked_pan", "card_type"} {
		if d[k] == "" {
			t.Errorf("detail %s missing", k)
		}
	}
	if d["mydata_payment_method_type"] != "7" || d["mydata_amount"] != "12.40" || d["mydata_tip_amount"] != "0.00" ||
		d["mydata_tid"] != testTID || d["mydata_signing_author"] != "003" || len(d["mydata_transaction_id"]) != 21 {
		t.Errorf("myDATA details: %v", d)
	}
	// The signed input is what Impact signed, for this invoice, and verifies.
	c, err := epay.ParseClearText(d["mydata_pos_input"])
	if err != nil {
		t.Fatal(err)
	}
	if c.Payable != 1240 || c.Total != 1240 || c.TID != testTID || c.Mark != "" {
		t.Errorf("signed input %+v", c)
	}
	if err := epay.Verify(e.sim.ImpactPublicKey(), d["mydata_pos_input"], d["mydata_signature"]); err != nil {
		t.Error(err)
	}
	var block struct {
		Type               int
		TransactionID      string `json:"transactionId"`
		ProvidersSignature struct{ SigningAuthor, Signature string }
	}
	if err := json.Unmarshal([]byte(d["mydata"]), &block); err != nil || block.Type != 7 ||
		block.TransactionID != d["mydata_transaction_id"] || block.ProvidersSignature.Signature != d["mydata_signature"] {
		t.Errorf("mydata block %s: %v", d["mydata"], err)
	}
	l := e.ledger(p.ID)
	if len(l) != 1 || !l[0].Approved || l[0].Amount != 1240 || l[0].TransactionID != d["mydata_transaction_id"] || l[0].RRN != d["rrn"] {
		t.Fatalf("ledger %+v", l)
	}
}

func TestDeclineAndCancelAtTerminal(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		status tender.Status
		code   string
		words  string
	}{
		{1251, tender.StatusFailed, tender.FailDeclined, "declined"},
		{999, tender.StatusFailed, tender.FailDeclined, "declined"},
		{1254, tender.StatusCanceled, tender.FailCanceledAtTerminal, "cancelled"},
	} {
		t.Run(fmt.Sprint(tc.amount), func(t *testing.T) {
			e := newEnv(t)
			p := e.payment(tc.amount)
			if err := e.start(p); err != nil {
				t.Fatal(err)
			}
			e.sim.Press(testTID)
			e.settle(p)
			if p.Status != tc.status || p.Failure == nil || p.Failure.Code != tc.code || !strings.Contains(p.Failure.Message, tc.words) {
				t.Fatalf("got %s %+v", p.Status, p.Failure)
			}
			for _, l := range e.ledger(p.ID) {
				if l.Approved {
					t.Fatalf("ledger shows money taken: %+v", l)
				}
			}
		})
	}
}

func TestNoAnswerIsUnknownThenReconciled(t *testing.T) {
	for _, amount := range []int64{1255, 1313} {
		t.Run(fmt.Sprint(amount), func(t *testing.T) {
			e := newEnv(t)
			p := e.payment(amount)
			if amount == 1255 {
				err := e.start(p)
				if tender.ErrorCodeOf(err) != tender.EUnavailable || p.Status != tender.StatusUnknown {
					t.Fatalf("start: %v, status %s", err, p.Status)
				}
			} else if err := e.start(p); err != nil {
				t.Fatal(err)
			}
			e.sim.Press(testTID)
			e.settle(p)
			if p.Status != tender.StatusCaptured || p.Details["rrn"] == "" || len(p.Details["mydata_transaction_id"]) != 21 {
				t.Fatalf("got %s %v", p.Status, p.Details)
			}
			l := e.ledger(p.ID)
			if len(l) != 1 || !l[0].Approved || l[0].TransactionID != p.Details["mydata_transaction_id"] {
				t.Fatalf("ledger %+v vs %v", l, p.Details)
			}
		})
	}
}

func TestDroppedFirstRequestNeverCharges(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1261)
	if err := e.start(p); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("start: %v", err)
	}
	u, err := e.conn.Status(context.Background(), e.op(p))
	if err != nil || u.Status != "" {
		t.Fatalf("within grace: %+v %v", u, err)
	}
	e.clock.Advance(2 * time.Minute)
	e.settle(p)
	if p.Status != tender.StatusFailed || len(e.ledger(p.ID)) != 0 {
		t.Fatalf("got %s, ledger %v", p.Status, e.ledger(p.ID))
	}
	// A new payment for the same sale goes through once.
	p2 := e.payment(1261)
	if err := e.start(p2); tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("the first request of each payment is dropped: %v", err)
	}
}

func TestSignatureNotMatchingInvoiceRefusedBeforeSending(t *testing.T) {
	e := newEnv(t)
	cases := map[string]func(epay.SignPOSResponse) epay.SignPOSResponse{
		"amounts changed": func(r epay.SignPOSResponse) epay.SignPOSResponse {
			c, _ := epay.ParseClearText(r.Input)
			c.Net, c.VAT = c.Net-1, c.VAT+1 // still adds up, but not the invoice
			r.Input = c.String()
			return r
		},
		"signature of other input": func(r epay.SignPOSResponse) epay.SignPOSResponse {
			c, _ := epay.ParseClearText(r.Input)
			c.UID = "D4F6A5F5C6123658F78369E5191ED5C9D73CB7AC"
			r.Input = c.String()
			return r
		},
		"signature swapped": func(r epay.SignPOSResponse) epay.SignPOSResponse {
			r.Signature = "MEUCIFGcSZGGUTUXsHhq08mrdlWBRRUmAEpoT3u3ulHlGg7eAiEA/30uTF/DZj5qfz4DwoJf04Hajd+PkRmAu8ubXO7xs/E="
			return r
		},
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			e.tamper = tamper
			p := e.payment(1240)
			err := e.start(p)
			if tender.ErrorCodeOf(err) != tender.EProvider || !strings.Contains(tender.ErrorMessageOf(err), "does not match the invoice") {
				t.Fatalf("start: %v", err)
			}
			if _, ok := e.sim.Intent(p.ID); ok {
				t.Fatal("the payment reached ePay")
			}
		})
	}
}

func TestSignatureRefusedByEPay(t *testing.T) {
	e := newEnv(t)
	// ePay holds another key for provider 3 than the one Impact signs with:
	// Tender's own check passes, ePay's fails.
	e.sim.RegisterProvider("3", otherKey(t))
	p := e.payment(1240)
	err := e.start(p)
	if tender.ErrorCodeOf(err) != tender.EProvider || tender.AsError(err).ProviderCode != "400" {
		t.Fatalf("start: %v", err)
	}
	if _, ok := e.sim.Intent(p.ID); ok || p.Status != tender.StatusFailed {
		t.Fatal("ePay queued a payment with a bad signature")
	}
}

func TestExpiredTokenRefreshedTransparently(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1000)
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	logins := e.sim.Logins()
	e.sim.Press(testTID)
	e.clock.Advance(61 * time.Minute) // the access token lives an hour
	e.settle(p)
	if p.Status != tender.StatusCaptured {
		t.Fatalf("status %s", p.Status)
	}
	if e.sim.Refreshes() != 1 || e.sim.Logins() != logins {
		t.Fatalf("refreshes %d, logins %d→%d", e.sim.Refreshes(), logins, e.sim.Logins())
	}
	// When the refresh token has expired too, the client logs in again.
	e.clock.Advance(25 * time.Hour)
	p2 := e.payment(1000)
	if err := e.start(p2); err != nil {
		t.Fatal(err)
	}
	if e.sim.Logins() != logins+1 {
		t.Fatalf("logins %d", e.sim.Logins())
	}
}

func TestCancelBeforeTerminalTakesIt(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1500)
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	u, err := e.conn.Cancel(context.Background(), e.op(p))
	if err != nil || u.Status != tender.StatusCanceled {
		t.Fatalf("cancel: %+v %v", u, err)
	}
	e.apply(p, u)
	if e.sim.Press(testTID) {
		t.Fatal("the terminal still got the withdrawn payment")
	}
	in, _ := e.sim.Intent(p.ID)
	if in.Status != epay.StatusCompleted || in.ResultCode() != epay.ResultCancelled || len(e.ledger(p.ID)) != 0 {
		t.Fatalf("intent %+v", in)
	}

	// Once the terminal has it, only the terminal can cancel.
	p2 := e.payment(1500)
	if err := e.start(p2); err != nil {
		t.Fatal(err)
	}
	e.sim.Press(testTID)
	if _, err := e.conn.Cancel(context.Background(), e.op(p2)); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("cancel after press: %v", err)
	}
}

func TestRefundVoidsOnce(t *testing.T) {
	e := newEnv(t)
	p := e.payment(2000)
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	e.sim.Press(testTID)
	e.settle(p)
	op := e.op(p)
	op.Amount = 2000
	u, err := e.conn.Refund(context.Background(), op)
	if err != nil || u.Status != tender.StatusRefunded || len(u.Details["void_transaction_id"]) != 21 {
		t.Fatalf("refund: %+v %v", u, err)
	}
	// A retried refund finds the void done and does not void again.
	u, err = e.conn.Refund(context.Background(), op)
	if err != nil || u.Status != tender.StatusRefunded {
		t.Fatalf("retried refund: %+v %v", u, err)
	}
	l := e.ledger(p.ID)
	if len(l) != 1 || !l[0].Voided {
		t.Fatalf("ledger %+v", l)
	}
}

func TestLedgerAgrees(t *testing.T) {
	e := newEnv(t)
	var ps []*tender.Payment
	for _, a := range []int64{1000, 1251, 1254, 1255, 1261, 2500} {
		p := e.payment(a)
		_ = e.start(p)
		e.sim.Press(testTID)
		e.clock.Advance(2 * time.Minute)
		e.settle(p)
		ps = append(ps, p)
	}
	for _, p := range ps {
		var approved []sim.Entry
		for _, l := range e.ledger(p.ID) {
			if l.Approved {
				approved = append(approved, l)
			}
		}
		switch {
		case p.Status == tender.StatusCaptured && (len(approved) != 1 || approved[0].Amount != p.Amount):
			t.Errorf("%d captured but ledger %+v", p.Amount, approved)
		case p.Status != tender.StatusCaptured && len(approved) != 0:
			t.Errorf("%d %s but ledger %+v", p.Amount, p.Status, approved)
		}
	}
}
