package sim

import (
	"time"
)

// Payment states in the ledger.
const (
	StatePending           = "PENDING"
	StateAuthorized        = "AUTHORIZED"
	StatePartiallyCaptured = "PARTIALLY_CAPTURED"
	StateCaptured          = "CAPTURED"
	StateFailed            = "FAILED"
	StateCancelled         = "CANCELLED"
)

type payment struct {
	Entry
	m          *merchant
	urlSuccess string
	urlFailure string
	urlNotify  string
	encrypt    bool
	userData   string
	refnr      string
	custom     string
	plain      string
	result     string // plaintext of the payment result, once decided
	steps      []step // captures and authorization reversals, for reverse.aspx
}

type step struct {
	kind   string // "capture" or "credit"
	xid    string
	amount int64
}

// Capture is one capture in the ledger.
type Capture struct {
	XID      string
	Amount   int64
	ReqID    string
	At       time.Time
	Reversed bool
}

// Credit is one credit (refund) in the ledger.
type Credit struct {
	XID    string
	Amount int64
	ReqID  string
	At     time.Time
}

// Entry is what Paygate believes about one payment.
type Entry struct {
	PayID      string
	XID        string
	TransID    string
	MerchantID string
	Amount     int64
	Currency   string
	ED         bool // PayType=ED: captured later
	ReqID      string
	State      string
	Code       string // the payment result's Code
	AmountAuth int64  // authorized and not reversed
	AmountCap  int64  // captured and not reversed
	AmountCred int64  // credited back to the shopper
	Captures   []Capture
	Credits    []Credit
	Reversals  int
	// Silent is set for sandbox rule 55: approved, result never delivered.
	Silent         bool
	NotifyAcked    bool
	NotifyAttempts int
	CreatedAt      time.Time
	AuthorizedAt   time.Time
}

// Ledger returns a copy of every payment, oldest first.
func (s *Sim) Ledger() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Entry, 0, len(s.order))
	for _, p := range s.order {
		out = append(out, p.copy())
	}
	return out
}

// Payments returns a copy of the payments with the TransID, oldest first.
func (s *Sim) Payments(merchantID, transID string) []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Entry
	for _, p := range s.byTrans[merchantID+"|"+transID] {
		out = append(out, p.copy())
	}
	return out
}

func (p *payment) copy() Entry {
	e := p.Entry
	e.Captures = append([]Capture(nil), p.Captures...)
	e.Credits = append([]Credit(nil), p.Credits...)
	return e
}
