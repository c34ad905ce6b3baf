package tender

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// Connector speaks one provider's protocol. Each provider package
// implements it; the engine drives it and owns every state change: a
// connector never writes to the store, it reports what the provider said as
// an Update.
//
// Error contract for every operation:
//   - an *Error with code EUnavailable (or any error that is not an *Error)
//     means the outcome is unknown: the request may have reached the provider.
//     After Start the payment goes to StatusUnknown and is reconciled with Status;
//     the State, Details and ProviderReference of the Update that Start returns
//     with such an error are still stored (what was prepared before the call).
//   - an *Error with another code (EInvalid, EProvider, ETerminalBusy,
//     EDeclined, ENotSupported, EConflict) means the provider certainly did
//     nothing. After Start the payment becomes failed.
type Connector interface {
	// Name is the connector's name in the API ("computop", "sepay", ...).
	Name() string

	// ValidateAccount checks an account's settings and credentials before it
	// is stored, naming the field at fault ("settings.merchant_id").
	ValidateAccount(a *Account) error
	// ValidateTerminal checks a terminal (its ProviderID format, settings)
	// against its account before it is stored.
	ValidateTerminal(t *Terminal, a *Account) error
	// ValidatePayment checks a new payment (currency, amount limits,
	// provider input in p.Input) before it is stored; nothing is sent.
	ValidatePayment(p *Payment, a *Account, t *Terminal) error

	// Start sends a new payment to the provider: a terminal payment
	// (op.Terminal set) or an online one. Typical results: processing
	// (terminal), requires_action with NextAction (online).
	Start(ctx context.Context, op *Op) (Update, error)
	// Status asks the provider what happened to the payment. The engine
	// calls it for payments that are processing, requires_action or
	// unknown, on a schedule, and to confirm callbacks. An Update with no
	// Status means "no news yet".
	Status(ctx context.Context, op *Op) (Update, error)
	// Cancel cancels a payment that has not been captured: a queued terminal
	// transaction, an open redirect, or an authorization (reversal); for a
	// partially captured payment, it releases the uncaptured remainder. The
	// engine confirms a cancel with Status before it believes a final state.
	Cancel(ctx context.Context, op *Op) (Update, error)
	// Capture captures op.Amount of an authorized payment. The engine keeps
	// the totals; the connector reports success or failure, and with the
	// Update's Status whether the rest of the authorization stays open:
	// StatusCaptured closes it (a provider that settles an authorization
	// once releases the remainder), anything else leaves the remainder
	// capturable or cancelable.
	Capture(ctx context.Context, op *Op) (Update, error)
	// Refund returns op.Amount of a captured payment.
	Refund(ctx context.Context, op *Op) (Update, error)

	// Callback authenticates an inbound request from the provider (or a
	// shopper's browser returning from it) that arrived at
	// /callbacks/<connector>/<account>/<cb.Path>. It must verify the
	// provider's MAC or signature and check it against the stored payment
	// (amount, currency, reference) before returning an Update. A request
	// that fails any check returns an error and changes nothing.
	Callback(ctx context.Context, cb *Callback) (*CallbackResult, error)
}

// Op is one operation on one payment, handed to a connector.
type Op struct {
	Payment  *Payment  // the stored payment (read-only for the connector)
	Account  *Account  // with Credentials unsealed
	Terminal *Terminal // with Credentials unsealed; nil for online payments
	// Amount is the amount to capture or refund, in minor units of
	// Payment.Currency. Zero for other operations.
	Amount int64
	// ID is stable across retries of the same API request (derived from its
	// Idempotency-Key) and unique otherwise; use it as the provider's request
	// id (Computop ReqId) so a retried request never acts twice.
	ID string
	// CallbackURL is where this account's provider callbacks arrive:
	// <public base>/callbacks/<connector>/<account>. Append a path.
	CallbackURL string
	// PageURL is Tender's hosted page for this payment
	// (<public base>/pay/<payment id>), which shows the result to a shopper
	// and forwards to the merchant's return URL, or serves a checkout (see
	// CheckoutPager).
	PageURL string
	// Locale is the language for the provider's own texts shown to the
	// shopper (BCP 47, "nl-NL"): the payment's locale, else its merchant's
	// default; "" when neither is known. Set for Start.
	Locale string
	// CancelRequested says the merchant has asked to cancel the payment. A
	// Status call must then never send the payment to the provider (again):
	// a payment the provider does not know is canceled, not re-sent.
	CancelRequested bool
}

// Update is what a connector learned from the provider. Zero fields leave the
// payment as it is.
type Update struct {
	Status            Status // new status; "" when unchanged (no news)
	ProviderReference string
	NextAction        *NextAction
	Failure           *Failure
	Receipt           *Receipt
	Details           map[string]string // merged into Payment.Details
	State             json.RawMessage   // replaces Payment.State when not nil
	// CheckIn asks the engine to call Status again after this long (for a
	// terminal being worked on, or an answer that is still open). Zero lets
	// the engine choose by its schedule.
	CheckIn time.Duration
	// Note is a short text for the event log (never secrets).
	Note string
	// Captured, with Status captured, is the amount the provider reports it
	// took, when it reports one (a terminal that added a tip). Zero means
	// the payment's amount. An amount other than the payment's is stored as
	// the provider reports it and raised as a discrepancy.
	Captured int64
	// Retry, with Status failed, says the failure ends only the shopper's
	// attempt (a decline, a 3-D Secure failure, a field the gateway
	// refused): while the payment requires action the engine keeps it
	// open for another attempt and records a payment.attempt_failed event.
	Retry bool
	// Discrepancy, when set, says how the provider's verified answer
	// contradicts Tender's record (an approval of another amount, a tip
	// the payment did not ask for). The engine stores the update as the
	// provider reports it and raises a payment.discrepancy event, a
	// webhook and a metric, so that a person looks at it.
	Discrepancy string
	// SavedCard, on a payment with SetupFutureUsage, is the card the
	// provider stored for later charges; the engine saves it as a payment
	// method of the payment's customer once the payment succeeded.
	SavedCard *SavedCard
	// FollowUp asks the engine to call Status about the payment once more
	// this long after the update, even if the payment is settled by then:
	// for a provider whose records may hold a second charge of the
	// payment that this answer could not know of (a checkout attempt
	// approved earlier whose answer never reached Tender), which only
	// its Status finds and undoes. The engine records the ask with the
	// update (an event in the same transaction), so a restart keeps it;
	// the answer is applied as any check's, and a failed call is asked
	// again on the schedule for payments in doubt. Status must then
	// answer for a settled payment (normally with what Tender already
	// has). It is asked only once no capture, refund or cancel of the
	// payment is in doubt. A follow-up's answer may ask for another.
	// Zero asks nothing.
	FollowUp time.Duration
}

