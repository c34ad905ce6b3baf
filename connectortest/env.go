package connectortest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/engine"
	"github.com/tenderpay/tender/seal"
	"github.com/tenderpay/tender/sqlite"
)

// TerminalDelay is how long the suite's simulated terminals take to decide
// a payment: short, so that a provider's suite runs in seconds, but long
// enough for what must happen while a terminal works on a payment (a
// cancel before it is taken, a second create of the same key).
const TerminalDelay = 400 * time.Millisecond

// Env is one scenario's world: Tender (engine, store, API server) and the
// provider's simulator, each on its own HTTP listener.
type Env struct {
	Clock     *Clock
	HTTP      *http.Client    // for shoppers and the simulator's pages
	Sandbox   *tender.Sandbox // the running simulator; Handler is the simulator itself
	SimURL    string          // where the simulator listens (SandboxOptions.BaseURL)
	TenderURL string          // Tender's public URL: API, callbacks, pages
	Account   *tender.Account // the sandbox account, with its credentials
	Terminal  *tender.Terminal
	Engine    *engine.Engine
	// Store is the environment's store; a second engine on it is a
	// second instance of Tender (see Instance).
	Store tender.Store
	// Faults sits between the connector and the simulator.
	Faults *Faults

	h      *Harness
	log    *slog.Logger
	sealer *seal.Sealer
	apiKey string
	n      atomic.Int64
}

// schedule makes reconciliation run in seconds.
var schedule = engine.Schedule{
	Processing:      250 * time.Millisecond,
	RequiresAction:  time.Second,
	Unknown:         []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second},
	Lease:           30 * time.Second,
	Poll:            50 * time.Millisecond,
	Workers:         4,
	ProviderTimeout: 20 * time.Second,
}

func newEnv(t *testing.T, h *Harness, dataDir string) *Env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("TENDER_CONFORMANCE_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	env := &Env{h: h, Clock: &Clock{}, HTTP: &http.Client{Timeout: 30 * time.Second}}

	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tender.db"))
	if err != nil {
		t.Fatal(err)
	}
	tenderSrv := httptest.NewUnstartedServer(nil)
	simSrv := httptest.NewUnstartedServer(nil)
	env.TenderURL = "http://" + tenderSrv.Listener.Addr().String()
	env.SimURL = "http://" + simSrv.Listener.Addr().String()

	sb, err := h.Sandbox(tender.SandboxOptions{BaseURL: env.SimURL, PublicURL: env.TenderURL,
		Logger: log.With("sim", h.Name), Clock: env.Clock, DataDir: dataDir, TerminalDelay: TerminalDelay})
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	env.Sandbox = sb
	simSrv.Config.Handler = sb.Handler
	simSrv.Start()

	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	env.Store, env.sealer, env.log = store, sealer, log
	env.Faults = &Faults{next: http.DefaultTransport}
	conn := h.Connector(env.Clock, &http.Client{Timeout: 30 * time.Second, Transport: env.Faults})
	if conn.Name() != h.Name {
		t.Fatalf("the connector is named %q, the harness %q", conn.Name(), h.Name)
	}
	env.Engine, err = engine.New(engine.Options{Store: store, Connectors: []tender.Connector{conn}, Sealer: sealer,
		Clock: env.Clock, Logger: log, PublicURL: env.TenderURL, Schedule: schedule})
	if err != nil {
		t.Fatal(err)
	}
	tenderSrv.Config.Handler = api.NewServer(env.Engine, api.Options{Logger: log})
	tenderSrv.Start()

	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); env.Engine.Run(runCtx) }()
	// Stop in order: the reconciler, the simulator's background work
	// (which releases requests it holds), the listeners, the store.
	t.Cleanup(func() {
		stop()
		<-ran
		if sb.Close != nil {
			sb.Close()
		}
		simSrv.Close()
		tenderSrv.Close()
		store.Close()
	})

	acct := sb.Account
	if _, err := env.Engine.CreateAccount(ctx, &acct); err != nil {
		t.Fatalf("register the sandbox account: %v", err)
	}
	if env.Account, err = env.Engine.Store().GetAccount(ctx, acct.ID); err != nil {
		t.Fatal(err)
	}
	env.Account.Credentials = sb.Account.Credentials
	for _, term := range sb.Terminals {
		if _, err := env.Engine.CreateTerminal(ctx, &term); err != nil {
			t.Fatalf("register sandbox terminal %s: %v", term.ID, err)
		}
		if env.Terminal == nil {
			env.Terminal = &term
		}
	}
	if h.Payment.Terminal && env.Terminal == nil {
		t.Fatal("the harness makes terminal payments but the sandbox has no terminal")
	}
	if env.apiKey, _, err = env.Engine.CreateAPIKey(ctx, "conformance"); err != nil {
		t.Fatal(err)
	}
	return env
}

