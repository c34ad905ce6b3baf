package tender

import (
	"encoding/json"
	"time"
)

// CaptureMode says whether an authorization is captured at once or later
// by an explicit capture call.
type CaptureMode string

// Capture modes.
const (
	CaptureAutomatic CaptureMode = "automatic"
	CaptureManual    CaptureMode = "manual"
)

// Payment is Tender's durable record of one payment. Its Status changes only
// through the state machine (see Status.Transition), and every change is
// stored together with an Event.
type Payment struct {
	ID          string
	Merchant    string // the merchant it belongs to: its account's
	Amount      int64  // authorized (requested) amount in minor units
	Currency    string // ISO 4217
	Status      Status
	Connector   string // provider connector name, e.g. "computop"
	Account     string // connector account id
	Terminal    string // terminal id for terminal payments, else ""
	Reference   string // the merchant's own reference (order or receipt number)
	Description string
	ReturnURL   string // where a shopper goes after a hosted page
	CaptureMode CaptureMode
	Metadata    map[string]string
	// Locale is the shopper's language (BCP 47: en, nl, de, fr, el, with
	// a region allowed, "nl-NL"), "" when the merchant gave none; the
	// shopper pages and the provider's own texts use it before the
	// merchant's default.
	Locale string

	// Input is provider-specific input from the create request (for example
	// the Greek invoice for epay), kept as the caller sent it, validated by
	// the connector.
	Input json.RawMessage

	// Customer is the merchant's own reference of the shopper, for a
	// payment that saves a card or charges a saved one.
	Customer string
	// SetupFutureUsage is SetupOffSession when the shopper agrees to have
	// the card saved for later charges without them; "" otherwise.
	SetupFutureUsage string
	// PaymentMethod is the saved card this payment charges (with
	// OffSession), or the one it saved (with SetupFutureUsage).
	PaymentMethod string
	// PaymentMethodReference is the provider's reference of the saved card
	// an off-session payment charges, copied at creation so that the
	// payment stays recoverable whatever becomes of the method.
	PaymentMethodReference string
	// OffSession marks a merchant-initiated charge of a saved card: no
	// shopper present, no checkout.
	OffSession bool
	// Subscription is the provider-run schedule the payment starts, or is
	// a charge of.
	Subscription *Subscription
	// SavedMethod, when set on an update, is stored by UpdatePayment in the
	// same transaction as a new payment method (once per payment). It is
	// never read back.
	SavedMethod *PaymentMethod

	ProviderReference string      // the provider's id for the payment (PayID, transactionreference, ...)
	NextAction        *NextAction // what a shopper must do, while requires_action
	Failure           *Failure    // why it failed or was canceled
	Receipt           *Receipt    // what to print or show
	Details           map[string]string

	CapturedAmount int64
	RefundedAmount int64

	// State is the connector's own durable state for this payment (opaque to
	// everyone else), for example the reference sent to the provider.
	State json.RawMessage

	// NextCheckAt is when the engine should next ask the provider about the
	// payment; zero when no check is due. CheckCount counts checks so far.
	NextCheckAt time.Time
	CheckCount  int

	// OperationID is the idempotent id of the request that created the
	// payment, derived from its Idempotency-Key: a retry of that request
	// finds the payment by it (Store.PaymentByOperation).
	OperationID string

	// Discrepancy says how a verified provider answer contradicts Tender's
	// record, or what Tender could not resolve by itself, until a person
	// settles it; "" when there is none.
	Discrepancy string

	Version   int64 // optimistic concurrency: bumped by every store update
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NextAction tells the client what a shopper must do.
type NextAction struct {
	Type string `json:"type"`          // "redirect"
	URL  string `json:"url,omitempty"` // hosted page served by Tender, or the provider's page
	// Data carries what an app needs to drive the provider itself, such as a
	// Trust Payments request JWT ("jwt").
	Data map[string]string `json:"data,omitempty"`
}

// Failure says why a payment failed or was canceled, in words a merchant can
// show, with the provider's own code.
type Failure struct {
	Code         string `json:"code"`    // Tender's code: declined, canceled_by_customer, expired, provider_error, ...
	Message      string `json:"message"` // human-readable, safe to show
	ProviderCode string `json:"provider_code,omitempty"`
}

// Failure codes used across connectors.
const (
	FailDeclined           = "declined"
	FailCanceledByCustomer = "canceled_by_customer"
	FailCanceledAtTerminal = "canceled_at_terminal"
	FailCanceled           = "canceled"
	FailExpired            = "expired"
	FailAuthentication     = "authentication_failed"
	FailInvalid            = "invalid_request"
	FailProvider           = "provider_error"
	FailTerminalBusy       = "terminal_busy"
)

// Receipt is what the POS prints or a shop shows: plain lines, plus the
// provider's raw receipt when it sends its own markup.
type Receipt struct {
	Lines []string `json:"lines"`
	Raw   string   `json:"raw,omitempty"`
}

// Event is one entry of a payment's append-only log, written in the same
// transaction as the change it records.
type Event struct {
	ID        int64
	PaymentID string
	Merchant  string // the payment's merchant (set by the store)
	Type      string // e.g. "payment.created", "payment.captured"
	Data      json.RawMessage
	CreatedAt time.Time
}

// Account holds one provider's credentials and settings for a merchant.
type Account struct {
	ID          string
	Merchant    string
	Connector   string
	Environment string // "sandbox" or "live"
	Default     bool   // the connector's default account
	// Settings are non-secret (endpoints, merchant ids); returned by the API.
	Settings map[string]string
	// Credentials are secret (keys, passwords). They are sealed at rest
	// (see Sealed) and never returned by the API or logged.
	Credentials map[string]string `json:"-"`
	Sealed      []byte            `json:"-"` // Credentials, encrypted by the engine; what stores persist
	CreatedAt   time.Time
}

// Environments of an account.
const (
	EnvSandbox = "sandbox"
	EnvLive    = "live"
)

// Terminal is a card terminal a POS drives through a provider.
type Terminal struct {
	ID         string // chosen by the merchant; unique across merchants
	Merchant   string // the account's merchant
	Connector  string
	Account    string
	ProviderID string // the provider's id for the terminal: Sepay SID, ePay TID
	Label      string
	Settings   map[string]string
	// Credentials are per-terminal secrets (for example ePay's ApiKey),
	// sealed at rest like an account's.
	Credentials map[string]string `json:"-"`
	Sealed      []byte            `json:"-"`
	CreatedAt   time.Time
	// LastSeenAt is when the provider last answered about a payment on
	// the terminal (kept to within a few seconds); zero if never.
	LastSeenAt time.Time
}

// APIKey is a key to Tender's API. Only a hash of the secret is stored.
type APIKey struct {
	ID       string
	Name     string
	Hash     string // hex SHA-256 of the secret
	Prefix   string // first characters of the secret, to recognise it
	Scope    string // ScopePlatform, ScopeMerchant or ScopeTerminal ("" is platform)
	Merchant string // the merchant a merchant or terminal key acts for
	// Terminals are the terminal ids a terminal key may pay on.
	Terminals  []string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero if never used; updated at most once a minute
	RevokedAt  time.Time // zero while the key is valid
}
