// Package connectortest is the conformance suite of tender.Connector: every
// provider package runs Run from its own tests with a Harness that plugs in
// its connector and its simulator. The suite drives the real engine on a
// real SQLite store, with the real API server reachable over HTTP for the
// provider's callbacks and the shopper's pages, and compares what Tender
// recorded with what the simulator's ledger says happened: no payment
// charged twice, none lost. A new provider is done when it passes.
package connectortest

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// Harness is what a provider supplies to the suite.
type Harness struct {
	// Name is the connector's name ("sepay").
	Name string
	// Connector builds the connector under test. It must use clock and
	// client, and may shorten its own timeouts so that lost answers are
	// noticed in seconds.
	Connector func(clock tender.Clock, client *http.Client) tender.Connector
	// Sandbox starts the provider's simulator (its sim.Sandbox). The suite
	// serves the handler over HTTP at opts.BaseURL and registers the
	// account and terminals it returns.
	Sandbox func(opts tender.SandboxOptions) (*tender.Sandbox, error)
	// Payment says how the provider's payments are made.
	Payment Payment
	// Complete plays the shopper (or the cashier) for a payment just
	// created, until the provider has decided it by the sandbox's amount
	// rules. It must do what the provider's own client does when a request
	// fails (a browser reloads, st.js gives up and posts no JWT). Nil for
	// terminals that act by themselves.
	Complete func(t *testing.T, env *Env, p *tender.Payment)
	// BadCallback returns a request to Tender's callback endpoint that
	// claims p was paid but does not carry the provider's valid signature
	// or MAC. Nil when the provider sends no callbacks; then NoCallbacks
	// says why (the suite checks that callbacks are refused).
	BadCallback func(t *testing.T, env *Env, p *tender.Payment) *http.Request
	NoCallbacks string
	// Ledger reads the simulator (env.Sandbox.Handler) and returns what the
	// provider believes about each payment, by Tender payment id.
	Ledger func(t *testing.T, env *Env) map[string]Ledger
	// Supports says which operations the provider has; the suite asserts
	// that the others answer not_supported.
	Supports Supports
	// CanceledByCustomer is what a payment becomes when the shopper or
	// cardholder cancels (sandbox rule 54).
	CanceledByCustomer Outcome
	// LostResultStaysOpen: a payment whose result never reached Tender
	// (rule 55) keeps waiting for its shopper until a status check finds
	// the result, instead of first becoming unknown.
	LostResultStaysOpen bool
	// InDoubtFor is how long after a request lost on its way (rule 61) the
	// provider's records are final, so that Tender may conclude that
	// nothing happened. The suite moves the clock on by this much while
	// such a payment is unknown. Zero: the provider answers at once.
	InDoubtFor time.Duration
}

// Payment describes a provider's payments.
type Payment struct {
	Currency string
	// Terminal: payments are made on the sandbox's first terminal.
	Terminal bool
	// InputName is the API's name of the provider object ("invoice"), and
	// Input returns it for a payment of amount (n makes it unique within
	// a test). Both empty when the provider takes none.
	InputName string
	Input     func(amount int64, n int) json.RawMessage
}

// Supports lists a provider's optional operations.
type Supports struct {
	// CancelOpen: a payment the shopper or terminal has not acted on yet
	// can be canceled.
	CancelOpen bool
	// ManualCapture: capture "manual" stops at authorized; PartialCapture:
	// less than the whole authorization can be captured; MultipleCaptures:
	// more than once.
	ManualCapture, PartialCapture, MultipleCaptures bool
	// Refund: a captured payment can be refunded; PartialRefund: in part.
	Refund, PartialRefund bool
	// SavedCards: a checkout with setup_future_usage saves the card, and
	// the saved card is charged off-session; ChargeRequests is how many
	// requests to the provider such a charge makes before the one that
	// moves money (a question first, for instance), so that the suite loses
	// the answer of the right one.
	SavedCards     bool
	ChargeRequests int
	// TryAgain: a declined or failed attempt on an online payment leaves
	// it requires_action for another attempt (tender.Update.Retry), with
	// a payment.attempt_failed event; it ends when the shopper gives up.
	TryAgain bool
}

// Outcome is a final status with its failure code.
type Outcome struct {
	Status      tender.Status
	FailureCode string
}

// Ledger is what the simulator believes about one payment.
type Ledger struct {
	// Authorized counts approved sales or authorizations; more than one
	// is a double charge.
	Authorized int
	// Captured is the amount taken (captured, settled or due to settle),
	// net of reversals; Refunded the amount returned.
	Captured, Refunded int64
}

// Clock is the suite's clock: real time, plus however far a test moved it
// on. The engine, the connector and the simulator all share one.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Run runs the suite against h. Every scenario runs in parallel in its own
// environment (store, simulator, engine, API server).
func Run(t *testing.T, h Harness) {
	if h.Name == "" || h.Connector == nil || h.Sandbox == nil || h.Ledger == nil || h.Payment.Currency == "" {
		t.Fatal("connectortest: the harness needs Name, Connector, Sandbox, Ledger and Payment.Currency")
	}
	if (h.BadCallback == nil) == (h.NoCallbacks == "") {
		t.Fatal("connectortest: give BadCallback, or NoCallbacks saying why the provider sends none")
	}
	if h.CanceledByCustomer.Status == "" {
		t.Fatal("connectortest: say what a payment canceled by the customer becomes (CanceledByCustomer)")
	}
	s := h.Supports
	if !s.ManualCapture && (s.PartialCapture || s.MultipleCaptures) || !s.Refund && s.PartialRefund {
		t.Fatal("connectortest: inconsistent Supports")
	}
	// Simulators keep generated keys in DataDir; make them once.
	dataDir := t.TempDir()
	sb, err := h.Sandbox(tender.SandboxOptions{BaseURL: "http://127.0.0.1:1", PublicURL: "http://127.0.0.1:1", Clock: tender.SystemClock{}, DataDir: dataDir})
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	if sb.Close != nil {
		sb.Close()
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t, newEnv(t, &h, dataDir))
		})
	}
}

var scenarios = []struct {
	name string
	run  func(t *testing.T, env *Env)
}{
	{"Approved", testApproved},
	{"Declined", testDeclined},
	{"CanceledByCustomer", testCanceledByCustomer},
	{"CancelOpen", testCancelOpen},
	{"TimeoutReconciled", testTimeoutReconciled},
	{"TransportError", testTransportError},
	{"DuplicateCreate", testDuplicateCreate},
	{"BadCallback", testBadCallback},
	{"ManualCapture", testManualCapture},
	{"CancelAuthorized", testCancelAuthorized},
	{"Refund", testRefund},
	{"CrashDuringStart", testCrashDuringStart},
	{"SecondInstance", testSecondInstance},
	{"CaptureAnswerLost", testCaptureAnswerLost},
	{"OffSessionAnswerLost", testOffSessionAnswerLost},
}