// response is an API answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r response) errorCode() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func (r response) id() string {
	s, _ := r.body["id"].(string)
	return s
}

// call makes an API request; headers are name, value pairs.
func (env *Env) call(t *testing.T, method, path string, body any, headers ...string) response {
	t.Helper()
	return env.callAt(t, env.TenderURL, method, path, body, headers...)
}

// callAt makes an API request to the instance at base.
func (env *Env) callAt(t *testing.T, base, method, path string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+env.apiKey)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: raw}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %s", method, path, res.StatusCode, raw)
	}
	return r
}

// want fails unless r has the status (and, for errors, the code).
func want(t *testing.T, what string, r response, status int, code ...string) {
	t.Helper()
	if r.status != status || len(code) > 0 && r.errorCode() != code[0] {
		t.Fatalf("%s: HTTP %d %s, want %d %v", what, r.status, r.raw, status, code)
	}
}

// paymentBody is a create request for amount.
func (env *Env) paymentBody(amount int64, capture tender.CaptureMode) map[string]any {
	pt := env.h.Payment
	b := map[string]any{"amount": amount, "currency": pt.Currency, "connector": env.h.Name,
		"reference": fmt.Sprintf("R-%d-%d", amount, env.n.Add(1)), "return_url": "https://shop.example/done"}
	if pt.Terminal {
		b["terminal"] = env.Terminal.ID
	}
	if capture != "" {
		b["capture"] = capture
	}
	if pt.Input != nil {
		b[pt.InputName] = pt.Input(amount, int(env.n.Add(1)))
	}
	return b
}

// create makes a payment through the API and returns it as stored.
func (env *Env) create(t *testing.T, amount int64, capture tender.CaptureMode) *tender.Payment {
	t.Helper()
	r := env.call(t, "POST", "/v1/payments", env.paymentBody(amount, capture), "Idempotency-Key", fmt.Sprintf("create-%d", env.n.Add(1)))
	want(t, "create payment", r, http.StatusCreated)
	return env.get(t, r.id())
}

func (env *Env) get(t *testing.T, id string) *tender.Payment {
	t.Helper()
	p, err := env.Engine.GetPayment(context.Background(), id)
	if err != nil {
		t.Fatalf("get payment %s: %v", id, err)
	}
	return p
}

// complete plays the shopper or cashier, if the provider needs one.
func (env *Env) complete(t *testing.T, p *tender.Payment) {
	t.Helper()
	if env.h.Complete != nil {
		env.h.Complete(t, env, p)
	}
}

