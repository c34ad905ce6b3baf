package tender

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// SetupOffSession is the one value of Payment.SetupFutureUsage: the shopper
// agrees, at checkout, that the merchant may charge the card later without
// them (merchant-initiated, off-session).
const SetupOffSession = "off_session"

// PaymentMethod is a card the provider keeps on file for one of the
// merchant's customers, saved by a payment with SetupFutureUsage. Tender
// holds only the provider's reference to it and what the provider shows of
// the card (brand, masked number): never the card itself.
type PaymentMethod struct {
	ID        string
	Merchant  string
	Customer  string // the merchant's own customer reference
	Connector string
	Account   string
	// ProviderReference is the provider's reference to the stored
	// credential (Trust Payments: the transactionreference of the AUTH or
	// ACCOUNTCHECK that stored it), sent as the parent of later charges.
	ProviderReference string
	// Payment is the payment that saved it.
	Payment string
	Brand   string // e.g. VISA, MASTERCARD, as the provider names it
	// MaskedPAN is the masked card number as the provider returns it
	// (first six and last four digits at most).
	MaskedPAN  string
	Expiry     string // MM/YY when the provider returns it, else ""
	CreatedAt  time.Time
	DetachedAt time.Time // zero while it may be charged
}

// Detached reports whether the method may no longer be charged.
func (m *PaymentMethod) Detached() bool { return !m.DetachedAt.IsZero() }

// SavedCard is what a connector reports, in Update.SavedCard, of a card the
// provider stored for later charges.
type SavedCard struct {
	ProviderReference string
	Brand             string
	MaskedPAN         string
	Expiry            string
}

// Subscription is a schedule of charges that the provider itself runs on a
// saved card (Trust Payments' subscription module). The first payment
// carries it with Number 1; each later charge the provider made reaches
// Tender as a payment of its own, carrying a copy with Parent set to the
// first payment and its Number.
type Subscription struct {
	Type        string `json:"type"`                 // "recurring" or "installment"
	Unit        string `json:"unit"`                 // "day" or "month"
	Frequency   int    `json:"frequency"`            // every Frequency units
	FinalNumber int    `json:"final_number"`         // the last charge's number; 0: until stopped
	BeginDate   string `json:"begin_date,omitempty"` // YYYY-MM-DD of the first scheduled charge; "" lets the provider choose
	// Parent is the first payment's id, on the payments the schedule made.
	Parent string `json:"parent,omitempty"`
	Number int    `json:"number,omitempty"` // which charge of the schedule this payment is (the first payment's is 1)
	// Active, on the first payment, says Tender still looks for the
	// provider's charges of the schedule.
	Active bool `json:"active,omitempty"`
	// Paused, on the first payment, is the state last asked for through
	// Tender: the provider is to make no charges of the schedule while it
	// is true. Tender sends it until the provider has confirmed it (the
	// payment's subscription_paused / subscription_resumed events), and
	// goes on looking for charges meanwhile.
	Paused bool `json:"paused,omitempty"`
}

// Subscription types and units.
const (
	SubscriptionRecurring   = "recurring"
	SubscriptionInstallment = "installment"
	UnitDay                 = "day"
	UnitMonth               = "month"
)

// Instalment is one charge a provider made on its own schedule, as a
// SubscriptionFinder reports it.
type Instalment struct {
	ProviderReference string
	Number            int
	Amount            int64
	Status            Status // captured, authorized or failed
	Failure           *Failure
	Details           map[string]string
}

// SubscriptionFinder is implemented by connectors whose provider runs
// subscriptions itself and does not notify the merchant of each charge.
// Instalments returns every charge of the schedule started by the first
// payment op.Payment that the provider has made so far, and whether the
// schedule has ended (no more will come).
type SubscriptionFinder interface {
	Instalments(ctx context.Context, op *Op) (charges []Instalment, ended bool, err error)
}

// SubscriptionPauser is implemented by connectors whose provider can
// suspend the schedule of a subscription it runs and start it again.
// SetSubscriptionPaused asks the provider to make no more charges of the
// schedule started by the first payment op.Payment (paused) or to charge
// it again (not paused). It is idempotent: pausing a paused schedule
// succeeds. An EUnavailable error means the outcome is unknown (the
// request may have reached the provider); any other error means the
// provider changed nothing.
type SubscriptionPauser interface {
	SetSubscriptionPaused(ctx context.Context, op *Op, paused bool) error
}

// PaymentMethodFilter selects payment methods for ListPaymentMethods.
type PaymentMethodFilter struct {
	Merchant      string
	Customer      string // "" for every customer
	Limit         int
	StartingAfter string // payment method id: return those created after it
	// Detached includes detached methods.
	Detached bool
}

// DerivedID returns an id of the form NewID gives that is the same for
// every key: for an object two instances may both create from one
// provider record (a subscription's charge), so the store keeps one.
func DerivedID(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	var b [20]byte
	n := binary.BigEndian.Uint64(sum[:8])
	m := binary.BigEndian.Uint64(sum[8:16])
	for i := 0; i < 10; i++ {
		b[i] = crockford[n&31]
		n >>= 5
		b[10+i] = crockford[m&31]
		m >>= 5
	}
	return prefix + string(b[:])
}
