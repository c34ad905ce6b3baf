package tender

import (
	"context"
	"time"
)

// Store is everything Tender persists. SQLite and PostgreSQL implement it;
// one conformance suite (storetest) runs against both. Every method that
// changes a payment writes the payment and its events in one transaction.
//
// Every event appended (by CreatePayment or UpdatePayment) also queues a
// WebhookDelivery, in the same transaction, for each webhook endpoint of
// the payment's merchant that is not deleted and lists the event's type: a delivery is never lost by a
// crash after the commit, nor queued for a change that rolled back.
//
// Every object belongs to one merchant (a zero Merchant field is stored as
// DefaultMerchant). Lookups by id return the object whatever its merchant:
// the engine compares the merchant and answers "not found" for another's.
// Lists take the merchant in their filter.
//
// Not-found lookups return an *Error with code ENotFound; a lost optimistic
// update returns ErrVersionConflict (code EConflict).
type Store interface {
	// CreatePayment inserts a new payment (Version 1) and its first events.
	// A payment on a terminal is refused with ETerminalBusy, in the same
	// transaction, while another payment on that terminal is open (pending,
	// processing or unknown, without a discrepancy): one open payment per
	// terminal across every instance on the store.
	CreatePayment(ctx context.Context, p *Payment, events ...Event) error
	// GetPayment returns the payment with id.
	GetPayment(ctx context.Context, id string) (*Payment, error)
	// FindPayment returns the payment of connector whose ProviderReference is ref.
	FindPayment(ctx context.Context, connector, ref string) (*Payment, error)
	// PaymentByOperation returns the oldest payment whose OperationID is
	// opID (the request that created it), or ENotFound.
	PaymentByOperation(ctx context.Context, opID string) (*Payment, error)
	// UpdatePayment stores p if the stored version equals p.Version, sets
	// p.Version to the next version and p.UpdatedAt, and appends events, in
	// one transaction. Otherwise it returns ErrVersionConflict and changes
	// nothing. A p.SavedMethod is inserted in the same transaction, once
	// per payment (a second one for the same payment is ignored).
	UpdatePayment(ctx context.Context, p *Payment, events ...Event) error
	// ListPayments returns payments newest first, and whether more follow.
	ListPayments(ctx context.Context, f PaymentFilter) ([]*Payment, bool, error)
	// ListEvents returns a payment's events in the order they were written.
	ListEvents(ctx context.Context, paymentID string) ([]Event, error)
	// OpenPaymentOnTerminal returns a payment on terminal whose status is
	// pending, processing or unknown and that has no discrepancy (one given
	// up on and handed to a person frees its terminal), or nil if there is
	// none.
	OpenPaymentOnTerminal(ctx context.Context, terminal string) (*Payment, error)
	// ListMoneyEvents returns the events of f.Types written in [f.From,
	// f.To) on f.Merchant's payments (of f.Terminals and f.Connector when
	// set), in the order they were written, with what a report groups
	// them by.
	ListMoneyEvents(ctx context.Context, f MoneyFilter) ([]MoneyEvent, error)
	// ClaimDue returns up to limit payments whose NextCheckAt is set and not
	// after now, oldest due first, and moves their NextCheckAt to
	// now+lease in the same transaction (bumping Version), so that another
	// instance does not claim them while this one checks. PostgreSQL uses
	// FOR UPDATE SKIP LOCKED.
	ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Payment, error)

	// ReserveIdempotency inserts rec as in flight, locked until
	// rec.LockedUntil, if no record with its Scope and Key exists (or the
	// existing one has expired), and returns nil. It also takes over, and
	// returns nil, an in-flight record with the same RequestHash whose lock
	// ended before rec.CreatedAt (its request died with its process),
	// locking it until rec.LockedUntil. Otherwise it returns the existing
	// record and changes nothing. Of concurrent reservers exactly one wins.
	ReserveIdempotency(ctx context.Context, rec *IdempotencyRecord) (*IdempotencyRecord, error)
	// RenewIdempotency moves the lock of an in-flight record to until (a
	// running request keeps its key). A record no longer in flight is left
	// alone.
	RenewIdempotency(ctx context.Context, scope, key string, until time.Time) error
	// CompleteIdempotency stores the response of the in-flight record.
	CompleteIdempotency(ctx context.Context, scope, key string, status int, body []byte) error
	// ReleaseIdempotency deletes an in-flight record, so that the request can
	// be made again (used when nothing was done, or the outcome is unknown).
	ReleaseIdempotency(ctx context.Context, scope, key string) error
	// PurgeIdempotency deletes records that expired before t.
	PurgeIdempotency(ctx context.Context, before time.Time) (int64, error)

	// Fewer commits per create (see README, "What each durable write
	// costs"): the key is reserved with the payment's insert and answered
	// with the start's update.

	// GetIdempotency returns the record of scope and key, expired or not,
	// or ENotFound. It is a read: it locks and changes nothing.
	GetIdempotency(ctx context.Context, scope, key string) (*IdempotencyRecord, error)
	// CreatePaymentReserving is CreatePayment and ReserveIdempotency(rec)
	// in one transaction: if a record with rec's Scope and Key exists that
	// has not expired at rec.CreatedAt (in flight or done, whatever its
	// lock), it returns that record and stores nothing; otherwise it
	// stores rec in flight and the payment with its events, or nothing of
	// either if the payment cannot be stored (an error). It never takes a
	// key over: that is ReserveIdempotency's. Of concurrent reservers of
	// one key (this or ReserveIdempotency) exactly one wins. What chk asks
	// is checked in the same transaction, before anything is stored (see
	// CreateChecks); a check that fails stores nothing, and a live record
	// of the key is returned before any check's error.
	CreatePaymentReserving(ctx context.Context, rec *IdempotencyRecord, chk CreateChecks, p *Payment, events ...Event) (*IdempotencyRecord, error)
	// UpdatePaymentAnswering is UpdatePayment that in the same transaction
	// stores the response of the in-flight record of a.Scope and a.Key,
	// made by a.Respond from the payment as it is about to be stored
	// (its new Version and UpdatedAt). It reports whether the record took
	// the response: false when Respond declines or no in-flight record
	// exists, and the payment is stored all the same. A version conflict
	// stores neither.
	UpdatePaymentAnswering(ctx context.Context, p *Payment, a IdempotencyAnswer, events ...Event) (bool, error)

	// CreateAPIKey inserts k; an existing id or hash is EConflict.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByHash returns the key with the hash (revoked or not), or
	// ENotFound.
	APIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	// GetAPIKey returns the key with id, or ENotFound.
	GetAPIKey(ctx context.Context, id string) (*APIKey, error)
	// ListAPIKeys pages through keys in id order, revoked ones included;
	// f.Merchant "" lists every merchant's.
	ListAPIKeys(ctx context.Context, f ListFilter) ([]*APIKey, bool, error)
	// RevokeAPIKey sets the key's RevokedAt to at, if it is not revoked
	// yet. A missing key is ENotFound.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	// TouchAPIKey sets the key's LastUsedAt to at if it is older than
	// at-every (a cheap no-op otherwise).
	TouchAPIKey(ctx context.Context, id string, at time.Time, every time.Duration) error

	// CreateMerchant inserts a merchant; an existing id is EConflict.
	CreateMerchant(ctx context.Context, m *Merchant) error
	// GetMerchant returns the merchant with id, or ENotFound.
	GetMerchant(ctx context.Context, id string) (*Merchant, error)
	// ListMerchants pages through merchants in id order.
	ListMerchants(ctx context.Context, f MerchantFilter) ([]*Merchant, bool, error)
	// UpdateMerchant stores m's name, country, locale, time zone,
	// branding and metadata. A missing merchant is ENotFound.
	UpdateMerchant(ctx context.Context, m *Merchant) error

	// CreateAccount inserts an account; an existing id is EConflict. Only
	// a.Sealed is stored of the credentials.
	CreateAccount(ctx context.Context, a *Account) error
	GetAccount(ctx context.Context, id string) (*Account, error)
	// DefaultAccount returns the merchant's default account of the
	// connector, or ENotFound.
	DefaultAccount(ctx context.Context, merchant, connector string) (*Account, error)
	ListAccounts(ctx context.Context, f ListFilter) ([]*Account, bool, error)
	// UpdateAccount stores a's Settings, Sealed and Default for the existing
	// account a.ID (its connector and environment never change). Making it
	// the default clears the connector's previous default in the same
	// transaction. A missing account is ENotFound. Its merchant never
	// changes either. When ifSealed is not nil the account is stored only if
	// its stored Sealed is still ifSealed (every update seals the
	// credentials anew, so this says nobody changed it since it was read);
	// otherwise it returns ErrStale and changes nothing.
	UpdateAccount(ctx context.Context, a *Account, ifSealed []byte) error

	// CreateTerminal inserts a terminal; an existing id is EConflict.
	CreateTerminal(ctx context.Context, t *Terminal) error
	GetTerminal(ctx context.Context, id string) (*Terminal, error)
	ListTerminals(ctx context.Context, f ListFilter) ([]*Terminal, bool, error)
	// UpdateTerminal stores t's Label, Settings and Sealed for the existing
	// terminal t.ID. A missing terminal is ENotFound. ifSealed works as for
	// UpdateAccount.
	UpdateTerminal(ctx context.Context, t *Terminal, ifSealed []byte) error
	// TouchTerminal sets the terminal's LastSeenAt to at if it is older
	// than at-every (a cheap no-op otherwise). A missing terminal is not
	// an error.
	TouchTerminal(ctx context.Context, id string, at time.Time, every time.Duration) error

	// CreateWebhookEndpoint inserts an endpoint; an existing id is
	// EConflict. Of the secret only w.Sealed is stored.
	CreateWebhookEndpoint(ctx context.Context, w *WebhookEndpoint) error
	// GetWebhookEndpoint returns the endpoint with id; a deleted one is
	// ENotFound.
	GetWebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error)
	// ListWebhookEndpoints pages through endpoints not deleted, in id order
	// (f.Connector is ignored).
	ListWebhookEndpoints(ctx context.Context, f ListFilter) ([]*WebhookEndpoint, bool, error)
	// DeleteWebhookEndpoint marks the endpoint deleted, forgets its sealed
	// secret and cancels its pending deliveries, in one transaction; no
	// delivery is queued for it afterwards. A missing or deleted endpoint
	// is ENotFound.
	DeleteWebhookEndpoint(ctx context.Context, id string, at time.Time) error
	// ClaimWebhookDeliveries returns up to limit pending deliveries whose
	// NextAttemptAt is not after now, oldest due first, and in the same
	// transaction moves their NextAttemptAt to now+lease and increments
	// their Attempts, so that no other dispatcher (in this or another
	// instance) claims them while this one sends. PostgreSQL uses FOR
	// UPDATE SKIP LOCKED.
	ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*WebhookDelivery, error)
	// RecordWebhookAttempt appends attempt a and, if d is still pending
	// with the Attempts of its claim, stores d's Status, NextAttemptAt,
	// LastAttemptAt, LastStatusCode and LastError, in one transaction.
	// A delivery claimed again since, or canceled, keeps its state and the
	// call returns an EConflict error (the attempt is still recorded).
	RecordWebhookAttempt(ctx context.Context, d *WebhookDelivery, a WebhookAttempt) error
	// ListWebhookDeliveries pages through an endpoint's deliveries, newest
	// first (deleted endpoints included).
	ListWebhookDeliveries(ctx context.Context, f DeliveryFilter) ([]*WebhookDelivery, bool, error)
	// PurgeWebhookDeliveries deletes deliveries that are no longer pending
	// and were created before t, with their attempts, and says how many
	// deliveries it deleted. Pending ones are never purged.
	PurgeWebhookDeliveries(ctx context.Context, before time.Time) (int64, error)
	// ListWebhookAttempts returns a delivery's attempts in order.
	ListWebhookAttempts(ctx context.Context, deliveryID int64) ([]WebhookAttempt, error)
	// RollWebhookSecret makes sealed the endpoint's secret and keeps the
	// secret it replaces as the endpoint's previous one, valid until until
	// (one previous secret at most: a second roll drops the first's). A
	// missing or deleted endpoint is ENotFound.
	RollWebhookSecret(ctx context.Context, id string, sealed []byte, until time.Time) error
	// PreviousWebhookSecret returns the sealed secret the endpoint had
	// before its last roll if it is still valid at now, else nil.
	PreviousWebhookSecret(ctx context.Context, id string, now time.Time) ([]byte, error)
	// RetryWebhookDelivery makes a finished delivery of the endpoint
	// pending again, due at at, and returns it. A pending one is
	// EConflict (an attempt may be in flight); a missing one, or one of a
	// deleted endpoint, ENotFound.
	RetryWebhookDelivery(ctx context.Context, endpointID string, id int64, at time.Time) (*WebhookDelivery, error)

	// GetPaymentMethod returns the payment method with id, or ENotFound.
	GetPaymentMethod(ctx context.Context, id string) (*PaymentMethod, error)
	// ListPaymentMethods pages through a merchant's payment methods, oldest
	// first, and says whether more follow.
	ListPaymentMethods(ctx context.Context, f PaymentMethodFilter) ([]*PaymentMethod, bool, error)
	// DetachPaymentMethod sets the method's DetachedAt to at if it is not
	// detached yet. A missing method is ENotFound.
	DetachPaymentMethod(ctx context.Context, id string, at time.Time) error
	// ActiveSubscriptions returns up to limit payments whose Subscription
	// is Active (first payments whose provider-run schedule Tender still
	// follows), oldest first.
	ActiveSubscriptions(ctx context.Context, limit int) ([]*Payment, error)

	// Ping checks the database is reachable (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// ErrStale is returned by UpdateAccount and UpdateTerminal when the object
