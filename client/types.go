package client

import (
	"encoding/json"
	"fmt"
	"time"
)

// Status is a payment's status (see README, "The state model").
type Status string

// Statuses of a payment.
const (
	StatusPending           Status = "pending"
	StatusRequiresAction    Status = "requires_action"
	StatusProcessing        Status = "processing"
	StatusAuthorized        Status = "authorized"
	StatusCaptured          Status = "captured"
	StatusPartiallyCaptured Status = "partially_captured"
	StatusCanceled          Status = "canceled"
	StatusFailed            Status = "failed"
	StatusRefunded          Status = "refunded"
	StatusPartiallyRefunded Status = "partially_refunded"
	StatusUnknown           Status = "unknown"
)

// Settled reports whether the status no longer changes by itself: nobody
// (terminal, shopper, provider, reconciler) is still working on the
// payment. An authorized payment is settled: it waits for a capture.
func (s Status) Settled() bool {
	switch s {
	case StatusPending, StatusRequiresAction, StatusProcessing, StatusUnknown:
		return false
	}
	return true
}

// Payment is the API's payment object.
type Payment struct {
	ID                string      `json:"id"`
	Object            string      `json:"object"`
	Amount            int64       `json:"amount"`
	Currency          string      `json:"currency"`
	Status            Status      `json:"status"`
	Merchant          string      `json:"merchant"`
	Connector         string      `json:"connector"`
	Terminal          *string     `json:"terminal"`
	Account           string      `json:"account"`
	Reference         *string     `json:"reference"`
	Description       *string     `json:"description"`
	ReturnURL         *string     `json:"return_url"`
	Capture           string      `json:"capture"`
	ProviderReference *string     `json:"provider_reference"`
	NextAction        *NextAction `json:"next_action"`
	Receipt           *Receipt    `json:"receipt"`
	Failure           *Failure    `json:"failure"`
	CapturedAmount    int64       `json:"captured_amount"`
	RefundedAmount    int64       `json:"refunded_amount"`
	// Details are the provider's data: strings, and for epay the myDATA
	// block as an object under "mydata" (see MyDATA).
	Details       map[string]any    `json:"details"`
	Discrepancy   *string           `json:"discrepancy"`
	Metadata      map[string]string `json:"metadata"`
	Invoice       json.RawMessage   `json:"invoice,omitempty"`
	Computop      json.RawMessage   `json:"computop,omitempty"`
	TrustPayments json.RawMessage   `json:"trustpayments,omitempty"`
	// Locale is the shopper's language the payment was made with, or nil.
	Locale *string `json:"locale"`
	// Saved cards: set only on payments that save or charge one.
	Customer         string        `json:"customer,omitempty"`
	SetupFutureUsage string        `json:"setup_future_usage,omitempty"`
	PaymentMethod    string        `json:"payment_method,omitempty"`
	OffSession       bool          `json:"off_session,omitempty"`
	Subscription     *Subscription `json:"subscription,omitempty"`
	CreatedAt        time.Time     `json:"created_at"`
	UpdatedAt        time.Time     `json:"updated_at"`
}

// Detail returns the string detail key ("" when absent or not a string).
func (p *Payment) Detail(key string) string {
	s, _ := p.Details[key].(string)
	return s
}

// MyDATA is an epay payment's myDATA paymentMethodDetails block
// (details.mydata), to copy into the invoice.
type MyDATA struct {
	Type               int    `json:"type"`
	Amount             string `json:"amount"`
	TipAmount          string `json:"tip_amount"`
	TransactionID      string `json:"transaction_id,omitempty"`
	TID                string `json:"tid"`
	ProvidersSignature struct {
		SigningAuthor string `json:"signing_author"`
		Signature     string `json:"signature"`
	} `json:"providers_signature"`
	POSInput string `json:"pos_input"`
}

// MyDATA returns the payment's myDATA block, nil when it has none.
func (p *Payment) MyDATA() (*MyDATA, error) {
	v, ok := p.Details["mydata"]
	if !ok {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m MyDATA
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("client: details.mydata: %w", err)
	}
	return &m, nil
}

// NextAction is what a shopper must do while a payment requires action.
type NextAction struct {
	Type string            `json:"type"`
	URL  string            `json:"url,omitempty"`
	Data map[string]string `json:"data,omitempty"`
}

// Receipt is what the terminal or provider gave to print or show.
type Receipt struct {
	Lines []string `json:"lines"`
	Raw   string   `json:"raw,omitempty"`
}

// Failure says why a payment failed or was canceled.
type Failure struct {
	Code         string `json:"code"`
	Message      string `json:"message"`
	ProviderCode string `json:"provider_code,omitempty"`
}