// waitFor waits, boundedly, until ok(p) holds; onWait runs between looks.
func (env *Env) waitFor(t *testing.T, id, what string, limit time.Duration, ok func(p *tender.Payment) bool, onWait func(p *tender.Payment)) *tender.Payment {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		p, err := env.Engine.WaitPayment(context.Background(), id, 250*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("payment %s is still %s after %s; want %s", id, p.Status, limit, what)
		}
		if onWait != nil {
			onWait(p)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settled waits until the provider's answer is in.
func (env *Env) settled(t *testing.T, id string) *tender.Payment {
	t.Helper()
	return env.waitFor(t, id, "settled", 90*time.Second, func(p *tender.Payment) bool { return p.Status.Settled() }, nil)
}

// status waits for one status.
func (env *Env) status(t *testing.T, id string, s tender.Status) *tender.Payment {
	t.Helper()
	p := env.settled(t, id)
	if p.Status != s {
		t.Fatalf("payment %s ended %s (failure %+v), want %s", id, p.Status, p.Failure, s)
	}
	return p
}

// events returns the types of a payment's events, and their data.
func (env *Env) events(t *testing.T, id string) ([]string, []map[string]any) {
	t.Helper()
	evs, err := env.Engine.ListEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	var data []map[string]any
	for _, e := range evs {
		var d map[string]any
		json.Unmarshal(e.Data, &d)
		types = append(types, e.Type)
		data = append(data, d)
	}
	return types, data
}

// agree compares every payment of the environment with the simulator's
// ledger: nothing the provider did is unknown to Tender, no payment is
// authorized twice, and the amounts captured and refunded are the same.
func (env *Env) agree(t *testing.T) {
	t.Helper()
	ledger := env.h.Ledger(t, env)
	list, _, err := env.Engine.ListPayments(context.Background(), tender.PaymentFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, p := range list {
		known[p.ID] = true
		l := ledger[p.ID]
		if l.Authorized > 1 {
			t.Errorf("%s: the provider authorized it %d times (double charge)", p.ID, l.Authorized)
		}
		switch p.Status {
		case tender.StatusCaptured, tender.StatusPartiallyCaptured, tender.StatusRefunded, tender.StatusPartiallyRefunded:
			if l.Authorized != 1 || l.Captured != p.CapturedAmount || l.Refunded != p.RefundedAmount {
				t.Errorf("%s is %s at Tender (captured %d, refunded %d); the provider has %+v", p.ID, p.Status, p.CapturedAmount, p.RefundedAmount, l)
			}
		case tender.StatusAuthorized:
			if l.Authorized != 1 || l.Captured != 0 || l.Refunded != 0 {
				t.Errorf("%s is authorized at Tender; the provider has %+v", p.ID, l)
			}
		case tender.StatusFailed:
			if l != (Ledger{}) {
				t.Errorf("%s failed at Tender; the provider has %+v", p.ID, l)
			}
		case tender.StatusCanceled:
			// An authorization canceled (reversed) leaves no money taken;
			// a sale voided in its batch took and returned the same.
			if l.Captured != l.Refunded {
				t.Errorf("%s is canceled at Tender; the provider has %+v", p.ID, l)
			}
		}
	}
	for id, l := range ledger {
		if !known[id] && l != (Ledger{}) {
			t.Errorf("the provider has %+v for %s, which Tender does not know (lost)", l, id)
		}
	}
}

// Faults is an http.RoundTripper between a connector and its simulator
// that can lose the provider's answer after the request reached it, the
// way a timeout or a dropped connection does.
type Faults struct {
	next     http.RoundTripper
	skip     atomic.Int32 // requests that pass before dropNext counts
	dropNext atomic.Int32
	hang     chan struct{} // when set, a lost answer blocks until it is closed
}

// DropAnswers makes the next n requests reach the provider and their
// answers get lost.
func (f *Faults) DropAnswers(n int) { f.dropNext.Store(int32(n)) }

// DropAnswersAfter lets skip requests through, then makes the next n
// reach the provider and their answers get lost.
func (f *Faults) DropAnswersAfter(skip, n int) {
	f.skip.Store(int32(skip))
	f.dropNext.Store(int32(n))
}

// RoundTrip implements http.RoundTripper.
func (f *Faults) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.skip.Add(-1) >= 0 {
		return f.next.RoundTrip(r)
	}
	f.skip.Store(0)
	if f.dropNext.Add(-1) < 0 {
		f.dropNext.Store(0)
		return f.next.RoundTrip(r)
	}
	res, err := f.next.RoundTrip(r)
	if err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	if f.hang != nil {
		select {
		case <-f.hang:
		case <-r.Context().Done():
		}
	}
	return nil, errors.New("connectortest: the provider's answer was lost")
}

// Instance is a second instance of Tender on an environment's store.
type Instance struct {
	Engine *engine.Engine
	URL    string // its API
	faults *Faults
}

// Faults is the transport between this instance's connector and the
// simulator.
func (i *Instance) Faults() *Faults { return i.faults }

// Instance starts another engine (another instance of Tender) on the
// environment's store and simulator, with its own connector whose
// transport is faults (nil: a clean one) and its own API server, running
// its reconciler (when reconcile is set) until the test ends.
func (env *Env) Instance(t *testing.T, faults *Faults, sched engine.Schedule, reconcile bool) *Instance {
	t.Helper()
	if faults == nil {
		faults = &Faults{next: http.DefaultTransport}
	}
	if faults.next == nil {
		faults.next = http.DefaultTransport
	}
	conn := env.h.Connector(env.Clock, &http.Client{Timeout: 30 * time.Second, Transport: faults})
	e, err := engine.New(engine.Options{Store: env.Store, Connectors: []tender.Connector{conn}, Sealer: env.sealer,
		Clock: env.Clock, Logger: env.log, PublicURL: env.TenderURL, Schedule: sched})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.NewServer(e, api.Options{Logger: env.log}))
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		if reconcile {
			e.Run(ctx)
		}
	}()
	t.Cleanup(func() {
		srv.Close()
		if faults.hang != nil {
			select {
			case <-faults.hang:
			default:
				close(faults.hang)
			}
		}
		stop()
		<-ran
	})
	return &Instance{Engine: e, URL: srv.URL, faults: faults}
}