// changed since it was read.
var ErrStale = &Error{Code: EConflict, Message: "it was changed by another request at the same time; try again"}

// ErrOperationExists is returned by CreatePaymentReserving when a payment
// of the same merchant and OperationID is stored already (CreateChecks).
var ErrOperationExists = &Error{Code: EConflict, Message: "a payment of this operation exists"}

// CreateChecks are what CreatePaymentReserving checks in its transaction
// instead of reads the caller would make before it: a create then costs
// its write alone.
type CreateChecks struct {
	// Operation refuses the payment with ErrOperationExists when a payment
	// of its merchant with its OperationID is stored (a retry whose key
	// was released or expired: its answer is that payment).
	Operation bool
	// AccountSealed, when not nil, refuses the payment with ErrStale unless
	// its Account is stored with these sealed credentials (every change of
	// an account seals them anew) and, with AccountDefault, is still its
	// connector's default: an account read earlier, or kept in memory, is
	// the account as stored when the payment is.
	AccountSealed  []byte
	AccountDefault bool
}

// ErrVersionConflict is returned by UpdatePayment when the payment changed
// since it was read.
var ErrVersionConflict = &Error{Code: EConflict, Message: "the payment was changed by another request; try again"}

// PaymentFilter selects payments for ListPayments.
type PaymentFilter struct {
	Merchant      string // "" for all merchants
	Limit         int    // 1..100
	StartingAfter string // payment id: return payments created before it (older)
	Status        Status // "" for all
	Connector     string // "" for all
	Terminal      string // "" for all
	// Discrepancy keeps only payments with a discrepancy.
	Discrepancy bool
}

// ListFilter pages through accounts and terminals, in id order.
type ListFilter struct {
	Merchant      string // "" for all merchants
	Limit         int
	StartingAfter string
	Connector     string
}

// IdempotencyAnswer is the response UpdatePaymentAnswering stores for an
// in-flight Idempotency-Key.
type IdempotencyAnswer struct {
	Scope, Key string
	// Respond makes the response from the payment as it will be stored;
	// keep false stores none. It runs before the transaction begins.
	Respond func(p *Payment) (status int, body []byte, keep bool)
}

// IdempotencyRecord remembers one Idempotency-Key and the first response
// given to it.
type IdempotencyRecord struct {
	Scope       string // the API key's id and the merchant it acts for (see engine.IdempotencyScope)
	Key         string // the Idempotency-Key header
	RequestHash string // hex SHA-256 of method, path and body
	Done        bool   // false while the first request is in flight
	Status      int    // HTTP status of the stored response
	Body        []byte // stored response body
	CreatedAt   time.Time
	ExpiresAt   time.Time
	// LockedUntil is the lease of an in-flight record: its request renews
	// it while it runs; after it, a retry may take the key over.
	LockedUntil time.Time
}
