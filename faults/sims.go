package faults

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/computop"
	computopsim "github.com/tenderpay/tender/computop/sim"
	epaysim "github.com/tenderpay/tender/epay/sim"
	"github.com/tenderpay/tender/sepay"
	sepaysim "github.com/tenderpay/tender/sepay/sim"
	tp "github.com/tenderpay/tender/trustpayments"
	tpsim "github.com/tenderpay/tender/trustpayments/sim"
)

// Ledger is what a simulator believes about one payment (as in
// connectortest).
type Ledger struct {
	// Authorized counts approved sales or authorizations; more than one
	// is a double charge.
	Authorized int
	// Captured is the amount taken, net of reversals; Refunded the amount
	// returned.
	Captured, Refunded int64
}

// Sim is one provider's simulator as the harness holds it: served on its
// own listener, with a fault proxy in front that Tender's account points
// at. It lives in the harness process, so its ledger survives every kill
// of Tender.
type Sim struct {
	Name    string
	Sandbox *tender.Sandbox
	Direct  string // the simulator itself (for shoppers, who are not behind the proxy)
	Proxy   *Proxy // what Tender talks to
	// Terminals are the terminal ids registered for load (terminal providers).
	Terminals []tender.Terminal
	srv       *http.Server
	calls     *calls
	ledger    func() map[string]Ledger
}

// calls counts requests to a simulator whose body holds a marker.
type calls struct {
	h      http.Handler
	mu     sync.Mutex
	marker string
	n      int
}

func (c *calls) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	m := c.marker
	c.mu.Unlock()
	if m != "" && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(b))
		if err == nil && bytes.Contains(b, []byte(m)) {
			c.mu.Lock()
			c.n++
			c.mu.Unlock()
		}
	}
	c.h.ServeHTTP(w, r)
}

// Count starts counting the requests with marker in their body, from
// zero; Counted returns how many there were.
func (s *Sim) Count(marker string) {
	s.calls.mu.Lock()
	s.calls.marker, s.calls.n = marker, 0
	s.calls.mu.Unlock()
}

// Counted is how many requests carried the marker since Count.
func (s *Sim) Counted() int {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	return s.calls.n
}

// Ledger returns the provider's view by Tender payment id.
func (s *Sim) Ledger() map[string]Ledger { return s.ledger() }

// Close stops the proxy, the listener and the simulator.
func (s *Sim) Close() {
	s.Proxy.Close()
	s.srv.Close()
	if s.Sandbox.Close != nil {
		s.Sandbox.Close()
	}
}

// simSpec builds one provider's sandbox; extra adds terminals for load.
type simSpec struct {
	name    string
	sandbox func(tender.SandboxOptions) (*tender.Sandbox, error)
	extra   func(sb *tender.Sandbox, n int) ([]tender.Terminal, error)
	ledger  func(sb *tender.Sandbox) map[string]Ledger
}

var simSpecs = []simSpec{
	{sepay.Name, sepaysim.Sandbox, sepayTerminals, sepayLedger},
	{"epay", epaysim.Sandbox, nil, epayLedger},
	{tp.Name, tpsim.Sandbox, nil, tpLedger},
	{computop.Name, computopsim.Sandbox, nil, computopLedger},
}

// StartSims starts the four simulators, each behind a fault proxy with
// faults off. publicURL is where the simulators' callbacks reach Tender.
func StartSims(dataDir, publicURL string, sepayTerminals int, log *slog.Logger, seed uint64) ([]*Sim, error) {
	var out []*Sim
	fail := func(err error) ([]*Sim, error) {
		for _, s := range out {
			s.Close()
		}
		return nil, err
	}
	for i, sp := range simSpecs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		px, err := NewProxy(ln.Addr().String(), Config{}, seed+uint64(i))
		if err != nil {
			ln.Close()
			return fail(err)
		}
		sb, err := sp.sandbox(tender.SandboxOptions{BaseURL: px.URL(), PublicURL: publicURL, Logger: log.With("sim", sp.name),
			Clock: tender.SystemClock{}, DataDir: dataDir + "/" + sp.name})
		if err != nil {
			ln.Close()
			px.Close()
			return fail(fmt.Errorf("%s simulator: %w", sp.name, err))
		}
		c := &calls{h: sb.Handler}
		s := &Sim{Name: sp.name, Sandbox: sb, Direct: "http://" + ln.Addr().String(), Proxy: px, calls: c,
			srv: &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second}, Terminals: sb.Terminals}
		s.ledger = func() map[string]Ledger { return sp.ledger(sb) }
		if sp.extra != nil {
			more, err := sp.extra(sb, sepayTerminals)
			if err != nil {
				return fail(err)
			}
			s.Terminals = append(s.Terminals, more...)
		}
		go s.srv.Serve(ln)
		out = append(out, s)
	}
	return out, nil
}