// OpKind names an operation on an existing payment.
type OpKind string

// Operation kinds.
const (
	OpCapture OpKind = "capture"
	OpRefund  OpKind = "refund"
	OpCancel  OpKind = "cancel"
)

// OpOutcome is what a provider says of an operation whose answer was lost.
type OpOutcome string

// Operation outcomes.
const (
	OpSucceeded OpOutcome = "succeeded" // it took effect
	OpFailed    OpOutcome = "failed"    // it certainly did not, and will not, take effect
	OpPending   OpOutcome = "pending"   // the provider cannot say yet: ask again later
)

// OperationChecker is implemented by connectors that can ask the provider
// whether a capture or refund whose answer was lost took effect (Computop's
// inquiry, Trust Payments' TRANSACTIONQUERY). The engine calls it, with the
// operation's own op.ID and op.Amount, for every such operation in doubt
// until it is OpSucceeded or OpFailed; it never sends the operation again
// unless the caller retries it with the same Idempotency-Key. Cancels in
// doubt are resolved with Status. An error leaves the operation in doubt.
type OperationChecker interface {
	CheckOperation(ctx context.Context, kind OpKind, op *Op) (OpOutcome, Update, error)
}

// Callback is an inbound request for a connector.
type Callback struct {
	Account *Account
	Path    string // the rest of the path after /callbacks/<connector>/<account>/
	Request *http.Request
	Body    []byte // the request body, already read (size-limited)
	// Find looks a payment up by Tender id, or by this connector's provider
	// reference. It returns an *Error with ENotFound when there is none.
	Find func(ctx context.Context, ref string) (*Payment, error)
}

// CallbackResult says what a verified callback means.
type CallbackResult struct {
	PaymentID string  // the payment it is about
	Update    *Update // the verified change, nil if nothing changes
	// Confirm asks the engine to believe nothing in Update until the
	// provider confirms it: the engine calls Status and applies that instead.
	Confirm bool
	// Landing marks a shopper's browser coming back: the engine applies the
	// update and then sends the browser to Tender's page for the payment,
	// which shows the result and forwards to the merchant's return URL.
	Landing bool
	// The reply to the provider when not Landing. StatusCode 0 means 200
	// with an empty body.
	StatusCode  int
	ContentType string
	Body        []byte
}

// CheckoutPager is implemented by connectors whose shopper pays on a page
// that Tender serves (Trust Payments' hosted checkout). The engine serves it
// at Op.PageURL while the payment requires action.
type CheckoutPager interface {
	CheckoutPage(ctx context.Context, op *Op) (contentType string, body []byte, err error)
}

// CheckoutScripter is implemented by a CheckoutPager whose page runs
// scripts. CheckoutScripts returns the Content-Security-Policy sources its
// page for the account needs besides Tender's own origin: the origin of the
// provider's library ("https://host") and the hashes of its inline scripts
// ("'sha256-…'"). Tender's pages allow no other script.
type CheckoutScripter interface {
	CheckoutScripts(a *Account) ([]string, error)
}

// Clock tells the time; tests inject a fake one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sandbox is what `tender serve` needs to run a provider on its simulator:
// the simulator's handler, mounted at SandboxOptions.BaseURL, and the
// account and terminals that point at it.
type Sandbox struct {
	Handler   http.Handler
	Account   Account
	Terminals []Terminal
	Close     func() // stops the simulator's background work; may be nil
}

// SandboxOptions are handed to each provider's sim.Sandbox constructor.
type SandboxOptions struct {
	// BaseURL is where the simulator's handler is reachable, e.g.
	// http://127.0.0.1:8081/sim/computop (no trailing slash). The handler
	// sees request paths with that prefix stripped.
	BaseURL string
	// PublicURL is Tender's own public base URL (for callbacks).
	PublicURL string
	Logger    *slog.Logger
	Clock     Clock
	// DataDir is where a simulator may keep keys it generates, so that a
	// restart keeps the sandbox account valid. May be "" (keep in memory).
	DataDir string
	// Terminals is how many terminals a terminal provider's simulator
	// registers (and the sandbox lists); 0 means its default (two). Load
	// tests and fleets use more (tender serve --sandbox-terminals).
	Terminals int
	// TerminalDelay is how long a simulated terminal takes from receiving a
	// payment to its outcome (the customer presenting a card, then the
	// host's answer); 0 means the simulator's default, about 5 s as at a
	// real till. Tests shorten it so that a provider's suite runs in
	// seconds (tender serve --sandbox-delay).
	TerminalDelay time.Duration
}