// CreatePayment is the body of POST /v1/payments. Amount is in minor
// units. At most one of Invoice, Computop and TrustPayments is set: any
// value that encodes as the provider's JSON object.
type CreatePayment struct {
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Connector   string            `json:"connector,omitempty"`
	Account     string            `json:"account,omitempty"`
	Terminal    string            `json:"terminal,omitempty"`
	Reference   string            `json:"reference,omitempty"`
	Description string            `json:"description,omitempty"`
	ReturnURL   string            `json:"return_url,omitempty"`
	Capture     string            `json:"capture,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	// Locale is the shopper's language: en, nl, de, fr, el, with a region
	// allowed (nl-NL).
	Locale        string `json:"locale,omitempty"`
	Invoice       any    `json:"invoice,omitempty"`
	Computop      any    `json:"computop,omitempty"`
	TrustPayments any    `json:"trustpayments,omitempty"`
	// Customer with SetupFutureUsage "off_session" saves the card; Amount
	// 0 then only verifies it. PaymentMethod with OffSession charges a
	// saved card without the shopper.
	Customer         string        `json:"customer,omitempty"`
	SetupFutureUsage string        `json:"setup_future_usage,omitempty"`
	PaymentMethod    string        `json:"payment_method,omitempty"`
	OffSession       bool          `json:"off_session,omitempty"`
	Subscription     *Subscription `json:"subscription,omitempty"`
}

// Subscription is a schedule of charges the provider runs on a saved card.
// Parent, Number, Active and Paused are set by Tender on payments
// (PauseSubscription, ResumeSubscription change Paused).
type Subscription struct {
	Type        string `json:"type"` // "recurring" or "installment"
	Unit        string `json:"unit"` // "day" or "month"
	Frequency   int    `json:"frequency"`
	FinalNumber int    `json:"final_number"`
	BeginDate   string `json:"begin_date,omitempty"`
	Parent      string `json:"parent,omitempty"`
	Number      int    `json:"number,omitempty"`
	Active      bool   `json:"active,omitempty"`
	Paused      bool   `json:"paused,omitempty"`
}

// PaymentMethod is a card saved for one of the merchant's customers: the
// provider's reference and what it shows of the card, never the card.
type PaymentMethod struct {
	ID                string     `json:"id"`
	Object            string     `json:"object"`
	Merchant          string     `json:"merchant"`
	Customer          string     `json:"customer"`
	Type              string     `json:"type"`
	Card              SavedCard  `json:"card"`
	Connector         string     `json:"connector"`
	Account           string     `json:"account"`
	ProviderReference string     `json:"provider_reference"`
	Payment           string     `json:"payment"`
	DetachedAt        *time.Time `json:"detached_at"`
	CreatedAt         time.Time  `json:"created_at"`
}

// SavedCard is what the provider shows of a saved card.
type SavedCard struct {
	Brand     *string `json:"brand"`
	MaskedPAN *string `json:"masked_pan"`
	Expiry    *string `json:"expiry"`
}

// ListPaymentMethods filters GET /v1/payment_methods; zero fields are
// left out.
type ListPaymentMethods struct {
	Customer      string
	Limit         int
	StartingAfter string
	Detached      bool
}

// ListPayments filters GET /v1/payments; zero fields are left out.
type ListPayments struct {
	Limit         int
	StartingAfter string
	Status        Status
	Connector     string
	Terminal      string
	Discrepancy   bool
}

// List is one page of a list.
type List[T any] struct {
	Object  string `json:"object"`
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
}

// Event is one entry of a payment's event log.
type Event struct {
	ID        string          `json:"id"` // evt_..., as webhooks carry it
	Object    string          `json:"object"`
	Payment   string          `json:"payment"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

// Terminal is a card terminal.
type Terminal struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Merchant       string            `json:"merchant"`
	Connector      string            `json:"connector"`
	Account        string            `json:"account"`
	ProviderID     string            `json:"provider_id"`
	Label          *string           `json:"label"`
	Settings       map[string]string `json:"settings"`
	CredentialsSet []string          `json:"credentials_set"`
	CreatedAt      time.Time         `json:"created_at"`
	// State is "idle", "busy", "offline" or "unknown"; Payment the open
	// payment (busy, unknown); LastSeenAt when the provider last answered
	// about a payment on it.
	State       string     `json:"state"`
	Payment     *string    `json:"payment"`
	StateReason *string    `json:"state_reason"`
	LastSeenAt  *time.Time `json:"last_seen_at"`
}