// sepayTerminals adds terminals to the Sepay sandbox login so that more
// cashiers can pay at once (the sandbox has two).
func sepayTerminals(sb *tender.Sandbox, n int) ([]tender.Terminal, error) {
	s := sb.Handler.(*sepaysim.Sim)
	var out []tender.Terminal
	for i := len(sb.Terminals); i < n; i++ {
		sid := fmt.Sprintf("1100%04d", i)
		if err := s.AddTerminal(sepaysim.SandboxLogin, sid, "127.0.0.1", 5000+i); err != nil {
			return nil, err
		}
		out = append(out, tender.Terminal{ID: fmt.Sprintf("sepay-term-%d", i+1), Connector: sepay.Name,
			Account: sb.Account.ID, ProviderID: sid, Label: "fault harness terminal"})
	}
	return out, nil
}

// The ledgers, read as the providers' conformance tests read them.

func sepayLedger(sb *tender.Sandbox) map[string]Ledger {
	out := map[string]Ledger{}
	for _, e := range sb.Handler.(*sepaysim.Sim).Ledger() {
		l := out[e.TransactionRef]
		if e.Charged {
			l.Authorized++
			l.Captured += e.Amount
		}
		out[e.TransactionRef] = l
	}
	return out
}

func epayLedger(sb *tender.Sandbox) map[string]Ledger {
	out := map[string]Ledger{}
	for ref, m := range sb.Handler.(*epaysim.Sim).Money() {
		out[ref] = Ledger{Authorized: m.Authorized, Captured: m.Captured, Refunded: m.Refunded}
	}
	return out
}

func tpLedger(sb *tender.Sandbox) map[string]Ledger {
	out := map[string]Ledger{}
	for ref, m := range sb.Handler.(*tpsim.Sim).Money() {
		out[ref] = Ledger{Authorized: m.Authorized, Captured: m.Captured, Refunded: m.Refunded}
	}
	return out
}

func computopLedger(sb *tender.Sandbox) map[string]Ledger {
	out := map[string]Ledger{}
	for _, e := range sb.Handler.(*computopsim.Sim).Ledger() {
		l := out[e.TransID]
		if e.Code == computop.CodeOK {
			l.Authorized++
			l.Captured += e.AmountCap
		}
		out[e.TransID] = l
	}
	return out
}

// shop plays the shopper of an online payment just created, against the
// simulator directly (the shopper's browser is not behind Tender's proxy).
// approve false declines (Computop) or is ignored (Trust Payments decides
// by amount and card).
func (s *Sim) shop(ctx context.Context, p *apiPayment, front string, post func(ctx context.Context, target string, form url.Values) error) error {
	if p.NextAction == nil {
		return fmt.Errorf("payment %s (%s) has no next_action", p.ID, p.Status)
	}
	switch s.Name {
	case computop.Name:
		page := strings.Replace(p.NextAction.URL, s.Proxy.URL(), s.Direct, 1)
		browser := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if !strings.HasPrefix(r.URL.String(), s.Direct) && !strings.HasPrefix(r.URL.String(), front) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
		return computopsim.Shop(ctx, browser, page, computopsim.ActionApprove)
	case tp.Name:
		jwt := p.NextAction.Data["jwt"]
		if jwt == "" {
			return fmt.Errorf("payment %s has no request JWT", p.ID)
		}
		form, err := tpsim.Checkout(ctx, &http.Client{Timeout: 30 * time.Second}, s.Direct, jwt, p.ID, tpsim.CardFrictionless)
		if err != nil {
			return err
		}
		return post(ctx, front+"/callbacks/trustpayments/"+s.Sandbox.Account.ID+"/return", form)
	}
	return nil
}