// DailyReport is one day's end-of-day totals (GET /v1/reports/daily).
type DailyReport struct {
	Object   string      `json:"object"`
	Date     string      `json:"date"`
	TimeZone string      `json:"time_zone"`
	From     time.Time   `json:"from"`
	To       time.Time   `json:"to"`
	Rows     []ReportRow `json:"rows"`
}

// ReportRow is what moved on one terminal (nil: online) of one connector
// in one currency; amounts in minor units.
type ReportRow struct {
	Terminal    *string `json:"terminal"`
	Connector   string  `json:"connector"`
	Currency    string  `json:"currency"`
	Count       int     `json:"count"`
	Gross       int64   `json:"gross"`
	RefundCount int     `json:"refund_count"`
	Refunds     int64   `json:"refunds"`
	Net         int64   `json:"net"`
}

// Account is a provider account.
type Account struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Merchant       string            `json:"merchant"`
	Connector      string            `json:"connector"`
	Environment    string            `json:"environment"`
	Default        bool              `json:"default"`
	Settings       map[string]string `json:"settings"`
	CredentialsSet []string          `json:"credentials_set"`
	CreatedAt      time.Time         `json:"created_at"`
}

// WebhookEndpoint is a merchant URL that receives events. Secret is set
// only in the answer to its creation.
type WebhookEndpoint struct {
	ID          string    `json:"id"`
	Object      string    `json:"object"`
	Merchant    string    `json:"merchant"`
	URL         string    `json:"url"`
	Description *string   `json:"description"`
	Events      []string  `json:"events"`
	Secret      string    `json:"secret,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// CreateWebhookEndpoint is the body of POST /v1/webhook_endpoints; nil
// Events subscribes to all of them.
type CreateWebhookEndpoint struct {
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	Events      []string `json:"events,omitempty"`
}

// Error is an error answer of the API (its error object), or an answer
// that was not one.
type Error struct {
	StatusCode   int    `json:"-"`
	Type         string `json:"type"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	Param        string `json:"param,omitempty"`
	ProviderCode string `json:"provider_code,omitempty"`
	Payment      string `json:"payment,omitempty"`
	RequestID    string `json:"request_id,omitempty"`
}

func (e *Error) Error() string {
	s := fmt.Sprintf("tender: %d %s: %s", e.StatusCode, e.Code, e.Message)
	if e.Param != "" {
		s += " (" + e.Param + ")"
	}
	return s
}

// Error codes of the API.
const (
	CodeInvalid      = "invalid"
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"
	CodeIdempotency  = "idempotency_error"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"    // 403: the API key's scope never allows the operation
	CodeRateLimited  = "rate_limited" // 429: too many long-polls open on the key; retry later
	CodeDeclined     = "declined"
	CodeTerminalBusy = "terminal_busy"
	CodeNotSupported = "not_supported"
	CodeProvider     = "provider"
	CodeUnavailable  = "unavailable"
	CodeInternal     = "internal"
)

// WebhookDelivery is one event's delivery to one endpoint.
type WebhookDelivery struct {
	ID             int64      `json:"id"`
	Object         string     `json:"object"`
	Endpoint       string     `json:"endpoint"`
	Event          string     `json:"event"`
	Type           string     `json:"type"`
	Payment        string     `json:"payment"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
	LastStatusCode *int       `json:"last_status_code"`
	LastError      *string    `json:"last_error"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

// CreateAccount is the body of POST /v1/accounts.
type CreateAccount struct {
	ID          string            `json:"id,omitempty"`
	Connector   string            `json:"connector"`
	Environment string            `json:"environment,omitempty"`
	Default     bool              `json:"default,omitempty"`
	Settings    map[string]string `json:"settings,omitempty"`
	Credentials map[string]string `json:"credentials,omitempty"`
}

// UpdateAccount is the body of POST /v1/accounts/{id}: settings and
// credentials merge key by key ("" removes a key).
type UpdateAccount struct {
	Default     *bool             `json:"default,omitempty"`
	Settings    map[string]string `json:"settings,omitempty"`
	Credentials map[string]string `json:"credentials,omitempty"`
}

// CreateTerminal is the body of POST /v1/terminals.
type CreateTerminal struct {
	ID          string            `json:"id"`
	Connector   string            `json:"connector,omitempty"`
	Account     string            `json:"account,omitempty"`
	ProviderID  string            `json:"provider_id"`
	Label       string            `json:"label,omitempty"`
	Settings    map[string]string `json:"settings,omitempty"`
	Credentials map[string]string `json:"credentials,omitempty"`
}

// UpdateTerminal is the body of POST /v1/terminals/{id}.
type UpdateTerminal struct {
	Label       *string           `json:"label,omitempty"`
	Settings    map[string]string `json:"settings,omitempty"`
	Credentials map[string]string `json:"credentials,omitempty"`
}
